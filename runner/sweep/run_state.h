#pragma once
// The state of a run, read from its folder alone (so any process, on any node, agrees);
// the definition is results::inspect_run_folder (results/report.h), which report uses too:
//   done        result.h5 is complete and reads completely
//   running     a process holds <run>/.lock
//   unreadable  result.h5 is damaged (the next train replaces it)
//   failed      <run>/FAILED holds the error of the last attempt
//   pending     none of these (it may have a checkpoint to resume from)
// The detail adds the session ledger's last cause (runner/session_ledger.h).
#include <string>

#include "runner/run_paths.h"

namespace aim {

enum class RunState { Done, Running, Failed, Pending, Unreadable };
std::string to_string(RunState state);

struct RunStatus {
  RunState state = RunState::Pending;
  std::string detail;  // error text, "checkpoint at epoch 3", ...
};

RunStatus inspect_run(const RunPaths& paths);

}  // namespace aim
