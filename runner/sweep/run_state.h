#pragma once
// A run's state as `sweep status`, `sweep run` and `init_from` tell it to a person: the
// state of its folder (results/run_folder.h: the one definition, which report and train use
// too) with a detail that says what happens next, and the session ledger's last cause
// (runner/session_ledger.h).
#include <string>

#include "results/run_folder.h"

namespace aim {

struct RunStatus {
  RunState state = RunState::Pending;
  std::string detail;  // error text, "has a checkpoint, will resume", ...
};

// A done run whose weights or training loss went NaN or inf has a detail starting with this.
inline constexpr const char* kNonfiniteDetail = "non-finite: ";

// `run_id`: the run the folder must hold (results/run_folder.h: "" for the folder's name).
RunStatus inspect_run(const RunPaths& paths, const std::string& run_id = "");

}  // namespace aim
