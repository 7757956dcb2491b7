#include "runner/sweep/run_state.h"

#include "runner/session_ledger.h"

namespace aim {

namespace {

// The folder's detail in the words of the sweep commands.
std::string folder_detail(const RunFolderState& found) {
  switch (found.state) {
    case RunState::Unreadable: return "result.h5 unreadable: " + found.detail;
    case RunState::Pending: return found.has_checkpoint ? "has a checkpoint, will resume" : "";
    default: return found.detail;
  }
}

}  // namespace

RunStatus inspect_run(const RunPaths& paths, const std::string& run_id) {
  const auto found = inspect_run_folder(paths, ResultDepth::State, run_id);
  RunStatus s{found.state, folder_detail(found)};
  if (s.state == RunState::Done) {  // complete, but flagged when its training went NaN or inf
    if (auto what = results::nonfinite_description(found.record); !what.empty())
      s.detail =
          kNonfiniteDetail + what + " (trained with train.stop_on_nan: false: its numbers are not a trained model's)";
    return s;
  }
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
