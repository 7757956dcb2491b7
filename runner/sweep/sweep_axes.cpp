#include "runner/sweep/sweep_axes.h"

#include <map>

#include "core/error.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "runner/schema.h"

namespace aim {

std::string yaml_where(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1);
}

namespace {

// Where each axis key of one sweep (or stage) is declared: a key two axes set (a grid key
// also in a zip group, or in two groups) would take the value of the later one only.
using AxisLines = std::map<std::string, std::string>;

void claim_axis_key(AxisLines& lines, const std::string& key, const std::string& where, const std::string& shown) {
  auto [pos, inserted] = lines.emplace(key, where);
  if (!inserted)
    throw ConfigError(where + ": " + shown + ": " + key + " is an axis already (" + pos->second +
                      "): two axes of one sweep cannot set the same key (zip them into one group)");
}

void read_grid(const YAML::Node& grid, const std::string& file, const std::string& prefix, std::vector<Axis>& axes,
               AxisLines& lines) {
  if (!grid.IsMap())
    throw ConfigError(yaml_where(file, grid) + ": " + prefix + ".grid: expected a mapping of key: [values]");
  for (auto a : grid) {
    auto akey = key_name(a.first, file, prefix + ".grid");
    if (!a.second.IsSequence() || a.second.size() == 0)
      throw ConfigError(yaml_where(file, a.first) + ": " + prefix + ".grid." + akey +
                        ": expected a non-empty list of values");
    claim_axis_key(lines, akey, yaml_where(file, a.first), prefix + ".grid." + akey);
    Axis axis{{akey}, {}};
    for (auto v : a.second) axis.values.push_back({v});
    axes.push_back(axis);
  }
}

void read_zip(const YAML::Node& zip, const std::string& file, const std::string& prefix, std::vector<Axis>& axes,
              AxisLines& lines) {
  if (!zip.IsSequence())
    throw ConfigError(yaml_where(file, zip) + ": " + prefix + ".zip: expected a list of groups {key: [values], ...}");
  for (auto group : zip) {
    if (!group.IsMap() || group.size() == 0)
      throw ConfigError(yaml_where(file, group) + ": " + prefix + ".zip: each group must be a mapping key: [values]");
    Axis axis;
    size_t len = 0;
    for (auto a : group) {
      auto akey = key_name(a.first, file, prefix + ".zip");
      if (!a.second.IsSequence() || a.second.size() == 0)
        throw ConfigError(yaml_where(file, a.first) + ": " + prefix + ".zip." + akey +
                          ": expected a non-empty list of values");
      if (axis.keys.empty())
        len = a.second.size();
      else if (a.second.size() != len)
        throw ConfigError(yaml_where(file, a.first) + ": " + prefix + ".zip." + akey + ": has " +
                          std::to_string(a.second.size()) + " values, but '" + axis.keys.front() +
                          "' in the same group has " + std::to_string(len) +
                          " (zipped values vary together, so the lists must be equally long)");
      claim_axis_key(lines, akey, yaml_where(file, a.first), prefix + ".zip." + akey);
      axis.keys.push_back(akey);
    }
    axis.values.assign(len, {});
    for (auto a : group)
      for (size_t i = 0; i < len; ++i) axis.values[i].push_back(a.second[i]);
    axes.push_back(axis);
  }
}

}  // namespace

std::vector<Axis> read_axes(const YAML::Node& node, const std::string& file, const std::string& prefix,
                            const std::vector<std::string>& other_keys, const std::vector<std::string>& also_valid) {
  std::vector<Axis> axes;
  AxisLines lines;
  for (auto it : node) {
    auto key = key_name(it.first, file, prefix);
    if (std::find(other_keys.begin(), other_keys.end(), key) != other_keys.end()) continue;
    if (key == "grid") {
      read_grid(it.second, file, prefix, axes, lines);
    } else if (key == "zip") {
      read_zip(it.second, file, prefix, axes, lines);
    } else {
      std::vector<std::string> valid = other_keys;
      valid.insert(valid.end(), {"grid", "zip"});
      valid.insert(valid.end(), also_valid.begin(), also_valid.end());
      std::string hint = closest_match(key, valid);
      throw ConfigError(yaml_where(file, it.first) + ": " + prefix + "." + key + ": unknown key" +
                        (hint.empty() ? " (expected " + join(valid, ", ") + ")" : " (did you mean '" + hint + "'?)"));
    }
  }
  return axes;
}

size_t count_runs(const std::vector<Axis>& axes, const std::string& where, size_t limit) {
  size_t runs = 1;
  for (const auto& a : axes) {
    runs *= a.values.size();
    if (runs > limit)
      throw ConfigError(where + ": sweep: the axes make more than " + std::to_string(limit) +
                        " runs (the most one sweep may have; split it into several sweep files)");
  }
  return runs;
}

bool next_combination(std::vector<size_t>& idx, const std::vector<Axis>& axes) {
  for (size_t a = axes.size(); a-- > 0;) {
    if (++idx[a] < axes[a].values.size()) return true;
    idx[a] = 0;
  }
  return false;
}

void set_flat_key(FlatConfig& flat, const std::string& key, const YAML::Node& value, const std::string& file) {
  // Erased, not assigned over: assigning one YAML::Node to another writes into the node
  // they share, which would change the value in every copy of the base config.
  flat.erase(key);
  if (!value.IsMap())
    for (auto it = flat.begin(); it != flat.end();)
      it = starts_with(it->first, key + ".") ? flat.erase(it) : std::next(it);
  flatten_into(flat, key, value, file);
}

std::vector<std::pair<std::string, std::string>> apply_combination(FlatConfig& flat, const std::vector<Axis>& axes,
                                                                   const std::vector<size_t>& idx,
                                                                   const std::string& file) {
  std::vector<std::pair<std::string, std::string>> text;
  for (size_t a = 0; a < axes.size(); ++a)
    for (size_t k = 0; k < axes[a].keys.size(); ++k) {
      const auto& value = axes[a].values[idx[a]][k];
      set_flat_key(flat, axes[a].keys[k], value, file);
      text.emplace_back(axes[a].keys[k], yaml_flow_text(value));
    }
  return text;
}

std::string run_context(const std::vector<Axis>& axes, const std::vector<size_t>& idx, const std::string& file) {
  std::vector<std::string> parts;
  for (size_t a = 0; a < axes.size(); ++a)
    for (size_t k = 0; k < axes[a].keys.size(); ++k) {
      const auto& v = axes[a].values[idx[a]][k];
      parts.push_back(axes[a].keys[k] + "=" + yaml_flow_text(v) + " (" + yaml_where(file, v) + ")");
    }
  return parts.empty() ? "the sweep's only run" : "the run with " + join(parts, ", ");
}

Config resolve_sweep_run(FlatConfig flat, const std::function<std::string()>& context, const std::string& file,
                         int world_size) {
  try {
    // Most sweeps leave world_size to the launcher: filled in before resolving, once.
    if (!flat.count("world_size")) apply_override(flat, "world_size=" + std::to_string(world_size));
    Config cfg = resolve_run_config(flat);
    if (cfg.get_int("world_size") == 0) {
      apply_override(flat, "world_size=" + std::to_string(world_size));
      cfg = resolve_run_config(flat);
    }
    check_run_config(cfg, int(cfg.get_int("world_size")));
    return cfg;
  } catch (const ConfigError& e) {
    throw ConfigError(std::string(e.what()) + "\n  in " + context() + " of sweep " + file);
  }
}

}  // namespace aim
