#pragma once
// `aimrun train` at the edge of its memory (core/memory_limit.h): a run is refused before it
// starts when its limits cannot hold what it needs at the least, and once it runs, a process
// that makes no progress within reach of its address-space limit is ended with a message
// naming the limit (train.memory_stall_timeout) instead of spinning for good.
#include <functional>
#include <string>

#include "core/config.h"

namespace aim {

// The least a run of `threads` threads per rank needs beyond what this process has mapped
// now: per thread its stack, its malloc arena and BLAS's work buffer (OpenBLAS: 128 MiB),
// and a working set for the data and the model. Bytes.
uint64_t least_memory_needed(int threads);

// Throws ConfigError (exit 2) naming the limit, what is mapped and what the run needs at
// the least, when the address-space limit or the cgroup's memory limit is below it; before
// anything is written. `local_ranks`: ranks on this node, which share one cgroup.
void check_memory_limits(int threads, int local_ranks);

// Starts the watch of core/memory_limit.h with train.memory_stall_timeout (0: none);
// on_stuck records the failure, then the process ends (exit 1).
void arm_memory_watch(const Config& cfg, std::function<void(const std::string&)> on_stuck);

}  // namespace aim
