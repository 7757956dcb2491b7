#include "results/collection.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/isolate.h"
#include "results/run_file.h"

namespace fs = std::filesystem;

namespace aim::results {

namespace {

// HDF5's C++ API has no object copy or external links: the C calls, errors checked.
void check(herr_t status, const std::string& what) {
  if (status < 0) throw Error(what);
}

// "<file>:/runs/<id>" -> (file, "/runs/<id>"); a run file -> (file, "/").
std::pair<std::string, std::string> split_source(const std::string& path) {
  if (auto colon = path.find(":/runs/"); colon != std::string::npos)
    return {path.substr(0, colon), path.substr(colon + 1)};
  return {path, "/"};
}

// Copies `object` of `file` to `dst`/`name`; every handle closed and checked.
void copy_object(const std::string& file, const std::string& object, hid_t dst, const std::string& name) {
  hid_t src = H5Fopen(file.c_str(), H5F_ACC_RDONLY, h5::file_access().getId());
  if (src < 0) throw Error(file + ": cannot open");
  herr_t st = H5Ocopy(src, object.c_str(), dst, name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  herr_t closed = H5Fclose(src);
  check(st, "cannot copy " + object + " of " + file);
  check(closed, file + ": cannot close");
}

// H5Ocopy walks every object of the run, read or not: on a damaged file it can crash, so
// it is done first into a file in memory, in a child process.
std::string copy_problem(const std::string& file, const std::string& object) {
  auto checked = run_isolated([&] {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, false);
    hid_t mem = H5Fcreate("copy-check.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (mem < 0) throw Error("cannot create a file in memory");
    copy_object(file, object, mem, "run");
    check(H5Fclose(mem), "cannot close the file in memory");
    return std::string();
  });
  return checked.ok ? "" : checked.output;
}

void write_index(H5::H5File& out, const std::vector<std::string>& ids, const std::vector<std::string>& sources,
                 const std::vector<std::string>& problems) {
  auto index = h5::ensure_group(out, "index");
  h5::write_strings(index, "run_id", ids);
  h5::write_strings(index, "source", sources);
  index.close();
  h5::write_strings(out, "problems", problems);
}

// What every run of the collection is: its id, where it came from, or why it is left out.
struct Contents {
  std::vector<std::string> ids, sources, problems;
};

void add_runs(const std::vector<FoundRun>& runs, H5::Group& group, const fs::path& out_dir, bool link,
              CollectSummary& summary, Contents& c) {
  std::set<std::string> added;
  for (const auto& r : runs) {
    std::string problem = r.state == "done" ? "" : r.state + ": " + r.path + (r.detail.empty() ? "" : " (" + r.detail + ")");
    const std::string& id = r.record.run_id;
    if (problem.empty() && !added.insert(id).second) continue;  // the same run reached twice
    auto [file, object] = split_source(r.path);
    // A file bound to its summary has the bytes that were read back whole when written.
    if (problem.empty() && !link && !r.bound_to_summary)
      if (auto why = copy_problem(file, object); !why.empty()) problem = "unreadable: " + r.path + " (copying the run: " + why + ")";
    if (!problem.empty()) {
      summary.left_out.push_back(&r);
      summary.reasons.push_back(problem);
      c.problems.push_back(problem);
      added.erase(id);
      continue;
    }
    if (link) {
      std::string rel = fs::relative(fs::absolute(file), out_dir).string();
      check(H5Lcreate_external(rel.c_str(), object.c_str(), group.getId(), id.c_str(), H5P_DEFAULT, H5P_DEFAULT),
            "cannot link " + r.path);
    } else {
      copy_object(file, object, group.getId(), id);
    }
    c.ids.push_back(id);
    c.sources.push_back(fs::relative(fs::absolute(file), out_dir).string() + (object == "/" ? "" : ":" + object));
    summary.runs++;
  }
}

H5::Group open_run(const H5::Group& runs, const std::string& id);

// Reads back what was written: the index and every run in it. Links (--link) point at run
// files that stay where they are and were read when found: each must lead to its run (its
// run_id), which costs a small read per run instead of every run read again in full.
void verify_collection(const std::string& tmp, const Contents& c, bool link) {
  if (link) {
    auto file = h5::open_file(tmp);
    auto runs = file.openGroup("runs");
    if (runs.getNumObjs() != c.ids.size())
      throw Error(tmp + ": reads back " + std::to_string(runs.getNumObjs()) + " runs, not " + std::to_string(c.ids.size()));
    if (h5::read_strings(file.openGroup("index"), "run_id") != c.ids) throw Error(tmp + ": reads back another index");
    for (const auto& id : c.ids)
      if (h5::attr_string(open_run(runs, id), "run_id") != id) throw Error(tmp + ": /runs/" + id + " leads to another run");
    return;
  }
  auto found = runs_in_collection(tmp);
  if (found.size() != c.ids.size()) throw Error(tmp + ": reads back " + std::to_string(found.size()) + " runs, not " +
                                                std::to_string(c.ids.size()));
  for (const auto& f : found)
    if (f.state != "done") throw Error(tmp + ": reads back with a damaged run: " + f.detail);
}

}  // namespace

CollectSummary collect_runs(const std::vector<FoundRun>& runs, const std::string& out_path, bool link) {
  CollectSummary summary;
  const fs::path out_dir = fs::absolute(out_path).parent_path();
  Contents c;
  h5::write_whole_file(
      out_path,
      [&](H5::H5File& out) {
        h5::set_attr(out, "aimrun_collection", kCollectionVersion);
        h5::set_attr(out, "mode", link ? "link" : "copy");
        auto group = h5::ensure_group(out, "runs");
        add_runs(runs, group, out_dir, link, summary, c);
        group.close();
        write_index(out, c.ids, c.sources, c.problems);
      },
      [&](const std::string& tmp) { verify_collection(tmp, c, link); });
  return summary;
}

namespace {

// /runs/<id>: with --link an external link, whose file HDF5 opens with the link access
// list's file access: the one without file locks (h5::file_access), as for every file.
H5::Group open_run(const H5::Group& runs, const std::string& id) {
  H5::LinkAccPropList lapl;
  if (H5Pset_elink_fapl(lapl.getId(), h5::file_access().getId()) < 0) throw Error("HDF5: cannot set the link access");
  hid_t gid = H5Gopen2(runs.getId(), id.c_str(), lapl.getId());
  if (gid < 0) throw DataError(h5::describe(runs, id) + ": cannot open (linked run file missing or corrupt?)");
  H5::Group group(gid);  // takes its own reference
  H5Gclose(gid);
  return group;
}

}  // namespace

bool is_collection(const std::string& path) {
  try {
    auto file = h5::open_file(path);
    return h5::has_attr(file, "aimrun_collection");
  } catch (...) {
    return false;
  }
}

std::vector<FoundRun> runs_in_collection(const std::string& path) {
  std::vector<FoundRun> out;
  auto file = h5::open_file(path);
  if (h5::attr_int(file, "aimrun_collection") > kCollectionVersion)
    throw DataError(path + ": collection format " + std::to_string(h5::attr_int(file, "aimrun_collection")) +
                    " is newer than this aimrun");
  auto runs = file.openGroup("runs");
  for (hsize_t i = 0; i < runs.getNumObjs(); ++i) {
    FoundRun f;
    std::string id = runs.getObjnameByIdx(i);
    f.path = path + ":/runs/" + id;
    try {
      f.record = read_run_group(open_run(runs, id), f.path);
      f.state = "done";
    } catch (const H5::Exception& e) {
      f.state = "unreadable";
      f.detail = "linked run file missing or corrupt: " + h5::detail(e);
    } catch (const std::exception& e) {
      f.state = "unreadable";
      f.detail = e.what();
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<FoundRun> left_out_of_collection(const std::string& path) {
  auto file = h5::open_file(path);
  std::vector<FoundRun> out;
  if (!h5::exists(file, "problems")) return out;
  for (const auto& p : h5::read_strings(file, "problems")) {
    FoundRun f;
    f.path = path + ":/problems";
    f.state = kLeftOut;
    f.detail = "not in the collection: " + p;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace aim::results
