#pragma once
// The complete set of configuration keys: the runner's own (seed, train.*, eval.*) plus
// those every registered dataset, backbone and method declares (runner/registry_keys.h).
// docs/config-reference.md is generated from it (aimrun config --markdown).
#include "core/config.h"

namespace aim {

const Schema& full_schema();
// Reads a config file (+ includes) and applies overrides; throws ConfigError.
Config load_run_config(const std::string& path, const std::vector<std::string>& overrides);
// A run's config from flat values: validated, defaults filled, model.init_from in its
// canonical form (runner/init_from.h), no key of an entry it does not use set to a value
// that would count (check_entry_keys). Throws ConfigError.
Config resolve_run_config(const FlatConfig& flat);
// The checks that need more than one key or the dataset's layout (its splits and their
// sizes, without loading images): run before anything is written, so a bad config never
// gets a run folder. `world_size`: ranks of the run (1 where not known yet: the per-rank
// batch is checked alone). Throws ConfigError "file:line: key: ...".
void check_run_config(const Config& cfg, int world_size = 1);

// What a run is, by name (name, dataset.name, method.name, model.backbone): for the progress
// log, result metadata and predictions.
struct RunNames {
  std::string name, dataset, method, backbone;
};
RunNames run_names(const Config& cfg);

}  // namespace aim
