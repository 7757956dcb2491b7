#pragma once
// The rounds of an adaptive-seed sweep (sweep.seeds, runner/sweep/sweep_seeds.h;
// docs/sweeps.md "Adaptive seeds"). Round 1 gives every group (the runs that differ only in
// their seed) seeds 0..start-1. When every run of a round is done, each comparison is
// tested on the seeds both of its groups have (results/sequential.h, looking at every n
// from start on and keeping the first decision); the groups of a comparison still open get
// `step` more seeds, up to max; the sweep is finished when nothing is open or every open
// group has max seeds. Everything follows from the run folders, so a `sweep run`, `plan`
// or `status` at any time finds the same round, and a later seed's run has the id it would
// have had with every seed listed up front.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "results/run_folder.h"
#include "results/sequential.h"
#include "runner/sweep/sweep_seeds.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

struct SeedGroup {
  std::string label;         // its axis values but the seed
  std::string method;        // method.name
  std::vector<size_t> runs;  // indices into SeedRounds::all_runs, by seed (max of them)
  size_t n = 0;              // seeds given so far (the current round's)
};

struct SeedComparison {
  DecideSpec spec;
  size_t a = 0, b = 0;              // groups: spec.method's and spec.baseline's
  std::vector<double> differences;  // points (x100), seed by seed, over both groups' seeds so far
  results::SequentialDecision decision;
  std::string label() const;  // "aim - vanilla: test worst-group" plus the groups' other axes
};

// What one done run contributes: its metrics (fractions, as the report's) and its compute.
struct SeedRunResult {
  RunState state = RunState::Pending;
  std::string detail;                     // failed / unreadable: why
  std::map<std::string, double> metrics;  // done: report metric -> value
  double seconds = 0;                     // done: (train + eval seconds) x ranks
};

struct SeedRounds {
  SeedsSpec spec;
  std::vector<SweepRun> all_runs;  // every run max seeds would make
  std::vector<SeedGroup> groups;
  std::vector<SeedComparison> comparisons;
  size_t round = 1;
  bool finished = false;      // every comparison decided, or every open one at max seeds
  std::string waiting;        // why the current round cannot be evaluated: "" when its runs are all done
  size_t runs_done = 0;       // done runs of the rounds so far
  double seconds_done = 0;    // their compute
  double seconds_at_max = 0;  // the same for max seeds in every group (each group's mean run x max)
  // The keys a comparison need not pair on (seed_groups): beside sweep.search the searched
  // keys (the winners' values differ between methods, runner/sweep/search_seeds.h), else the
  // keys zipped with method.*. And, beside a search, why the rounds have not started ("" once
  // they have: every group of the search has its winner).
  std::vector<std::string> unpaired;
  bool after_search = false;  // beside sweep.search: the groups are the winners'
  std::string blocked;
  // In a sweep in stages (the seeds of its last stage, runner/sweep/sweep_stages.h): that
  // stage, and the runs of the earlier stages, of which a round trains those its runs start
  // from (each seed's chain of upstream runs) and those no run of the last stage starts from.
  std::string stage;
  std::vector<SweepRun> earlier;
  std::vector<size_t> active() const;  // the runs of the rounds so far, in all_runs order
};

// Groups the runs (their axes but the seed) and pairs the groups of each decide entry: a
// group of its method with the group of its baseline that agrees on every axis not of
// method.*, or where that is not exactly one, on every axis not of method.* and not in
// `unpaired` (a search's keys, or keys zipped with the method); none or several is a
// ConfigError at the entry.
SeedRounds seed_groups(const SeedsSpec& spec, std::vector<SweepRun> all_runs,
                       const std::vector<std::string>& unpaired = {});

// Plays the rounds from round 1 with `result` of each run (by index into all_runs), up to
// the first round not complete (or the end). Pure: tests give it synthetic results.
void play_seed_rounds(SeedRounds& rounds, const std::function<SeedRunResult(size_t)>& result);

// The result of a run from its folder (its summary).
SeedRunResult seed_run_result(const Sweep& sweep, const SweepRun& run);

// Plays the rounds from the run folders and sets sweep.runs to the runs of the rounds so far
// (in a sweep in stages, after the earlier stages' runs they need: SeedRounds::earlier).
void apply_seed_rounds(Sweep& sweep);

// What `sweep plan` and `sweep status` print about the rounds: round, n per group,
// each comparison (decided or open, at which n, its sequence), compute spent and at max.
std::string describe_seed_rounds(const SeedRounds& rounds);

}  // namespace aim
