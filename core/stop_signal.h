#pragma once
// Stop requests by signal: USR2 (Slurm's warning before a time limit or preemption) and TERM
// ask `aimrun train` to checkpoint at the next step boundary and exit 75 (requeue); a second
// Ctrl-C quits at once. Installed first thing in main(), so a signal during start-up (data
// generation, model build) is a clean stop too, never a killed rank.
#include <atomic>

namespace aim {

void install_stop_handlers();
const std::atomic<bool>& stop_requested();

}  // namespace aim
