#pragma once
// The profile values whose meaning Slurm decides, checked before a job is written: a
// `signal` the trainer cannot stop cleanly on, or a `time` sbatch would read otherwise than
// meant, defeats the promise of a checkpoint before the time limit (docs/sweeps.md).
#include <string>

namespace aim {

// Why `text` cannot be a profile's signal ("" when it can): [R:]SIGNAL[@SECONDS], SIGNAL
// one that `aimrun train` stops on with a checkpoint (USR2, TERM, INT; with or without SIG,
// or its number), SECONDS in [1, 65535] (sbatch's default: 60).
std::string slurm_signal_problem(const std::string& text);
// The seconds before the time limit that a valid signal asks for.
long slurm_signal_seconds(const std::string& text);

// Why `text` cannot be a profile's time ("" when it can): sbatch's --time forms, minutes,
// minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes,
// days-hours:minutes:seconds, or UNLIMITED / INFINITE; "" (not set) too.
std::string slurm_time_problem(const std::string& text);
// The seconds of a valid time; 0 when it sets no limit (empty, 0, UNLIMITED, INFINITE).
long slurm_time_seconds(const std::string& text);

}  // namespace aim
