#include "runner/memory_guard.h"

#include "core/error.h"
#include "core/memory_limit.h"

namespace aim {

namespace {
constexpr uint64_t kGuardMiB = uint64_t(1) << 20;
constexpr uint64_t kPerThread = (8 + 64 + 128) * kGuardMiB;  // stack, malloc arena, BLAS buffer
constexpr uint64_t kWorkingSet = 128 * kGuardMiB;            // the data and the model of the smallest run
// The watch's reach: BLAS's buffer (OpenBLAS asks for 128 MiB at once) and a margin.
constexpr uint64_t kWatchHeadroom = 160 * kGuardMiB;

std::string in_mib(uint64_t bytes) { return std::to_string(bytes / kGuardMiB) + " MiB"; }
}  // namespace

uint64_t least_memory_needed(int threads) { return uint64_t(std::max(1, threads)) * kPerThread + kWorkingSet; }

void check_memory_limits(int threads, int local_ranks) {
  const MemoryLimits limits = memory_limits();
  if (!limits.any()) return;
  const uint64_t mapped = address_space_in_use(), need = least_memory_needed(threads);
  const std::string what = " " + std::to_string(threads) + " thread(s) (`threads`) need at least " + in_mib(need) +
                           " more (per thread a stack, a malloc arena and a BLAS buffer, " + in_mib(kPerThread) + "; " +
                           in_mib(kWorkingSet) + " for the data and the model)";
  if (limits.address_space && limits.address_space < mapped + need)
    throw ConfigError("the address-space limit (ulimit -v) of " + in_mib(limits.address_space) +
                      " is too low for this run: aimrun has " + in_mib(mapped) + " mapped at start-up and" + what +
                      "; raise it to at least " + in_mib(mapped + need) +
                      " (the job's memory, `ulimit -v`) or lower `threads`; nothing was written");
  // The cgroup counts resident memory of every process in it: at the least, each rank here
  // holds its BLAS buffers and the working set.
  const uint64_t resident_need =
      uint64_t(std::max(1, local_ranks)) * (uint64_t(std::max(1, threads)) * 128 * kGuardMiB + kWorkingSet);
  if (limits.cgroup && limits.cgroup < resident_need)
    throw ConfigError("the cgroup memory limit of " + in_mib(limits.cgroup) + " (" + limits.cgroup_file +
                      ") is too low for this run: " + std::to_string(local_ranks) + " rank(s) on this node of" + what +
                      ", " + in_mib(resident_need) +
                      " resident at the least; raise it (the job's --mem) or lower `threads`; nothing was written");
}

void arm_memory_watch(const Config& cfg, std::function<void(const std::string&)> on_stuck) {
  const double stall = cfg.get_float("train.memory_stall_timeout");
  if (stall <= 0) return;
  watch_memory_limit(stall, kWatchHeadroom, std::move(on_stuck));
}

}  // namespace aim
