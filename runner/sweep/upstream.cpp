#include "runner/sweep/upstream.h"

#include <filesystem>

#include "core/files.h"
#include "runner/sweep/run_state.h"

namespace fs = std::filesystem;

namespace aim {

std::string upstream_problem(const std::string& upstream_dir, bool* needs_repair) {
  const std::string id = fs::path(upstream_dir).filename().string();
  const RunPaths up{upstream_dir};
  const auto status = inspect_run(up);
  if (needs_repair) *needs_repair = true;
  if (status.state == RunState::Done) {
    // Its weights are what a downstream run starts from: a complete run without them (a
    // damaged checkpoint deleted by hand) is trained again from the start.
    if (fs::exists(up.checkpoint())) return needs_repair ? (*needs_repair = false, "") : "";
    return "upstream " + id +
           " is complete but has no checkpoint.pt (its trained weights, which this run starts from): " +
           train_again_command(up, true, true) + " trains it again";
  }
  if (status.state == RunState::Failed) {
    const std::string first = status.detail.substr(0, status.detail.find('\n'));
    // The first line of its FAILED names the command when the cause is a damaged file.
    const bool named = first.find("`aimrun ") != std::string::npos;
    return "upstream " + id + " failed: " + first + (named ? "" : "; " + train_again_command(up) + " trains it again");
  }
  if (status.state == RunState::Unreadable)
    return "upstream " + id + " is not done (" + status.detail + "): " + train_again_command(up) + " trains it again";
  if (needs_repair) *needs_repair = false;  // pending or running: the sweep trains it first
  return "upstream " + id + " is not done (" + to_string(status.state) +
         (status.detail.empty() ? "" : ": " + status.detail) + ")";
}

void mark_failed(const RunPaths& run, const std::string& reason) {
  ensure_dir(run.dir);
  write_failed(run, reason);
}

}  // namespace aim
