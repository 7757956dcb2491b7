#include "runner/sweep/sweep_spec.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "runner/schema.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

struct Axis {
  std::vector<std::string> keys;               // one key (grid) or several (zip group)
  std::vector<std::vector<YAML::Node>> values;  // values[i][k]: i-th point, k-th key
};

std::string where(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1);
}

std::string value_text(const YAML::Node& n) { return yaml_flow_text(n); }

std::vector<Axis> read_axes(const YAML::Node& sweep, const std::string& file) {
  std::vector<Axis> axes;
  for (auto it : sweep) {
    auto key = key_name(it.first, file, "sweep");
    if (key == "name") continue;
    if (key == "grid") {
      if (!it.second.IsMap())
        throw ConfigError(where(file, it.second) + ": sweep.grid: expected a mapping of key: [values]");
      for (auto a : it.second) {
        auto akey = key_name(a.first, file, "sweep.grid");
        if (!a.second.IsSequence() || a.second.size() == 0)
          throw ConfigError(where(file, a.first) + ": sweep.grid." + akey + ": expected a non-empty list of values");
        Axis axis{{akey}, {}};
        for (auto v : a.second) axis.values.push_back({v});
        axes.push_back(axis);
      }
    } else if (key == "zip") {
      if (!it.second.IsSequence())
        throw ConfigError(where(file, it.second) + ": sweep.zip: expected a list of groups {key: [values], ...}");
      for (auto group : it.second) {
        if (!group.IsMap() || group.size() == 0)
          throw ConfigError(where(file, group) + ": sweep.zip: each group must be a mapping key: [values]");
        Axis axis;
        size_t len = 0;
        for (auto a : group) {
          auto akey = key_name(a.first, file, "sweep.zip");
          if (!a.second.IsSequence() || a.second.size() == 0)
            throw ConfigError(where(file, a.first) + ": sweep.zip." + akey + ": expected a non-empty list of values");
          if (axis.keys.empty()) len = a.second.size();
          else if (a.second.size() != len)
            throw ConfigError(where(file, a.first) + ": sweep.zip." + akey + ": has " + std::to_string(a.second.size()) +
                              " values, but '" + axis.keys.front() + "' in the same group has " + std::to_string(len) +
                              " (zipped values vary together, so the lists must be equally long)");
          axis.keys.push_back(akey);
        }
        axis.values.assign(len, {});
        for (auto a : group)
          for (size_t i = 0; i < len; ++i) axis.values[i].push_back(a.second[i]);
        axes.push_back(axis);
      }
    } else {
      std::string hint = closest_match(key, {"name", "grid", "zip"});
      throw ConfigError(where(file, it.first) + ": sweep." + key + ": unknown key" +
                        (hint.empty() ? std::string(" (expected name, grid or zip)") : " (did you mean '" + hint + "'?)"));
    }
  }
  return axes;
}

// sweep.name, or the file's name without .yaml: it becomes <output_dir>/<name>/ and the
// Slurm job name, so it must be a safe name (name_problem()) and not "runs".
// `file`: the file the sweep section is in (an include, perhaps); `spec`: the sweep file.
std::string sweep_name(const YAML::Node& sweep, const std::string& file, const std::string& spec) {
  const bool set = sweep.IsMap() && sweep["name"] && !sweep["name"].IsNull();
  const YAML::Node n = set ? sweep["name"] : YAML::Node();
  if (set && !n.IsScalar()) throw ConfigError(where(file, n) + ": sweep.name: expected a name, got a list or a mapping");
  const std::string name = set ? n.Scalar() : fs::path(spec).stem().string();
  std::string why = name == "runs" ? "'runs' is the folder of the runs themselves" : name_problem(name);
  if (why.empty()) return name;
  if (set) throw ConfigError(where(file, n) + ": sweep.name: " + why);
  throw ConfigError(spec + ": sweep.name: not set, and the file's name '" + name + "' cannot be one: " + why);
}

// Odometer over the axes, last axis fastest; false after the last combination.
bool next_combination(std::vector<size_t>& idx, const std::vector<Axis>& axes) {
  for (size_t a = axes.size(); a-- > 0;) {
    if (++idx[a] < axes[a].values.size()) return true;
    idx[a] = 0;
  }
  return false;
}

// The grid's combinations, refused above kMaxSweepRuns before any is made.
void check_run_count(const std::vector<Axis>& axes, const Location& loc) {
  size_t runs = 1;
  for (const auto& a : axes) {
    runs *= a.values.size();
    if (runs > kMaxSweepRuns)
      throw ConfigError(loc.str() + ": sweep: the axes make more than " + std::to_string(kMaxSweepRuns) +
                        " runs (the most one sweep may have; split it into several sweep files)");
  }
}

// "seed=1, method={name: aim} (sweep.yaml:7)": which run of the sweep an error is about.
std::string run_context(const std::vector<Axis>& axes, const std::vector<size_t>& idx, const std::string& file) {
  std::vector<std::string> parts;
  for (size_t a = 0; a < axes.size(); ++a)
    for (size_t k = 0; k < axes[a].keys.size(); ++k) {
      const auto& v = axes[a].values[idx[a]][k];
      parts.push_back(axes[a].keys[k] + "=" + value_text(v) + " (" + where(file, v) + ")");
    }
  return parts.empty() ? "the sweep's only run" : "the run with " + join(parts, ", ");
}

// Resolves and validates one run; an error names the sweep's run by its axis values.
// The world size is filled in (part of the identity) unless the sweep names one.
Config resolve_run(FlatConfig flat, const std::vector<Axis>& axes, const std::vector<size_t>& idx,
                   const std::string& file, int world_size) {
  try {
    Config cfg = resolve_run_config(flat);
    if (cfg.get_int("world_size") == 0) {
      apply_override(flat, "world_size=" + std::to_string(world_size));
      cfg = resolve_run_config(flat);
    }
    check_run_config(cfg, int(cfg.get_int("world_size")));
    return cfg;
  } catch (const ConfigError& e) {
    throw ConfigError(std::string(e.what()) + "\n  in " + run_context(axes, idx, file) + " of sweep " + file);
  }
}

Sweep expand_sweep(const std::string& path, const std::vector<std::string>& overrides, int world_size) {
  auto loaded = load_config_file(path, {"sweep"});
  Sweep sweep;
  sweep.spec_path = path;
  std::vector<Axis> axes;
  if (loaded.sections.count("sweep")) {
    const auto& [node, loc] = loaded.sections["sweep"];
    if (!node.IsMap()) throw ConfigError(loc.str() + ": sweep: expected a mapping with name, grid and/or zip");
    sweep.name = sweep_name(node, loc.file, path);
    axes = read_axes(node, path);
    check_run_count(axes, loc);
  } else {
    sweep.name = sweep_name(YAML::Node(), path, path);
  }
  for (const auto& a : axes) sweep.axis_keys.insert(sweep.axis_keys.end(), a.keys.begin(), a.keys.end());

  // Cartesian product over axes, first axis slowest.
  std::vector<size_t> idx(axes.size(), 0);
  std::set<std::string> seen;
  while (true) {  // one pass per combination
    FlatConfig flat = loaded.values;
    SweepRun run{Config{}, "", {}};
    for (size_t a = 0; a < axes.size(); ++a) {
      for (size_t k = 0; k < axes[a].keys.size(); ++k) {
        const auto& key = axes[a].keys[k];
        const auto& value = axes[a].values[idx[a]][k];
        // A mapping sets the keys it names (merged over the base); anything else replaces
        // the key and all below it.
        if (!value.IsMap())
          for (auto it = flat.begin(); it != flat.end();)
            it = starts_with(it->first, key + ".") ? flat.erase(it) : std::next(it);
        flatten_into(flat, key, value, path);
        run.axes.emplace_back(key, value_text(value));
      }
    }
    for (const auto& o : overrides) apply_override(flat, o);
    run.config = resolve_run(flat, axes, idx, path, world_size);
    run.run_id = run.config.run_id();
    if (seen.insert(run.run_id).second) sweep.runs.push_back(std::move(run));
    if (!next_combination(idx, axes)) break;
  }
  sweep.output_dir = sweep.runs.front().config.get_string("output_dir");
  return sweep;
}

}  // namespace

Sweep load_sweep(const std::string& path, const std::vector<std::string>& overrides, int world_size) {
  try {
    return expand_sweep(path, overrides, world_size);
  } catch (const YAML::Exception& e) {
    // A value of the wrong YAML kind that slipped past the checks above: still file:line.
    throw ConfigError((e.mark.line >= 0 ? path + ":" + std::to_string(e.mark.line + 1) : path) + ": sweep: " + e.msg);
  }
}

void check_sweep_world(const Sweep& sweep, int world_size) {
  for (const auto& run : sweep.runs) {
    try {
      check_run_config(run.config, world_size);
    } catch (const ConfigError& e) {
      std::vector<std::string> axes;
      for (const auto& [k, v] : run.axes) axes.push_back(k + "=" + v);
      throw ConfigError(std::string(e.what()) + "\n  in the run " + run.run_id +
                        (axes.empty() ? std::string() : " (" + join(axes, ", ") + ")") + " of sweep " + sweep.spec_path +
                        ", with " + std::to_string(world_size) + " ranks");
    }
  }
}

}  // namespace aim
