#include "runner/registry_keys.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "core/strings.h"

namespace aim {

namespace {

// Everything a declaration says about the key, but who declared it.
bool same_declaration(const KeySpec& a, const KeySpec& b) {
  return a.type == b.type && a.default_yaml == b.default_yaml && a.help == b.help && a.choices == b.choices &&
         a.min == b.min && a.max == b.max && a.min_open == b.min_open && a.max_open == b.max_open &&
         a.list_length == b.list_length && a.sorted == b.sorted && a.nullable == b.nullable &&
         a.identity == b.identity && a.must_exist == b.must_exist && a.text == b.text && a.when_key == b.when_key &&
         a.when_values == b.when_values;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// One entry's declarations merged into `merged` (first declarations first).
void merge_entry(const std::string& selector, const DeclaringEntry& entry, std::vector<KeySpec>& merged,
                 std::map<std::string, size_t>& index) {
  Schema own;
  entry.add_keys(own);
  for (KeySpec spec : own.specs()) {
    if (spec.when_key == selector)
      throw std::logic_error(entry.name + " declares " + spec.key + " with a condition on " + selector +
                             ": the entries a key applies to are the entries that declare it");
    auto it = index.find(spec.key);
    if (it == index.end()) {
      spec.entry_key = selector;
      spec.entries = {entry.name};
      index.emplace(spec.key, merged.size());
      merged.push_back(std::move(spec));
      continue;
    }
    KeySpec& first = merged[it->second];
    if (!same_declaration(first, spec))
      throw std::logic_error(spec.key + " is declared differently by " + first.entries.front() + " and " + entry.name +
                             " (declare it through one shared helper)");
    if (!contains(first.entries, entry.name)) first.entries.push_back(entry.name);
  }
}

}  // namespace

void add_entry_keys(Schema& schema, const std::string& selector, const std::vector<DeclaringEntry>& entries) {
  std::vector<KeySpec> merged;
  std::map<std::string, size_t> index;
  for (const auto& e : entries)
    if (e.add_keys) merge_entry(selector, e, merged, index);
  for (auto& spec : merged) {
    if (spec.when_key.empty()) spec.only_when(selector, spec.entries);
    schema.add(std::move(spec));
  }
}

void check_entry_keys(const Config& cfg) {
  for (const auto& spec : cfg.schema().specs()) {
    if (spec.entry_key.empty() || !cfg.applies(spec.key)) continue;
    const std::string entry = cfg.text(spec.entry_key);
    if (contains(spec.entries, entry)) continue;
    cfg.fail(spec.key, "applies only to " + spec.entry_key + " " + join(spec.entries, ", ") + ", and this config's " +
                           spec.entry_key + " is '" + entry + "' (set to " + cfg.text(spec.key) +
                           ", the key would change the run's identity and nothing else)");
  }
}

}  // namespace aim
