#pragma once
// The memory this process may use, and what aimrun does at its edge. Two limits exist: the
// address-space limit (`ulimit -v`, RLIMIT_AS: an allocation past it fails) and the memory
// limit of the process's cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`, as Slurm's
// cgroup plugin sets: past it the kernel's OOM killer ends the process). At the first, a
// library that retries a failed allocation forever (OpenBLAS's buffer allocator) or waits
// for a thread that could not be created (pthreadpool) would hang the run for good; so
// `aimrun train` refuses to start below what a run needs (runner/memory_guard.h), names the
// limit in the message of a failed allocation, and a watch ends a process that makes no
// progress at its address-space limit (docs/reliability.md, "Resource limits").
#include <cstdint>
#include <exception>
#include <functional>
#include <string>

namespace aim {

struct MemoryLimits {
  uint64_t address_space = 0;  // bytes, RLIMIT_AS's soft limit; 0: none
  uint64_t cgroup = 0;         // bytes, the lowest limit of this process's cgroup and its parents; 0: none
  std::string cgroup_file;     // the file it was read from
  bool any() const { return address_space != 0 || cgroup != 0; }
  // "the address-space limit (ulimit -v) of 1200 MiB", "... and the cgroup memory limit of
  // 2048 MiB (<file>)", or "no memory limit".
  std::string describe() const;
};

// Read now (getrlimit, /proc/self/cgroup, /sys/fs/cgroup).
MemoryLimits memory_limits();

// How many processes the kernel's OOM killer has ended so far: in the cgroup whose memory
// limit is this process's lowest (v2 memory.events, v1 memory.oom_control: "oom_kill N"),
// and on the whole machine (/proc/vmstat). A count that cannot be read is 0.
struct OomKills {
  uint64_t cgroup = 0, machine = 0;
};
OomKills oom_kills();
// The file that counts the OOM killer's kills in the cgroup whose limit is `m.cgroup`
// (v2 memory.events, v1 memory.oom_control; the line "oom_kill N"); "" without a cgroup limit.
std::string oom_events_file(const MemoryLimits& m);

// For a child process that died by SIGKILL: why, when the OOM killer's counts rose since
// `before` (read before the child started): "killed by the kernel's out-of-memory killer
// (the cgroup memory limit of 320 MiB (<file>) was reached): ..."; "" when they did not.
std::string oom_kill_cause(const OomKills& before);

// This process's mapped address space (what RLIMIT_AS counts) in bytes; 0 where /proc is missing.
uint64_t address_space_in_use();

// True for an error that is a failed allocation: std::bad_alloc, or a library's message of
// one (libtorch's "DefaultCPUAllocator: can't allocate memory", "Cannot allocate memory").
bool is_allocation_failure(const std::exception& e);

// `what`, followed by the limits in force and what to do ("; this process has the
// address-space limit (ulimit -v) of 1200 MiB: raise it or ...").
std::string with_memory_limits(const std::string& what);

// A thread that checks every second, while the process lives: when no progress was noted (core/stop_signal.h) for
// `stall_seconds` while the address space in use is within `headroom` bytes of the address-
// space limit, it calls on_stuck(message) to record it. Does nothing without
// an address-space limit. Once per process. After on_stuck returns (or throws), the process
// ends: end_process_now(message, 1).
void watch_memory_limit(double stall_seconds, uint64_t headroom, std::function<void(const std::string&)> on_stuck);

// A process that ends because of its memory: stderr gets `message` (written by write(2), no
// allocation), then _exit(code): no destructors or atexit handlers, which can wait forever
// for library threads that never started or spin in an allocator.
[[noreturn]] void end_process_now(const char* message, int code);
[[noreturn]] inline void end_process_now(const std::string& message, int code) {
  end_process_now(message.c_str(), code);
}

}  // namespace aim
