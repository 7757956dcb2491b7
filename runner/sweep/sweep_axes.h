#pragma once
// The axes of a sweep (or of one stage of a staged sweep): `grid:` keys and `zip:` groups,
// read from YAML, and the combinations they make (first axis slowest). Shared by
// sweep_spec.cpp (a sweep without stages) and sweep_stages.cpp.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"

namespace aim {

struct Axis {
  std::vector<std::string> keys;                // one key (grid) or several (zip group)
  std::vector<std::vector<YAML::Node>> values;  // values[i][k]: i-th point, k-th key
};

// "file:line" of a YAML node.
std::string yaml_where(const std::string& file, const YAML::Node& n);

// The `grid:` and `zip:` keys of `node` (a mapping); `prefix` names it in errors ("sweep",
// "sweep.stages[2]"); `other_keys` are the mapping's other valid keys (skipped here), and
// an unknown key is an error suggesting the closest of them, grid, zip and `also_valid`.
// A key two axes set (a grid key in a zip group too) is an error.
std::vector<Axis> read_axes(const YAML::Node& node, const std::string& file, const std::string& prefix,
                            const std::vector<std::string>& other_keys,
                            const std::vector<std::string>& also_valid = {});

// The number of combinations of `axes`; a ConfigError at `where` above `limit`.
size_t count_runs(const std::vector<Axis>& axes, const std::string& where, size_t limit);

// Odometer over the axes, last axis fastest; false after the last combination.
bool next_combination(std::vector<size_t>& idx, const std::vector<Axis>& axes);

// Sets `key` to `value` in `flat`: a mapping sets the keys it names (merged over the
// base); anything else replaces the key and all below it.
void set_flat_key(FlatConfig& flat, const std::string& key, const YAML::Node& value, const std::string& file);

// Sets the combination `idx` of `axes` in `flat`; returns the axis values as text.
std::vector<std::pair<std::string, std::string>> apply_combination(FlatConfig& flat, const std::vector<Axis>& axes,
                                                                   const std::vector<size_t>& idx,
                                                                   const std::string& file);

// "the run with seed=1 (sweep.yaml:7), method={name: aim} (sweep.yaml:8)".
std::string run_context(const std::vector<Axis>& axes, const std::vector<size_t>& idx, const std::string& file);

// Resolves and validates one run (the world size filled in unless the sweep names one: it
// is part of the identity); an error adds "in <context()> of sweep <file>" (made only then:
// its text costs more than resolving the run).
Config resolve_sweep_run(FlatConfig flat, const std::function<std::string()>& context, const std::string& file,
                         int world_size);

}  // namespace aim
