#pragma once
// The complete set of configuration keys: the runner's own (seed, train.*, eval.*) plus
// those of every registered dataset, backbone and method. docs/config-reference.md is
// generated from it (aimrun config --markdown).
#include "core/config.h"

namespace aim {

const Schema& full_schema();
// Reads a config file (+ includes) and applies overrides; throws ConfigError.
Config load_run_config(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace aim
