#pragma once
// The rungs of a successive-halving search (sweep.search, runner/sweep/sweep_search.h;
// docs/sweeps.md "Search"). Each group of the grid (the runs that differ only in their
// searched values) starts every candidate at rung 1: trained to rungs[0] epochs and stopped
// there (aimrun train --stop-after-epoch, runner/rung_result.h). When every candidate of a
// rung has its result, the best ceil(n / eta) by the metric (ties: the smaller run id) go on
// to the next rung, continuing from their own checkpoints; the best of the last rung (trained
// to train.epochs, a complete run) is the group's winner. A run that diverged (its FAILED
// says the loss was not finite) ranks last; any other failure holds its group until a `sweep
// run` trains it again. Every decision is a function of the run folders alone, recomputed
// each time, so a killed and restarted `sweep run`, `sweep plan` and `sweep status` find the
// same rung and no run is promoted twice.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "results/run_folder.h"
#include "runner/sweep/sweep_search.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

// One candidate's result at one rung.
struct RungOutcome {
  enum class State { Pending, Running, Reached, Diverged, Failed } state = State::Pending;
  std::string detail;                     // failed: why
  std::map<std::string, double> metrics;  // reached: "val acc", "val worst-group"
  double seconds = 0;                     // reached: its compute so far
};

// A scored candidate: index into SearchState::all_runs, its run id (ties), its score.
struct Scored {
  size_t run = 0;
  std::string run_id;
  double score = 0;  // -inf: diverged; NaN ranks last too
};

// `scored` best first: higher score first, then the smaller run id; then NaN, then the
// diverged (-inf). Pure.
std::vector<Scored> rank_candidates(std::vector<Scored> scored);
// The best ceil(n / eta) of `scored`, best first, without the diverged (-inf): a run that
// diverged is never promoted. Pure.
std::vector<Scored> select_survivors(std::vector<Scored> scored, size_t eta);

struct SearchGroup {
  std::string label;         // its grid values ("" without a grid)
  std::vector<size_t> runs;  // its candidates (indices into all_runs), in candidate order
  std::string metric;        // the metric that ranks it (the spec's, or the default it resolved to)
  // rung k: the candidates trained to rungs[k] (rung 0: all), and the scores of those that
  // reached it, best first, once the whole rung has reached it.
  std::vector<std::vector<size_t>> at_rung;
  std::vector<std::vector<Scored>> ranked;
  size_t rung = 0;      // the rung it is at (the last with candidates)
  std::string waiting;  // why its rung is not decided ("" when it is, or it is finished)
  bool finished = false;
  Scored winner;  // when finished (run_id "" when every candidate of its last rung diverged)
};

struct SearchState {
  SearchSpec spec;
  std::string stage;               // the stage it belongs to in a sweep in stages ("" without stages)
  std::vector<SweepRun> all_runs;  // every candidate of every group
  std::vector<SearchGroup> groups;
  bool finished = false;    // every group has its winner
  double seconds = 0;       // compute of the rung results and done runs so far
  double seconds_full = 0;  // every candidate trained to the last rung (its mean per epoch x epochs): an estimate
  // The rung a run trains to now (rungs[k] of the highest rung it is in); 0 when it is not in any.
  int64_t budget_of(size_t run) const;
};

// Groups the runs by their axis values but the searched keys. Pure.
SearchState search_groups(const SearchSpec& spec, std::vector<SweepRun> all_runs);

// Plays every group's rungs from rung 1 with `outcome(run, rung)`. Pure: tests give it
// synthetic outcomes.
void play_search(SearchState& s, const std::function<RungOutcome(size_t, size_t)>& outcome);

// A run's outcome at rung k from its folder: rung-<E>.yaml below the last rung, its result
// (the report's metrics) at the last.
RungOutcome rung_outcome(const Sweep& sweep, const SweepRun& run, int64_t epoch, bool last);

// Plays the rungs from the run folders and sets sweep.runs to every candidate, each with the
// budget of its rung (SweepRun::budget) and, when it is not to be trained now, why
// (SweepRun::settled).
void apply_search(Sweep& sweep);

namespace search_rungs {
// Whether `key` is searched; a run's axis values, its grid's (its group) or its searched ones
// (the candidate); a score as shown (4 decimals, "nan", "diverged").
bool searched(const SearchSpec& spec, const std::string& key);
std::string axes_text(const SearchSpec& spec, const SweepRun& run, bool searched_keys);
std::string score_text(double v);
// Where play_search left candidate `run` (its highest rung's outcome, after play_search with
// the same `outcome`), and the text shown for it (SweepRun::outcome and ::settled); the text
// is "" while it is to be trained. NotSearched for an index outside every group. Pure.
std::pair<SearchOutcome, std::string> settled(const SearchState& s, size_t run,
                                              const std::function<RungOutcome(size_t, size_t)>& outcome);
}  // namespace search_rungs

}  // namespace aim
