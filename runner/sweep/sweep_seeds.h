#pragma once
// sweep.seeds: adaptive seeds (docs/sweeps.md, "Adaptive seeds"). Instead of a seed axis,
//
//   sweep:
//     grid: {method: [{name: vanilla}, {name: aim}]}
//     seeds: {start: 3, max: 10, step: 1, margin: 1.0,
//             decide: ["aim - vanilla: test worst-group"]}
//
// gives every group of runs (the runs that differ only in their seed) the seeds 0..start-1,
// then after each round adds `step` seeds to the groups that have an open comparison, up to
// max (runner/sweep/seed_rounds.h). A comparison "A - B: METRIC" pairs each group of method
// A with the group of method B that agrees with it on every axis but the method's, seed by
// seed, and is tested by results/sequential.h.
#include <string>
#include <vector>

#include "core/config.h"
#include "runner/sweep/sweep_axes.h"

namespace aim {

struct SweepRun;

struct DecideSpec {
  std::string text;      // as written: "aim - vanilla: test worst-group"
  std::string method;    // method.name of the first side
  std::string baseline;  // method.name of the second
  std::string metric;    // a report metric: "test acc", "val worst-group", "EPG gradcam", ...
  std::string where;     // file:line of the entry
};

struct SeedsSpec {
  size_t start = 3, max = 10, step = 1;
  std::vector<DecideSpec> decide;
  double margin = 1.0;               // points: "equivalent" inside +-margin
  double alpha = 0.05;               // the error rate of each comparison over all its looks
  double prior_scale = 3.0;          // results/sequential.h
  std::string where;                 // file:line of sweep.seeds
  std::string path = "sweep.seeds";  // its key in errors: sweep.seeds or sweep.stages[<name>].seeds
};

// Reads and checks the `seeds:` mapping of a sweep section in `file`: its keys (an unknown
// one names the closest), their types and ranges (start >= 2, max >= start, step >= 1,
// margin >= 0, alpha in (0, 0.5], prior_scale > 0) and the form of each decide entry
// ("A - B: METRIC" with a metric the report knows). ConfigError with file:line and `path`
// (sweep.seeds, or sweep.stages[<name>].seeds in the last stage of a sweep in stages) otherwise.
SeedsSpec read_seeds(const YAML::Node& node, const std::string& file, const std::string& path);

// The seed axis sweep.seeds stands for: seed = 0..max-1 (the last axis, fastest), so that
// every run has the id it would have with `seed: [0, ..., max-1]` in the grid. A `seed` key
// in another axis is a ConfigError (the seeds are sweep.seeds').
Axis seed_axis(const SeedsSpec& spec, const YAML::Node& seeds_node, const std::vector<Axis>& axes,
               const std::string& file);

// The keys zipped with method or method.* (one zip group), but the method's: a comparison need
// not pair on them (seed_groups), as in the `zip:` of a search's winners.
std::vector<std::string> zipped_with_method(const std::vector<Axis>& axes);

// Every decide entry names methods that some run of the sweep has (ConfigError naming the
// methods there are).
void check_decide_methods(const SeedsSpec& spec, const std::vector<SweepRun>& runs);

}  // namespace aim
