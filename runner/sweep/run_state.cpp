#include "runner/sweep/run_state.h"

#include <filesystem>

#include "core/files.h"
#include "core/h5.h"
#include "core/strings.h"
#include "results/report.h"
#include "runner/session_ledger.h"

namespace fs = std::filesystem;

namespace aim {

std::string to_string(RunState state) {
  switch (state) {
    case RunState::Done: return "done";
    case RunState::Running: return "running";
    case RunState::Failed: return "failed";
    case RunState::Pending: return "pending";
    case RunState::Unreadable: return "unreadable";
  }
  return "?";
}

RunStatus inspect_run(const RunPaths& paths) {
  auto found = results::inspect_run_folder(paths.dir);
  RunStatus s;
  s.detail = found.detail;
  if (found.state == "done") {
    s.state = RunState::Done;
    return s;
  }
  if (found.state == "running") s.state = RunState::Running;
  if (found.state == "unreadable") {
    s.state = RunState::Unreadable;
    s.detail = "result.h5 unreadable: " + found.detail;
  }
  if (found.state == "failed") s.state = RunState::Failed;
  if (found.state == "pending" && fs::exists(paths.checkpoint())) s.detail = "has a checkpoint, will resume";
  if (found.state == "pending" && !fs::exists(paths.checkpoint())) s.detail.clear();
  if (s.state == RunState::Running) return s;
  if (auto why = ledger_summary(paths); !why.empty()) {
    if (s.state == RunState::Failed) {
      if (why.find("; ") != std::string::npos) s.detail += " (" + why.substr(why.find("; ") + 2) + ")";
    } else {
      s.detail += (s.detail.empty() ? "" : "; ") + why;
    }
  }
  return s;
}

}  // namespace aim
