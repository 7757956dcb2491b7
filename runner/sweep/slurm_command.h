#pragma once
// Slurm's commands (sbatch, squeue, scontrol, sacctmgr, scancel), run without a shell.
#include <string>
#include <vector>

namespace aim {

// Runs argv (no shell: nothing in it is interpreted) in the folder `cwd` ("" = this one);
// returns its stdout and stderr together and puts its exit status in *status (127 when it
// cannot be started).
std::string run_capture(const std::vector<std::string>& argv, const std::string& cwd, int* status);

// Whether `program` is an executable file in a folder of PATH.
bool on_path(const std::string& program);

}  // namespace aim
