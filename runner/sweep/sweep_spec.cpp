#include "runner/sweep/sweep_spec.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/strings.h"
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

std::string value_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter em;
  em << YAML::Flow << n;
  return em.c_str();
}

std::vector<Axis> read_axes(const YAML::Node& sweep, const std::string& file) {
  std::vector<Axis> axes;
  for (auto it : sweep) {
    auto key = it.first.as<std::string>();
    if (key == "name") continue;
    if (key == "grid") {
      if (!it.second.IsMap())
        throw ConfigError(where(file, it.second) + ": sweep.grid: expected a mapping of key: [values]");
      for (auto a : it.second) {
        auto akey = a.first.as<std::string>();
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
          auto akey = a.first.as<std::string>();
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

}  // namespace

Sweep load_sweep(const std::string& path, const std::vector<std::string>& overrides) {
  auto loaded = load_config_file(path, {"sweep"});
  Sweep sweep;
  sweep.spec_path = path;
  std::vector<Axis> axes;
  if (loaded.sections.count("sweep")) {
    const auto& [node, loc] = loaded.sections["sweep"];
    if (!node.IsMap()) throw ConfigError(loc.str() + ": sweep: expected a mapping with name, grid and/or zip");
    sweep.name = sweep_name(node, loc.file, path);
    axes = read_axes(node, path);
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
    run.config = Config::resolve(flat, full_schema());
    run.run_id = run.config.run_id();
    if (seen.insert(run.run_id).second) sweep.runs.push_back(std::move(run));
    if (!next_combination(idx, axes)) break;
  }
  sweep.output_dir = sweep.runs.front().config.get_string("output_dir");
  return sweep;
}

}  // namespace aim
