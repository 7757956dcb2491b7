#pragma once
// Work that may crash the process (the HDF5 library on a damaged file can segfault or
// allocate what the file only claims to hold) done in a forked child first, so that one
// bad input cannot take the caller down. docs/reliability.md, section results.
#include <cstddef>
#include <functional>
#include <string>

namespace aim {

struct Isolated {
  bool ok = false;      // the work returned normally
  std::string output;   // what it returned when ok, else why not (its exception's message,
                        // the signal that ended it, the time or memory limit)
};

struct IsolationLimits {
  size_t extra_address_space = size_t(1) << 30;  // RLIMIT_AS beyond the caller's current size
  int timeout_s = 120;
};

// Runs `work` in a child process made by fork(); the child only calls `work` and _exit.
// Returns {true, result} when it returned, {false, reason} otherwise. Never throws for a
// failure of the child (only when fork or pipe fail: aim::Error).
Isolated run_isolated(const std::function<std::string()>& work, const IsolationLimits& limits = {});

// True in the child of run_isolated: warnings that its caller gives again when it reads the
// same input are left to the caller.
bool in_isolated_child();

}  // namespace aim
