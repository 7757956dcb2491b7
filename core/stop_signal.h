#pragma once
// Stop requests by signal: USR2 (Slurm's warning before a time limit or preemption) and TERM
// ask `aimrun train` to checkpoint at the next step boundary and exit 75 (requeue); a second
// Ctrl-C quits at once. Installed first thing in main(), so a signal during start-up (data
// generation, model build) is a clean stop too, never a killed rank.
#include <atomic>

#include "core/error.h"

namespace aim {

void install_stop_handlers();
const std::atomic<bool>& stop_requested();

// Thrown where a stop is requested while this process waits for another one (a cache's
// lock, FileLock::lock_within): `aimrun train` exits 75 without FAILED, as for any stop
// before the first step. Before, the wait went on and the signal was lost.
class StopRequested : public Error {
 public:
  using Error::Error;
};

}  // namespace aim
