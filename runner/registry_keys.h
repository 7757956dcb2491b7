#pragma once
// The config keys of the registry entries (datasets, backbones, methods), merged into the
// schema. Each entry's key function declares the keys that entry reads; a key several
// entries read is declared by each of them (through one shared helper) and kept once. Which
// entries a key applies to follows from which entries declared it: nothing lists them.
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"

namespace aim {

struct DeclaringEntry {
  std::string name;
  std::function<void(Schema&)> add_keys;  // empty: the entry reads no keys of its own
};

// Adds the keys `entries` declare to `schema`, in the order they are first declared, each
// marked with `selector` and the entries that declared it (KeySpec::entry_key, entries). A
// key declared without only_when() applies only when `selector` names one of those entries;
// one with its own condition (kept out of the identity at its neutral value, e.g.
// dataset.ood_size) keeps it, and check_entry_keys() holds it to those entries. Throws
// std::logic_error when two entries declare a key differently, when an entry states a
// condition on `selector` itself, or when the schema has the key already.
void add_entry_keys(Schema& schema, const std::string& selector, const std::vector<DeclaringEntry>& entries);

// add_entry_keys() for a registry: a vector of entries with `name` and `add_keys`.
template <class Registry>
void add_registry_keys(Schema& schema, const std::string& selector, const Registry& registry) {
  std::vector<DeclaringEntry> entries;
  for (const auto& e : registry) entries.push_back({e.name, e.add_keys});
  add_entry_keys(schema, selector, entries);
}

// A key that counts in `cfg` (Config::applies: it is part of the run's identity) although
// the entry `cfg` selects did not declare it, e.g. dataset.task: pretrain with dataset.name:
// cub: a ConfigError "file:line: key: applies only to dataset.name builtin, ...". A key of
// another entry that does not count (a masking key of a vanilla run in a sweep) stays out
// of the identity without a word, as it always has.
void check_entry_keys(const Config& cfg);

}  // namespace aim
