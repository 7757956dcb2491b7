#include "runner/sweep/slurm_profile.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "runner/sweep/slurm_values.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

// slurm/profiles/<name>.yaml, or the path itself. A name (not a path) becomes a file name,
// so it must be a safe one (no '/', no '..').
std::string find_profile(const std::string& name_or_path, const std::string& profiles_dir) {
  std::error_code ec;  // "File name too long" and the like: not a file
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               fs::path(name_or_path).extension() == ".yaml";
  if (looks_like_path) throw ConfigError("--profile: " + name_or_path + ": file not found");
  if (auto why = name_problem(name_or_path); !why.empty())
    throw ConfigError("--profile: '" + name_or_path + "' is not a profile name: " + why);
  std::string path = profiles_dir + "/" + name_or_path + ".yaml";
  if (fs::is_regular_file(path, ec)) return path;
  std::vector<std::string> names;
  if (fs::is_directory(profiles_dir))
    for (const auto& e : fs::directory_iterator(profiles_dir))
      if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  std::string hint = closest_match(name_or_path, names);
  throw ConfigError("Slurm profile '" + name_or_path + "' not found in " + profiles_dir + " (profiles: " +
                    join(names, ", ") + ")" + (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
}

// Fields that go into `#SBATCH` lines unquoted (sbatch parses them itself) and are not the
// user's own lines: only characters that need no quoting there.
void check_token(const std::string& where, const std::string& value) {
  static const std::string allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:@_.,+-";
  for (char c : value)
    if (allowed.find(c) == std::string::npos)
      throw ConfigError(where + "'" + value + "': only letters, digits and : @ _ . , + - are allowed here");
}

// One profile key into `p`. `where` is "file:line: key: ".
void read_profile_key(SlurmProfile& p, const std::string& key, const YAML::Node& v, const std::string& where) {
  auto integer = [&](int& out, int lo) {
    try {
      out = v.as<int>();
    } catch (...) {
      throw ConfigError(where + "expected an integer, got '" + (v.IsScalar() ? v.Scalar() : "?") + "'");
    }
    if (out < lo) throw ConfigError(where + "expected at least " + std::to_string(lo));
  };
  // Single-line text; partition and account are inserted verbatim (docs/sweeps.md).
  auto text = [&](std::string& out, bool token) {
    if (!v.IsNull() && !v.IsScalar()) throw ConfigError(where + "expected a single value, got a list or a mapping");
    out = v.IsNull() ? "" : v.Scalar();
    if (auto why = multiline_problem(out); !why.empty()) throw ConfigError(where + "the value " + why);
    if (token) check_token(where, out);
  };
  // The user's own lines (module commands, #SBATCH options), one per item, verbatim.
  // A token whose meaning sbatch decides, checked against `problem` (runner/sweep/slurm_values.h).
  auto checked = [&](std::string& out, std::string (*problem)(const std::string&)) {
    text(out, true);
    if (auto why = problem(out); !why.empty()) throw ConfigError(where + why);
  };
  auto lines = [&](std::vector<std::string>& out) {
    if (v.IsNull()) return;
    if (!v.IsSequence()) throw ConfigError(where + "expected a list of strings");
    for (auto item : v) {
      if (!item.IsScalar()) throw ConfigError(where + "expected a list of strings");
      if (auto why = multiline_problem(item.Scalar()); !why.empty())
        throw ConfigError(where + "an item " + why + " (one line per item)");
      out.push_back(item.Scalar());
    }
  };
  if (key == "nodes") integer(p.nodes, 1);
  else if (key == "tasks_per_node") integer(p.tasks_per_node, 1);
  else if (key == "cpus_per_task") integer(p.cpus_per_task, 1);
  else if (key == "gpus_per_node") integer(p.gpus_per_node, 0);
  else if (key == "throttle") integer(p.throttle, 0);
  else if (key == "max_array_size") integer(p.max_array_size, 1);
  else if (key == "time") checked(p.time, slurm_time_problem);
  else if (key == "partition") text(p.partition, false);
  else if (key == "account") text(p.account, false);
  else if (key == "mem") text(p.mem, true);
  else if (key == "signal") checked(p.signal, slurm_signal_problem);
  else if (key == "srun_mpi") text(p.srun_mpi, true);
  else if (key == "modules") lines(p.modules);
  else if (key == "extra_sbatch") lines(p.extra_sbatch);
}

// A signal asked for as long before the limit as the job may run, or longer: every run
// would be stopped as it starts, and requeued forever.
void refuse_signal_after_limit(const SlurmProfile& p, const YAML::Node& root, const std::string& path) {
  const long limit = slurm_time_seconds(p.time), before = slurm_signal_seconds(p.signal);
  if (limit == 0 || before < limit) return;
  const YAML::Node at = root["signal"] ? root["signal"] : root["time"];
  throw ConfigError(path + ":" + std::to_string(at.Mark().line + 1) + ": signal: " + p.signal + " comes " +
                    std::to_string(before) + " s before the time limit, but time " + p.time + " is " +
                    std::to_string(limit) + " s: every run would be stopped as it starts");
}

}  // namespace

SlurmProfile load_slurm_profile(const std::string& name_or_path, const std::string& profiles_dir) {
  const std::string path = find_profile(name_or_path, profiles_dir);
  const YAML::Node root = load_yaml_file(path);  // one document, each key once
  if (!root.IsNull() && !root.IsMap()) throw ConfigError(path + ": expected a mapping of profile keys");
  SlurmProfile p;
  p.name = fs::path(path).stem().string();
  p.path = fs::absolute(path).lexically_normal().string();
  const std::vector<std::string> keys = {"nodes", "tasks_per_node", "cpus_per_task", "gpus_per_node", "throttle",
                                         "max_array_size",
                                         "time", "partition", "account", "mem", "signal", "srun_mpi", "modules",
                                         "extra_sbatch"};
  for (auto it : root) {
    const std::string line = path + ":" + std::to_string(it.first.Mark().line + 1) + ": ";
    if (!it.first.IsScalar()) throw ConfigError(line + "expected a key name");
    auto key = it.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      auto hint = closest_match(key, keys);
      throw ConfigError(line + key + ": unknown key" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    read_profile_key(p, key, it.second, line + key + ": ");
  }
  refuse_signal_after_limit(p, root, path);
  return p;
}

}  // namespace aim
