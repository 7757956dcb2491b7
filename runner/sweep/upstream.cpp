#include "runner/sweep/upstream.h"

#include <filesystem>

#include "core/files.h"
#include "runner/sweep/run_state.h"

namespace fs = std::filesystem;

namespace aim {

std::string upstream_problem(const std::string& upstream_dir) {
  const std::string id = fs::path(upstream_dir).filename().string();
  const auto status = inspect_run(RunPaths{upstream_dir});
  if (status.state == RunState::Done) return "";
  if (status.state == RunState::Failed) {
    std::string first = status.detail.substr(0, status.detail.find('\n'));
    return "upstream " + id + " failed: " + first;
  }
  return "upstream " + id + " is not done (" + to_string(status.state) +
         (status.detail.empty() ? "" : ": " + status.detail) + ")";
}

void mark_failed(const RunPaths& run, const std::string& reason) {
  ensure_dir(run.dir);
  write_failed(run, reason);
}

}  // namespace aim
