#include "runner/sweep/run_state.h"

#include <filesystem>

#include "core/files.h"
#include "core/h5.h"
#include "core/strings.h"
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
    try {
      auto f = h5::open_file(paths.result());
      if (h5::attr_string(f, "status") == "complete") {
        s.state = RunState::Done;
        return s;
      }
      s.detail = "result.h5 is not complete";
    } catch (const std::exception& e) {
      s.detail = std::string("result.h5 unreadable: ") + e.what();
    }
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
