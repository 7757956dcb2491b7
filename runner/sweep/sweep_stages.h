#pragma once
// A sweep in stages (docs/sweeps.md, "Stages"):
//
//   sweep:
//     name: builtin-benchmark
//     stages:
//       - name: pretrain                 # a name as sweep.name
//         set: {train.epochs: 10}        # the stage's own settings, over the file's
//         grid: {seed: [0, 1, 2]}        # its own axes (grid and zip)
//       - name: finetune
//         init_from: pretrain            # an earlier stage
//         grid: {method: [...], seed: [0, 1, 2]}
//
// A run of a stage with init_from starts from the run of that stage that agrees with it on
// every axis both stages declare (or from its only run): its model.init_from is that run's
// id, so its own id changes with the upstream run. No match, or more than one, is a
// ConfigError naming the stage, the run's axis values and the candidates.
#include <string>
#include <vector>

#include "core/config.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

// Fills sweep.stages and sweep.runs from the `stages:` list of the sweep section (in
// `file`), over the file's settings `base`; `overrides` apply to every run, last.
void expand_stages(Sweep& sweep, const YAML::Node& stages, const std::string& file, const FlatConfig& base,
                   const std::vector<std::string>& overrides, int world_size);

}  // namespace aim
