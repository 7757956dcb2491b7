#pragma once
// aimrun sweep status SPEC --watch: a live view of a sweep, local or on Slurm. Every
// refresh reads each run's folder (state: runner/sweep/run_state.h; where it is:
// <run>/progress.json, which rank 0 rewrites atomically) and asks Slurm once (squeue, only
// when the sweep was submitted). On a terminal the view is redrawn in place; otherwise it
// is a log: a line per run whose state or epoch changed, and the totals. It ends when no
// run is running or queued (a pending run counts as queued while a `sweep run` of this
// sweep is active) and, on Slurm, no round job of a sweep with a search or adaptive seeds is
// (a sweep played again from the run folders at every refresh), or on Ctrl-C. A sweep with a
// search or seeds ends saying whether it is decided, and if not why nothing can go on.
#include <map>
#include <string>
#include <vector>

#include "runner/sweep/sweep_spec.h"

namespace aim {

struct WatchOptions {
  double interval_s = 5;
  bool redraw = false;      // a terminal: clear and redraw; otherwise log lines
  bool slurm = true;        // ask squeue (when the sweep has submissions)
  int max_refreshes = 0;    // 0: until nothing is running or queued
};

// One run as the watcher sees it.
struct WatchedRun {
  std::string run_id, state, detail;  // state: done, running, queued, failed, pending, unreadable
  bool has_progress = false;
  int64_t epoch = 0, epochs = 0, step = 0, steps_per_epoch = 0;
  double loss = 0, images_per_s = 0, eta_s = -1, train_seconds = 0;
};

struct SweepTotals {
  std::map<std::string, int> count;  // by state
  double eta_s = -1;                  // the whole sweep; -1: not known yet
};

// Reads every run once (and squeue at most once).
std::vector<WatchedRun> observe_sweep(const Sweep& sweep, bool slurm, std::string* slurm_error = nullptr);
// Totals and the sweep's ETA: what the running runs have left, plus the queued runs at the
// mean measured time of the done ones (or of the running ones' total estimate), spread
// over as many runs as are running at once.
SweepTotals sweep_totals(const std::vector<WatchedRun>& runs);
// The watch loop; returns the number of failed runs when it ended (-1 when interrupted).
// `sweep` is copied and played again at every refresh (replan_sweep).
int watch_sweep(const Sweep& sweep, const WatchOptions& options);

}  // namespace aim
