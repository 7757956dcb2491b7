#include "results/collection.h"

#include <filesystem>

#include "core/error.h"
#include "core/files.h"
#include "core/h5.h"
#include "results/run_file.h"

namespace fs = std::filesystem;

namespace aim::results {

namespace {

// HDF5's C++ API has no object copy or external links: the C calls, errors checked.
void check(herr_t status, const std::string& what) {
  if (status < 0) throw Error(what);
}

}  // namespace

CollectSummary collect_runs(const std::vector<FoundRun>& runs, const std::string& out_path, bool link) {
  CollectSummary summary;
  const fs::path out_dir = fs::absolute(out_path).parent_path();
  std::vector<std::string> ids, sources, problems;
  const std::string tmp = temp_path_for(out_path);
  try {
    auto out = h5::create_file(tmp);
    h5::set_attr(out, "aimrun_collection", kCollectionVersion);
    h5::set_attr(out, "mode", link ? "link" : "copy");
    auto group = h5::ensure_group(out, "runs");
    for (const auto& r : runs) {
      if (r.state != "done") {
        summary.left_out.push_back(&r);
        problems.push_back(r.state + ": " + r.path + (r.detail.empty() ? "" : " (" + r.detail + ")"));
        continue;
      }
      const std::string& id = r.record.run_id;
      if (h5::exists(group, id)) continue;  // the same run reached twice (a sweep folder and the run store)
      // A run inside another collection is addressed as "<file>:/runs/<id>".
      std::string file = r.path, object = "/";
      if (auto colon = r.path.find(":/runs/"); colon != std::string::npos) {
        file = r.path.substr(0, colon);
        object = r.path.substr(colon + 1);
      }
      if (link) {
        std::string rel = fs::relative(fs::absolute(file), out_dir).string();
        check(H5Lcreate_external(rel.c_str(), object.c_str(), group.getId(), id.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              out_path + ": cannot link " + r.path);
      } else {
        hid_t src = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        if (src < 0) throw Error(r.path + ": cannot open");
        herr_t st = H5Ocopy(src, object.c_str(), group.getId(), id.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        H5Fclose(src);
        check(st, out_path + ": cannot copy " + r.path);
      }
      ids.push_back(id);
      sources.push_back(fs::relative(fs::absolute(file), out_dir).string() + (object == "/" ? "" : ":" + object));
      summary.runs++;
    }
    auto index = h5::ensure_group(out, "index");
    h5::write_strings(index, "run_id", ids);
    h5::write_strings(index, "source", sources);
    h5::write_strings(out, "problems", problems);
  } catch (const H5::Exception& e) {
    std::remove(tmp.c_str());
    throw Error(out_path + ": cannot write collection: " + e.getDetailMsg());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  commit_file(tmp, out_path);
  return summary;
}

bool is_collection(const std::string& path) {
  try {
    H5::Exception::dontPrint();
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
      f.record = read_run_group(runs.openGroup(id), f.path);
      f.state = "done";
    } catch (const H5::Exception& e) {
      f.state = "unreadable";
      f.detail = "linked run file missing or corrupt: " + e.getDetailMsg();
    } catch (const std::exception& e) {
      f.state = "unreadable";
      f.detail = e.what();
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace aim::results
