#pragma once
// The state of a run, read from its folder alone (so any process, on any node, agrees):
//   done     result.h5 is there and complete
//   running  a process holds <run>/.lock
//   failed   <run>/FAILED holds the error of the last attempt
//   pending  none of these (it may have a checkpoint to resume from)
#include <string>

#include "runner/run_paths.h"

namespace aim {

enum class RunState { Done, Running, Failed, Pending };
std::string to_string(RunState state);

struct RunStatus {
  RunState state = RunState::Pending;
  std::string detail;  // error text, "checkpoint at epoch 3", ...
};

RunStatus inspect_run(const RunPaths& paths);

}  // namespace aim
