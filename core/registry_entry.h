#pragma once
// The entry of a registry (datasets, backbones, methods: a list of entries with a `name`)
// that a config's selector key names: the one way an entry is found by name.
#include <string>
#include <vector>

#include "core/config.h"

namespace aim {

// The entry of `registry` named by the config's `key` (e.g. "dataset.name"); a ConfigError
// "file:line: key: unknown <what> 'name'" when none is (a name the schema's choices let
// through, such as a registry changed after the schema was built).
template <class Entry>
const Entry& registry_entry(const std::vector<Entry>& registry, const Config& cfg, const std::string& key,
                            const std::string& what) {
  const std::string name = cfg.get_string(key);
  for (const auto& e : registry)
    if (e.name == name) return e;
  cfg.fail(key, "unknown " + what + " '" + name + "'");
}

}  // namespace aim
