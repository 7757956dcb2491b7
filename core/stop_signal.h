#pragma once
// Stop requests by signal: USR2 (Slurm's warning before a time limit or preemption) and TERM
// ask `aimrun train` to checkpoint at the next step boundary and exit 75 (requeue); a second
// Ctrl-C quits at once. Installed first thing in main(), so a signal during start-up (data
// generation, model build) is a clean stop too, never a killed rank.
#include <atomic>
#include <cstdint>

#include "core/error.h"

namespace aim {

// A stop is taken at the next step boundary. Should no step or evaluation batch end for
// AIMRUN_STOP_GRACE seconds after it was asked for (default 120; 0: wait forever), the
// process ends by the signal's default action after a line on stderr: a step that never
// ends (a library retrying an allocation forever at a memory limit) cannot make a stop
// ineffective.
void install_stop_handlers();
const std::atomic<bool>& stop_requested();

// Progress: the trainer ticks once per step, the evaluation once per batch. Restarts the
// stop's grace; the memory watch (core/memory_limit.h) reads the count.
void note_progress();
uint64_t progress_count();

// Thrown where a stop is requested while this process waits for another one (a cache's
// lock, FileLock::lock_within): `aimrun train` exits 75 without FAILED, as for any stop
// before the first step. Before, the wait went on and the signal was lost.
class StopRequested : public Error {
 public:
  using Error::Error;
};

}  // namespace aim
