#include "results/found_runs.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "results/checked_read.h"
#include "results/run_folder.h"

namespace fs = std::filesystem;

namespace aim::results {

namespace {

// A run folder as the report lists it: its result file when it has one, else the folder.
FoundRun found_in_folder(const std::string& dir, ResultDepth depth) {
  const RunPaths paths{dir};
  auto s = inspect_run_folder(paths, depth);
  const bool has_result = s.state == RunState::Done || s.state == RunState::Unreadable;
  FoundRun f{has_result ? paths.result() : dir, to_string(s.state), s.detail, std::move(s.record),
             s.summary_problem, s.summary_missing, s.bound_to_summary};
  if (s.state == RunState::Pending) f.detail = s.has_checkpoint ? "incomplete (has a checkpoint)" : "not started";
  return f;
}

}  // namespace

std::vector<FoundRun> find_runs(const std::string& dir, ResultDepth depth) {
  std::vector<FoundRun> out;
  if (fs::is_regular_file(dir)) return read_h5_checked(dir, false);
  if (!fs::is_directory(dir)) {
    out.push_back({dir,
                   "unreadable",
                   fs::exists(dir) ? "neither a folder nor a collection (aimrun collect)" : "no such folder",
                   {}});
    return out;
  }
  std::set<std::string> seen_dirs, seen_files;
  std::vector<fs::path> run_dirs, h5_files;
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::follow_directory_symlink | fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const auto& p = it->path();
    std::error_code ec;
    if (it->is_directory(ec)) {
      if (is_run_folder(p.string())) {
        auto canon = fs::canonical(p, ec).string();
        if (seen_dirs.insert(canon).second) run_dirs.push_back(p);
      }
    } else if (p.extension() == ".h5" && p.filename() != "result.h5" && p.filename().string()[0] != '.') {
      auto canon = fs::canonical(p, ec).string();
      if (seen_files.insert(canon).second) h5_files.push_back(p);
    }
  }
  std::sort(run_dirs.begin(), run_dirs.end());
  std::sort(h5_files.begin(), h5_files.end());
  for (const auto& d : run_dirs) {
    out.push_back(found_in_folder(d.string(), depth));
  }
  for (const auto& p : h5_files)
    for (auto& f : read_h5_checked(p.string(), false)) out.push_back(std::move(f));
  // The same run reached twice (a run folder and a collection holding it) counts once.
  std::map<std::string, std::string> first_path;
  for (auto& f : out) {
    if (f.state != "done") continue;
    auto [it, inserted] = first_path.emplace(f.record.run_id, f.path);
    if (!inserted) {
      f.state = "duplicate";
      f.detail = "the same run as " + it->second;
    }
  }
  return out;
}

std::string summary_problems(const std::vector<FoundRun>& runs) {
  size_t missing = 0;
  std::vector<std::string> damaged;
  for (const auto& r : runs) {
    if (r.state != "done" || r.summary_problem.empty()) continue;
    if (r.summary_missing) missing++;
    else damaged.push_back(r.summary_problem);
  }
  if (!missing && damaged.empty()) return "";
  std::string s = std::to_string(missing + damaged.size()) + " complete runs were read from result.h5 (slower) ";
  s += "without a valid summary.json: " + std::to_string(missing) + " missing (written before summaries, or cut off)";
  if (!damaged.empty()) {
    s += ", " + std::to_string(damaged.size()) + " failing a check (";
    for (size_t i = 0; i < damaged.size() && i < 3; ++i) s += (i ? "; " : "") + damaged[i];
    s += damaged.size() > 3 ? "; ...)" : ")";
  }
  return s + "; `aimrun summarize DIR` writes them again";
}

}  // namespace aim::results
