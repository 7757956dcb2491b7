#pragma once
// `aimrun sweep run` trains each run as a child process (runner/sweep/local_executor.h). A
// stop sent to the sweep process alone (`kill`, `timeout`, a batch system's TERM) reaches
// only it; without this the sweep ended by the signal and its `aimrun train` went on
// training, orphaned, holding the run's lock. While a ChildStops lives, TERM, INT and USR2
// sent to this process are passed on to every running child (one, or up to --jobs of
// runner/sweep/run_pool.h) as USR2 (the stop a trainer ends
// with a checkpoint, exit 75, and the one mpirun passes on to its ranks) and remembered: the
// sweep waits for its children and starts nothing after. Ctrl-C in a terminal reaches the child
// itself as well; the extra USR2 asks for the same stop, and a second Ctrl-C still quits the
// trainer at once (core/stop_signal.h). An INT ignored when the sweep starts (a background
// job of a script) stays ignored, as shells leave it.
#include <sys/types.h>

#include <string>
#include <vector>

namespace aim {

class ChildStops {
 public:
  ChildStops();  // installs the handlers; the previous ones come back when it goes
  ~ChildStops();
  ChildStops(const ChildStops&) = delete;
  ChildStops& operator=(const ChildStops&) = delete;
};

// Whether a stop arrived while a ChildStops lived (0: none; else the first signal's number).
int child_stop_signal();

// Starts argv (searched in PATH) and waits for it; a stop that arrives meanwhile, or arrived
// before it started, is passed on to it. Its exit code, or 128 + N for a signal N.
int spawn_and_wait(const std::vector<std::string>& argv);

// A waitpid() status as spawn_and_wait returns it: the exit code, 128 + N for a signal N, else 1.
int exit_code_of(int status);

// At most this many children at once are passed a stop (`sweep run --jobs` is at most this).
constexpr int kMaxStoppedChildren = 1024;

// A child started by this process that a stop is passed on to, from now until
// forget_stopped_child (a stop that arrived before is passed at once). False, and nothing
// kept, when kMaxStoppedChildren are kept already.
bool pass_stops_to(pid_t pid);
void forget_stopped_child(pid_t pid);

}  // namespace aim
