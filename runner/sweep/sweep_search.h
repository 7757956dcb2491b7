#pragma once
// sweep.search: successive halving over hyperparameters (docs/sweeps.md, "Search").
//
//   sweep:
//     grid: {method: [{name: vanilla}, {name: aim}]}
//     search:
//       axes:
//         train.lr: [0.1, 0.03, 0.01]                              # a list of values
//         train.weight_decay: {low: 1.0e-5, high: 1.0e-3, samples: 3, log: true}   # a range
//       rungs: [2, 6, 18]          # epochs; increasing; the last is train.epochs
//       eta: 3                     # keep ceil(n / eta) at each rung (at least 2; default 3)
//       metric: val worst-group    # default: val worst-group where the dataset has groups, else val acc
//       seed: 0                    # the ranges' samples (default 0)
//
// The candidates are every combination of the searched axes (a range gives `samples` values,
// drawn with `seed`); every group of the grid (each method, each other grid value) searches
// the same candidates with the same rungs. A candidate is one run with train.epochs = the last
// rung, so its id does not depend on the rung it reached (runner/sweep/search_rungs.h).
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "runner/sweep/sweep_axes.h"

namespace aim {

struct SweepRun;

struct SearchSpec {
  std::vector<Axis> axes;      // the searched axes, in the file's order (ranges sampled)
  std::vector<int64_t> rungs;  // epochs, increasing
  size_t eta = 3;
  std::string metric;  // "val acc" or "val worst-group"; "" for the default
  uint64_t seed = 0;
  std::string where, rungs_where;     // file:line of sweep.search and of its rungs
  std::string path = "sweep.search";  // its key in errors: sweep.search or sweep.stages[<name>].search
  std::vector<std::string> axis_keys() const;
};

// Reads and checks the `search:` mapping of a sweep section in `file`: its keys (an unknown
// one names the closest), each axis a non-empty list or a range {low, high, samples, log}
// (low < high, samples >= 1, low > 0 for log), rungs a non-empty list of increasing whole
// epochs, eta >= 2, a validation metric (a test or ood metric is refused: selection never
// reads test data). `grid_axes`: an axis key both searched and in the grid is an error.
// ConfigError with file:line and `path` (the mapping's key: sweep.search, or
// sweep.stages[<name>].search in a stage) otherwise.
SearchSpec read_search(const YAML::Node& node, const std::string& file, const std::vector<Axis>& grid_axes,
                       const std::string& path);

// Every run's train.epochs is the last rung (the schedule's horizon); a rung beyond it, or a
// last rung short of it, is a ConfigError at <spec.path>.rungs naming the run's epochs.
void check_search_epochs(const SearchSpec& spec, const std::vector<SweepRun>& runs);

// The value `u` in [0, 1) maps to in a range: low + u (high - low), or geometric for log;
// written with 4 significant digits (the text the run's config holds).
std::string range_value(double low, double high, bool log, double u);

}  // namespace aim
