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
  }
  return "?";
}

RunStatus inspect_run(const RunPaths& paths) {
  RunStatus s;
  if (fs::exists(paths.result())) {
    // Read completely, in a child process first (a damaged file can crash HDF5): a file
    // that only says "complete" is not done.
    auto found = results::read_h5_checked(paths.result(), true);
    if (found.size() == 1 && found[0].state == "done") {
      s.state = RunState::Done;
      return s;
    }
    s.detail = "result.h5 unreadable: " + (found.empty() ? std::string("?") : found[0].detail);
  }
  if (is_locked_by_other(paths.lock())) {
    s.state = RunState::Running;
    return s;
  }
  if (fs::exists(paths.failed())) {
    s.state = RunState::Failed;
    try {
      auto text = trim(read_text(paths.failed()));
      s.detail = text.substr(0, text.find('\n'));
    } catch (...) {
    }
    if (auto why = ledger_summary(paths); !why.empty() && why.find("; ") != std::string::npos)
      s.detail += " (" + why.substr(why.find("; ") + 2) + ")";
    return s;
  }
  if (fs::exists(paths.checkpoint())) s.detail = "has a checkpoint, will resume";
  if (auto why = ledger_summary(paths); !why.empty()) s.detail += (s.detail.empty() ? "" : "; ") + why;
  return s;
}

}  // namespace aim
