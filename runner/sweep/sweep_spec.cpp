#include "runner/sweep/sweep_spec.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "runner/schema.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/search_seeds.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_axes.h"
#include "runner/sweep/sweep_stages.h"

namespace fs = std::filesystem;

namespace aim {

const SweepRun* Sweep::find_run(const std::string& run_id) const {
  for (const auto& r : runs)
    if (r.run_id == run_id) return &r;
  return nullptr;
}

std::vector<const SweepRun*> Sweep::stage_runs(const std::string& stage) const {
  std::vector<const SweepRun*> out;
  for (const auto& r : runs)
    if (r.stage == stage) out.push_back(&r);
  return out;
}

namespace {

// sweep.name, or the file's name without .yaml: it becomes <output_dir>/<name>/ and the
// Slurm job name, so it must be a safe name (name_problem()) and not "runs".
// `file`: the file the sweep section is in (an include, perhaps); `spec`: the sweep file.
std::string sweep_name(const YAML::Node& sweep, const std::string& file, const std::string& spec) {
  const bool set = sweep.IsMap() && sweep["name"] && !sweep["name"].IsNull();
  const YAML::Node n = set ? sweep["name"] : YAML::Node();
  if (set && !n.IsScalar()) throw ConfigError(yaml_where(file, n) + ": sweep.name: expected a name, got a list or a mapping");
  const std::string name = set ? n.Scalar() : fs::path(spec).stem().string();
  std::string why = name == "runs" ? "'runs' is the folder of the runs themselves" : name_problem(name);
  if (why.empty()) return name;
  if (set) throw ConfigError(yaml_where(file, n) + ": sweep.name: " + why);
  throw ConfigError(spec + ": sweep.name: not set, and the file's name '" + name + "' cannot be one: " + why);
}

// A sweep without stages: the axes of the sweep section (in `file`, the sweep file or an
// include) over the file's settings.
void expand_axes(Sweep& sweep, const std::vector<Axis>& axes, const std::string& file, const FlatConfig& base,
                 const std::vector<std::string>& overrides, int world_size) {
  for (const auto& a : axes) sweep.axis_keys.insert(sweep.axis_keys.end(), a.keys.begin(), a.keys.end());
  // Cartesian product over axes, first axis slowest.
  std::vector<size_t> idx(axes.size(), 0);
  std::set<std::string> seen;
  while (true) {  // one pass per combination
    FlatConfig flat = base;
    SweepRun run{Config{}, "", apply_combination(flat, axes, idx, file), "", "", 0, "", ""};
    for (const auto& o : overrides) apply_override(flat, o);
    run.config = resolve_sweep_run(flat, [&] { return run_context(axes, idx, file); }, sweep.spec_path, world_size);
    run.run_id = run.config.run_id();
    if (seen.insert(run.run_id).second) sweep.runs.push_back(std::move(run));
    if (!next_combination(idx, axes)) break;
  }
}

// The keys of a sweep in stages are name and stages; anything else is an error naming the
// closest valid key.
void check_staged_keys(const YAML::Node& node, const std::string& file) {
  const std::vector<std::string> valid = {"name", "stages"};
  for (auto it : node) {
    auto key = key_name(it.first, file, "sweep");
    if (std::find(valid.begin(), valid.end(), key) != valid.end()) continue;
    if (key == "seeds")
      throw ConfigError(yaml_where(file, it.first) +
                        ": sweep.seeds: in a sweep in stages adaptive seeds belong to the last stage: give it a "
                        "`seeds:` (sweep.stages[i].seeds; docs/sweeps.md, \"Adaptive seeds in the last stage\")");
    if (key == "search")
      throw ConfigError(yaml_where(file, it.first) +
                        ": sweep.search: in a sweep in stages a search belongs to one stage: give that stage a "
                        "`search:` (sweep.stages[i].search; docs/sweeps.md, \"A search in a stage\")");
    const bool axis = key == "grid" || key == "zip";
    std::string hint = closest_match(key, valid);
    throw ConfigError(
        yaml_where(file, it.first) + ": sweep." + key +
        (axis ? ": a sweep in stages has only name and stages (each stage has its own set, grid and zip)"
              : ": unknown key" + (hint.empty() ? " (expected name, stages)" : " (did you mean '" + hint + "'?)")));
  }
}

Sweep expand_sweep(const std::string& path, const std::vector<std::string>& overrides, int world_size) {
  auto loaded = load_config_file(path, {"sweep"});
  Sweep sweep;
  sweep.spec_path = path;
  if (!loaded.sections.count("sweep")) {
    sweep.name = sweep_name(YAML::Node(), path, path);
    expand_axes(sweep, {}, path, loaded.values, overrides, world_size);
  } else {
    const auto& [node, loc] = loaded.sections["sweep"];
    if (!node.IsMap()) throw ConfigError(loc.str() + ": sweep: expected a mapping with name, grid and/or zip (or stages)");
    sweep.name = sweep_name(node, loc.file, path);
    if (node["stages"]) {
      check_staged_keys(node, loc.file);
      expand_stages(sweep, node["stages"], loc.file, loaded.values, overrides, world_size);
    } else {
      auto axes = read_axes(node, loc.file, "sweep", {"name", "seeds", "search"}, {"stages"});
      std::unique_ptr<SeedsSpec> seeds;
      if (node["seeds"] && node["search"]) check_search_beside_seeds(node["search"], node["seeds"], loc.file);
      if (node["seeds"]) {  // adaptive seeds: every run max seeds would make, then the rounds so far
        seeds = std::make_unique<SeedsSpec>(read_seeds(node["seeds"], loc.file, "sweep.seeds"));
        axes.push_back(seed_axis(*seeds, node["seeds"], axes, loc.file));
      }
      std::unique_ptr<SearchSpec> search;
      if (node["search"]) {  // successive halving: the searched axes vary fastest
        search = std::make_unique<SearchSpec>(read_search(node["search"], loc.file, axes, "sweep.search"));
        axes.insert(axes.end(), search->axes.begin(), search->axes.end());
      }
      count_runs(axes, loc.str(), kMaxSweepRuns);
      expand_axes(sweep, axes, loc.file, loaded.values, overrides, world_size);
      if (seeds) check_decide_methods(*seeds, sweep.runs);
      if (search) check_search_epochs(*search, sweep.runs);
      if (seeds && search) {  // the search at seed 0, then the rounds on its winners
        split_search_seeds(sweep, *search, *seeds, zipped_with_method(axes));
      } else if (seeds) {
        sweep.seeds = std::make_shared<SeedRounds>(seed_groups(*seeds, sweep.runs, zipped_with_method(axes)));
      } else if (search) {
        sweep.search = std::make_shared<SearchState>(search_groups(*search, sweep.runs));
      }
    }
  }
  sweep.output_dir = sweep.runs.front().config.get_string("output_dir");
  replan_sweep(sweep);
  return sweep;
}

}  // namespace

void replan_sweep(Sweep& sweep) {
  if (sweep.seeds && sweep.search) {
    apply_search_seeds(sweep);
  } else {
    apply_seed_rounds(sweep);
    apply_search(sweep);
  }
}

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
