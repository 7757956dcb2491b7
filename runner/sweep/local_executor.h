#pragma once
// Runs a sweep's runs on this machine, one after another or up to --jobs at once
// (docs/sweeps.md, "Runs at once"), each as its own `aimrun train` process (under mpirun
// for several ranks), so a crash or a leak in one run never takes the sweep down, and a run
// behaves the same here as in a Slurm job.
#include "core/exit_codes.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

struct LocalRunOptions {
  int ranks = 1;
  // Runs trained at once (runner/sweep/run_pool.h); 1: one after another, each child's output
  // straight to ours. At most kMaxStoppedChildren (runner/sweep/child_stop.h).
  int jobs = 1;
  bool fail_fast = false;
  bool retry_failed = true;  // failed runs are pending again for a new `sweep run`
  // Runs another process is training are left to it; at the end, wait until they end
  // there (and train here any that process left pending), or return at once.
  bool wait_for_others = true;
  int poll_ms = 2000;  // how often to look at the runs of other processes while waiting
};

// Writes each run's folder (config.yaml) and the sweep's links, then trains each run that
// is not done and not running in another process (docs/sweeps.md, "Two commands at once").
// Stage by stage (with jobs > 1, a stage's runs start once every run of the stages before has
// ended); a run whose upstream run failed is marked failed with the reason (and
// trained by a later `sweep run` once its upstream run is done). Returns the number of runs
// that failed (a run stopped by a signal counts, and ends the sweep).
int run_sweep_locally(const Sweep& sweep, const LocalRunOptions& options);

// <sweep>/.sweep-run.lock: every `sweep run` of the sweep holds it (shared) while it runs,
// so `sweep status --watch` knows that pending runs are queued here.
std::string sweep_run_lock_path(const Sweep& sweep);

// That lock, shared, for the holder's lifetime (the sweep's folder made first; released by the
// kernel if the process dies; where the file system has no flock it is simply not held: only a
// hint for the watcher). run_sweep_locally holds one; `sweep run` of a search or of adaptive
// seeds holds one across all its passes, so a watch never takes the gap between two for the end.
class SweepRunHold {
 public:
  explicit SweepRunHold(const Sweep& sweep);
  ~SweepRunHold();
  SweepRunHold(const SweepRunHold&) = delete;
  SweepRunHold& operator=(const SweepRunHold&) = delete;

 private:
  int fd_ = -1;
};

// <out>/<sweep>/<run-id> -> ../runs/<run-id>, and <out>/<sweep>/sweep.yaml; idempotent,
// also when two processes prepare the same sweep at once. Links to runs the sweep no longer
// has (its file changed) are removed, with a warning; their run folders stay.
void prepare_sweep_dirs(const Sweep& sweep);

// The command that trains one run: [mpirun -np N ...] <this aimrun> train <config> --run-dir <dir>
// [--stop-after-epoch <budget>] (a search's rung; 0: none)
std::vector<std::string> train_command(const std::string& run_dir, int ranks, int64_t budget = 0);

}  // namespace aim
