#include "runner/sweep/sweep_stages.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_axes.h"
#include "runner/sweep/sweep_search.h"
#include "runner/sweep/sweep_seeds.h"

namespace aim {

namespace {

// One stage as read from the file.
struct StageSpec {
  std::string name, init_from;
  YAML::Node node;                     // the stage's mapping
  std::vector<Axis> axes;              // its grid and zip, then its searched axes
  std::string prefix;                  // "sweep.stages[finetune]" in errors
  std::shared_ptr<SearchSpec> search;  // its `search:` (successive halving), or null
  std::shared_ptr<SeedsSpec> seeds;    // its `seeds:` (adaptive seeds; the last stage only), or null
};

// Every combination a stage expanded to (before runs with equal ids were merged), for
// matching: its axis values and the run's id.
struct Expanded {
  std::vector<std::pair<std::string, std::string>> axes;
  std::string run_id;
  std::string root;  // the search candidate it descends from ("" if none)
};

std::string scalar_text(const YAML::Node& n, const std::string& file, const std::string& key) {
  if (!n.IsScalar()) throw ConfigError(yaml_where(file, n) + ": " + key + ": expected a name, got a list or a mapping");
  return n.Scalar();
}

// A key the stage's `set` gives one value and an axis of the stage others: the axis would
// replace the set value in every run.
void refuse_set_axes(const StageSpec& s, const std::string& file) {
  if (!s.node["set"] || !s.node["set"].IsMap()) return;
  FlatConfig set;
  flatten_into(set, "", s.node["set"], file);
  for (const auto& axis : s.axes)
    for (const auto& key : axis.keys)
      if (auto it = set.find(key); it != set.end())
        throw ConfigError(it->second.where.str() + ": " + s.prefix + ".set." + key +
                          ": also an axis of this stage, whose values would replace it in every run (set it in one "
                          "place)");
}

// A stage's `search:` (docs/sweeps.md, "A search in a stage"): one stage of a sweep may
// search; its searched axes vary fastest, after its grid and zip.
void read_stage_search(StageSpec& s, const std::string& file, const std::vector<StageSpec>& before) {
  for (const auto& b : before)
    if (b.search)
      throw ConfigError(yaml_where(file, s.node["search"]) + ": " + s.prefix + ".search: stage " + b.name +
                        " searches already; only one stage of a sweep may search");
  s.search = std::make_shared<SearchSpec>(read_search(s.node["search"], file, s.axes, s.prefix + ".search"));
  s.axes.insert(s.axes.end(), s.search->axes.begin(), s.search->axes.end());
}

// The stage at position i: its name (a safe name, unique), init_from (an earlier stage),
// set (a mapping) and axes.
StageSpec read_stage(const YAML::Node& node, size_t i, const std::string& file, const std::vector<StageSpec>& before) {
  const std::string at = "sweep.stages[" + std::to_string(i) + "]";
  if (!node.IsMap())
    throw ConfigError(yaml_where(file, node) + ": " + at + ": expected a mapping (name, init_from, set, grid, zip)");
  StageSpec s;
  s.node = node;
  if (!node["name"]) throw ConfigError(yaml_where(file, node) + ": " + at + ".name: every stage needs a name");
  s.name = scalar_text(node["name"], file, at + ".name");
  if (auto why = name_problem(s.name); !why.empty())
    throw ConfigError(yaml_where(file, node["name"]) + ": " + at + ".name: " + why);
  std::vector<std::string> earlier;
  for (const auto& b : before) earlier.push_back(b.name);
  if (std::find(earlier.begin(), earlier.end(), s.name) != earlier.end())
    throw ConfigError(yaml_where(file, node["name"]) + ": " + at + ".name: a stage named '" + s.name +
                      "' comes earlier in this sweep (stage names must differ)");
  s.prefix = "sweep.stages[" + s.name + "]";
  if (node["init_from"] && !node["init_from"].IsNull()) {
    s.init_from = scalar_text(node["init_from"], file, s.prefix + ".init_from");
    if (std::find(earlier.begin(), earlier.end(), s.init_from) == earlier.end()) {
      const bool self = s.init_from == s.name;
      std::string hint = closest_match(s.init_from, earlier);
      throw ConfigError(yaml_where(file, node["init_from"]) + ": " + s.prefix + ".init_from: " +
                        (self ? "a stage cannot start from itself" : "no stage '" + s.init_from + "' before this one") +
                        " (a stage starts from an earlier stage" +
                        (earlier.empty() ? ", and this is the first)" : ": " + join(earlier, ", ") + ")") +
                        (hint.empty() || self ? "" : "; did you mean '" + hint + "'?"));
    }
  }
  if (node["set"] && !node["set"].IsNull() && !node["set"].IsMap())
    throw ConfigError(yaml_where(file, node["set"]) + ": " + s.prefix + ".set: expected a mapping of settings");
  s.axes = read_axes(node, file, s.prefix, {"name", "init_from", "set", "search", "seeds"});
  if (node["search"]) read_stage_search(s, file, before);
  if (node["seeds"]) {  // adaptive seeds: the seed axis max seeds would make (the last, fastest)
    s.seeds = std::make_shared<SeedsSpec>(read_seeds(node["seeds"], file, s.prefix + ".seeds"));
    s.axes.push_back(seed_axis(*s.seeds, node["seeds"], s.axes, file));
  }
  refuse_set_axes(s, file);
  return s;
}

bool same_on(const std::vector<std::pair<std::string, std::string>>& a,
             const std::vector<std::pair<std::string, std::string>>& b, const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    auto find = [&](const auto& v) {
      for (const auto& [key, val] : v)
        if (key == k) return val;
      return std::string();
    };
    if (find(a) != find(b)) return false;
  }
  return true;
}

std::string axes_text(const std::vector<std::pair<std::string, std::string>>& axes) {
  std::vector<std::string> v;
  for (const auto& [k, val] : axes) v.push_back(k + "=" + val);
  return v.empty() ? "(no axes)" : join(v, ", ");
}

// The upstream run of a downstream run with axis values `axes`: the one run of `up` that
// agrees on every axis both stages declare (`shared`), or the only run of `up`.
std::string match_upstream(const StageSpec& down, const StageSpec& up, const std::vector<Expanded>& up_runs,
                           const std::vector<std::string>& shared,
                           const std::vector<std::pair<std::string, std::string>>& axes, const std::string& context,
                           const std::string& file) {
  std::set<std::string> all, found;
  std::vector<std::string> listed;
  for (const auto& u : up_runs) {
    all.insert(u.run_id);
    if (!same_on(axes, u.axes, shared)) continue;
    if (found.insert(u.run_id).second && listed.size() < 10)
      listed.push_back(u.run_id + " (" + axes_text(u.axes) + ")");
  }
  if (all.size() == 1) return *all.begin();
  if (found.size() == 1) return *found.begin();
  const std::string on = shared.empty() ? "the two stages share no axis" : "matched on " + join(shared, ", ");
  std::string msg =
      yaml_where(file, down.node) + ": " + down.prefix + ".init_from: " + context + " (stage " + down.name + ") ";
  if (found.empty()) {
    std::vector<std::string> cands;
    for (const auto& u : up_runs)
      if (cands.size() < 10) cands.push_back(u.run_id + " (" + axes_text(u.axes) + ")");
    throw ConfigError(msg + "matches no run of stage " + up.name + " (" + on +
                      "); the runs there: " + join(cands, "; "));
  }
  throw ConfigError(msg + "matches " + std::to_string(found.size()) + " runs of stage " + up.name + " (" + on +
                    "): " + join(listed, "; ") +
                    "; give both stages the axes that tell these runs apart, so each run has one upstream run");
}

std::vector<std::string> shared_axes(const StageSpec& a, const StageSpec& b) {
  std::set<std::string> bk;
  for (const auto& ax : b.axes) bk.insert(ax.keys.begin(), ax.keys.end());
  std::vector<std::string> out;
  for (const auto& ax : a.axes)
    for (const auto& k : ax.keys)
      if (bk.count(k)) out.push_back(k);
  return out;
}

// model.init_from set for a stage that starts from another (init_from): one or the other.
void refuse_both(const StageSpec& s, const FlatConfig& flat, const std::string& file) {
  auto it = flat.find("model.init_from");
  if (s.init_from.empty() || it == flat.end()) return;
  throw ConfigError(yaml_where(file, s.node["init_from"]) + ": " + s.prefix +
                    ".init_from: this stage starts from stage " + s.init_from + ", but model.init_from is set too (" +
                    it->second.where.str() + "): a stage takes its upstream run from one or the other");
}

// The axis values of a run without the keys `up` searches (its group's, in a search).
std::vector<std::pair<std::string, std::string>> unsearched(const StageSpec& up,
                                                            const std::vector<std::pair<std::string, std::string>>& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : v)
    if (!search_rungs::searched(*up.search, kv.first)) out.push_back(kv);
  return out;
}

// The runs of stage `up` a run of `down` (axis values `axes`) starts from, each with the search
// candidate it descends from: where `up` searches, every candidate of the one group it matches
// (its winner is known only later); where `up` descends from a search, one run per candidate
// there; otherwise the one matching run (match_upstream).
std::vector<std::pair<std::string, std::string>> upstreams(const StageSpec& down, const StageSpec& up,
                                                           const std::vector<Expanded>& up_runs,
                                                           const std::vector<std::pair<std::string, std::string>>& axes,
                                                           const std::string& context, const std::string& file) {
  std::vector<std::string> shared = shared_axes(down, up);
  std::vector<std::pair<std::string, std::string>> out;
  if (up.search) {  // match the groups (their axes but the searched keys), then take all of one
    shared.erase(std::remove_if(shared.begin(), shared.end(),
                                [&](const std::string& k) { return search_rungs::searched(*up.search, k); }),
                 shared.end());
    std::vector<Expanded> groups;
    for (const auto& u : up_runs) {
      Expanded g{unsearched(up, u.axes), u.run_id, ""};
      if (std::none_of(groups.begin(), groups.end(), [&](const Expanded& e) { return e.axes == g.axes; }))
        groups.push_back(g);
    }
    const std::string first = match_upstream(down, up, groups, shared, axes, context, file);
    const auto group = std::find_if(groups.begin(), groups.end(), [&](const Expanded& e) { return e.run_id == first; });
    for (const auto& u : up_runs)
      if (unsearched(up, u.axes) == group->axes) out.push_back({u.run_id, u.run_id});
    return out;
  }
  std::vector<std::string> roots;  // in order of first appearance; one "" where nothing searched
  for (const auto& u : up_runs)
    if (std::find(roots.begin(), roots.end(), u.root) == roots.end()) roots.push_back(u.root);
  for (const auto& r : roots) {
    std::vector<Expanded> sub;
    for (const auto& u : up_runs)
      if (u.root == r) sub.push_back(u);
    out.push_back({match_upstream(down, up, sub, shared, axes, context, file), r});
  }
  return out;
}

// The runs of stage `s` (after `up`, the stage it starts from, or null): one per combination
// of its axes and upstream run; those descending from a search go to sweep.stage_pool.
void expand_stage(Sweep& sweep, const StageSpec& s, const StageSpec* up, const std::string& file,
                  const FlatConfig& base, const std::vector<std::string>& overrides, int world_size,
                  std::map<std::string, std::vector<Expanded>>& expanded, std::set<std::string>& seen) {
  std::vector<size_t> idx(s.axes.size(), 0);
  while (true) {
    FlatConfig flat = base;
    if (s.node["set"] && s.node["set"].IsMap())
      for (auto kv : s.node["set"]) set_flat_key(flat, key_name(kv.first, file, s.prefix + ".set"), kv.second, file);
    const auto axes = apply_combination(flat, s.axes, idx, file);
    for (const auto& o : overrides) apply_override(flat, o);
    refuse_both(s, flat, file);
    const std::string context = run_context(s.axes, idx, file);
    std::vector<std::pair<std::string, std::string>> ups = {{"", ""}};
    if (up) ups = upstreams(s, *up, expanded[up->name], axes, context, file);
    for (const auto& [upstream, root] : ups) {
      FlatConfig f = flat;
      SweepRun run{Config{}, "", axes, s.name, upstream, 0, "", root};
      if (!upstream.empty()) {
        f.erase("model.init_from");
        f["model.init_from"] = ConfigValue{YAML::Node(upstream), Location{file, s.node["init_from"].Mark().line + 1}};
      }
      run.config = resolve_sweep_run(
          f, [&] { return context + " (stage " + s.name + ")"; }, sweep.spec_path, world_size);
      run.run_id = run.config.run_id();
      expanded[s.name].push_back({run.axes, run.run_id, root});
      if (seen.insert(run.run_id).second) (root.empty() ? sweep.runs : sweep.stage_pool).push_back(std::move(run));
    }
    if (!next_combination(idx, s.axes)) break;
  }
}

// The stage that searches (if any): its candidates, checked against its rungs, become the
// sweep's search (runner/sweep/search_rungs.h), decided from the run folders by apply_search.
void set_stage_search(Sweep& sweep, const std::vector<StageSpec>& specs) {
  for (const auto& s : specs) {
    if (!s.search) continue;
    std::vector<SweepRun> candidates;
    for (const auto* r : sweep.stage_runs(s.name)) candidates.push_back(*r);
    check_search_epochs(*s.search, candidates);
    sweep.search = std::make_shared<SearchState>(search_groups(*s.search, std::move(candidates)));
    sweep.search->stage = s.name;
  }
}

// Adaptive seeds belong to the last stage, in a sweep without a search: the rounds give that
// stage's groups their seeds, each with its chain of upstream runs (apply_seed_rounds).
void check_stage_seeds(const std::vector<StageSpec>& specs, const std::string& file) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& s = specs[i];
    if (!s.seeds) continue;
    const std::string at = yaml_where(file, s.node["seeds"]) + ": " + s.prefix + ".seeds: ";
    if (i + 1 != specs.size())
      throw ConfigError(at + "adaptive seeds belong to the last stage of a sweep in stages (stage " +
                        specs.back().name + " comes after this one)");
    for (const auto& b : specs)
      if (b.search)
        throw ConfigError(at + "adaptive seeds beside a search (stage " + b.name +
                          ") are not supported in a sweep in stages yet (docs/sweeps.md)");
  }
}

// The last stage's adaptive seeds: its runs (every seed up to max) become the rounds' runs,
// the earlier stages' runs those the rounds draw their chains from.
void set_stage_seeds(Sweep& sweep, const std::vector<StageSpec>& specs) {
  const auto& last = specs.back();
  if (!last.seeds) return;
  std::vector<SweepRun> runs, earlier;
  for (const auto& r : sweep.runs) (r.stage == last.name ? runs : earlier).push_back(r);
  check_decide_methods(*last.seeds, runs);
  sweep.seeds = std::make_shared<SeedRounds>(seed_groups(*last.seeds, std::move(runs), zipped_with_method(last.axes)));
  sweep.seeds->stage = last.name;
  sweep.seeds->earlier = std::move(earlier);
}

}  // namespace

void expand_stages(Sweep& sweep, const YAML::Node& stages, const std::string& file, const FlatConfig& base,
                   const std::vector<std::string>& overrides, int world_size) {
  if (!stages.IsSequence() || stages.size() == 0)
    throw ConfigError(yaml_where(file, stages) + ": sweep.stages: expected a non-empty list of stages {name, ...}");
  std::vector<StageSpec> specs;
  size_t total = 0;
  for (size_t i = 0; i < stages.size(); ++i) {
    specs.push_back(read_stage(stages[i], i, file, specs));
    total += count_runs(specs.back().axes, yaml_where(file, stages[i]), kMaxSweepRuns);
    if (total > kMaxSweepRuns) count_runs({}, yaml_where(file, stages[i]), 0);  // over the limit: the same error
  }
  check_stage_seeds(specs, file);
  std::map<std::string, std::vector<Expanded>> expanded;
  std::set<std::string> seen;
  for (const auto& s : specs) {
    SweepStage stage{s.name, s.init_from, {}};
    for (const auto& a : s.axes) stage.axis_keys.insert(stage.axis_keys.end(), a.keys.begin(), a.keys.end());
    for (const auto& k : stage.axis_keys)
      if (std::find(sweep.axis_keys.begin(), sweep.axis_keys.end(), k) == sweep.axis_keys.end())
        sweep.axis_keys.push_back(k);
    sweep.stages.push_back(stage);
    const StageSpec* up = nullptr;
    for (const auto& u : specs)
      if (u.name == s.init_from) up = &u;
    expand_stage(sweep, s, up, file, base, overrides, world_size, expanded, seen);
  }
  set_stage_search(sweep, specs);
  set_stage_seeds(sweep, specs);
  const std::string out = sweep.runs.front().config.get_string("output_dir");
  for (const auto* runs : {&sweep.runs, &sweep.stage_pool})
    for (const auto& r : *runs)
      if (r.config.get_string("output_dir") != out)
        r.config.fail("output_dir", "every stage of a sweep writes to one output_dir (" + out + "; stage " + r.stage +
                                        " has " + r.config.get_string("output_dir") +
                                        "): a later stage finds its upstream runs there");
}

}  // namespace aim
