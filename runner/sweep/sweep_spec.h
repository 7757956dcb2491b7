#pragma once
// A sweep file is a run config (with includes) plus a `sweep:` section of axes:
//
//   sweep:
//     name: quickstart               # default: the file's name without .yaml
//     grid:                          # every combination, first axis slowest
//       method: [{name: vanilla}, {name: aim, target: 0.25}]   # a mapping sets several keys
//       seed: [0, 1]
//     zip:                           # each group's values vary together
//       - {train.lr: [0.1, 0.05], train.batch_size: [256, 128]}
//
// or, in stages (runner/sweep/sweep_stages.h), each with its own settings and axes, a
// later stage starting from the matching run of an earlier one (init_from):
//
//   sweep:
//     stages:
//       - {name: pretrain, grid: {seed: [0, 1]}}
//       - {name: finetune, init_from: pretrain, set: {train.lr: 0.01}, grid: {seed: [0, 1]}}
//
// Every run's config is resolved and validated before anything runs. docs/sweeps.md.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "results/run_folder.h"

namespace aim {

struct SeedRounds;   // runner/sweep/seed_rounds.h
struct SearchState;  // runner/sweep/search_rungs.h

// Where sweep.search left a candidate (runner/sweep/search_rungs.h), set with SweepRun::settled:
// NotSearched (not a candidate), Training (to be trained now: at rung 1, or promoted and not
// at its new rung yet), Reached (at its rung; the rung is not decided yet), Stopped (its
// rung decided: not promoted), Diverged, NotWinner (complete at the last rung, not the
// winner), Winner.
enum class SearchOutcome { NotSearched, Training, Reached, Stopped, Diverged, NotWinner, Winner };

struct SweepRun {
  Config config;
  std::string run_id;
  std::vector<std::pair<std::string, std::string>> axes;  // axis key -> value text, for display
  std::string stage;                                      // its stage's name; "" in a sweep without stages
  std::string upstream;  // the run it starts from (its model.init_from, set by its stage); "" if none
  // sweep.search (runner/sweep/search_rungs.h): the epoch its rung stops it at (aimrun train
  // --stop-after-epoch; 0: train.epochs), and why it is not to be trained now ("": it is):
  // its rung reached, or it diverged (the same as a type: `outcome`, below).
  int64_t budget = 0;
  std::string settled;
  // In a stage after a stage with a search (runner/sweep/sweep_stages.h): the candidate of the
  // search it descends from; it trains only once that candidate is its group's winner.
  std::string root;
  SearchOutcome outcome = SearchOutcome::NotSearched;  // sweep.search: `settled` as a type
};

struct SweepStage {
  std::string name;
  std::string init_from;               // the earlier stage it starts from; "" if none
  std::vector<std::string> axis_keys;  // its own axes
};

struct Sweep {
  std::string name;
  std::string spec_path;
  std::string output_dir;
  std::vector<std::string> axis_keys;
  std::vector<SweepRun> runs;      // stage by stage, in the order of the file
  std::vector<SweepStage> stages;  // empty: a sweep without stages
  // sweep.seeds (runner/sweep/seed_rounds.h): every run max seeds would make and the rounds
  // so far; `runs` is then the runs of those rounds. Null without sweep.seeds.
  std::shared_ptr<SeedRounds> seeds;
  // sweep.search (runner/sweep/search_rungs.h): every candidate and the rungs decided so far;
  // `runs` is then every candidate with its budget. Null without sweep.search.
  std::shared_ptr<SearchState> search;
  // sweep.search beside sweep.seeds (runner/sweep/search_seeds.h): every candidate's run at
  // every seed, from which the winners' seeds are taken once the search is finished.
  std::vector<SweepRun> seed_pool;
  // A search in one stage of a sweep in stages: the runs of the later stages that descend from
  // it, one per candidate they could start from (SweepRun::root); those of each group's winner
  // join `runs` once the group is decided (apply_search).
  std::vector<SweepRun> stage_pool;
  std::string sweep_dir() const { return output_dir + "/" + name; }
  std::string run_dir(const std::string& run_id) const { return run_folder(output_dir, run_id).dir; }
  // The run with this id, or nullptr.
  const SweepRun* find_run(const std::string& run_id) const;
  // The runs of one stage ("": every run of a sweep without stages), in order.
  std::vector<const SweepRun*> stage_runs(const std::string& stage) const;
};

// Expands and validates every run for `world_size` ranks (part of every run's identity,
// unless the sweep's config names one: world_size: N); a run's error names the sweep file
// and the axis values of that run.
Sweep load_sweep(const std::string& path, const std::vector<std::string>& overrides, int world_size = 1);
// A sweep with sweep.seeds or sweep.search: its runs (the rounds and rungs so far, each with its
// budget) played again from the run folders, as load_sweep does. Nothing for any other sweep.
void replan_sweep(Sweep& sweep);
// Checks every run again with `world_size` ranks (sweep run --ranks, a Slurm profile's
// tasks): the global batch against the training split.
void check_sweep_world(const Sweep& sweep, int world_size);

// The most runs one sweep may expand to (a grid's combinations), checked before expanding.
constexpr size_t kMaxSweepRuns = 10000;

}  // namespace aim
