#include "results/run_groups.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "results/comparison.h"

namespace aim::results {

namespace {

std::map<std::string, std::string> flat_yaml(const std::string& text) {
  std::map<std::string, std::string> out;
  FlatConfig flat;
  YAML::Node root = YAML::Load(text);
  if (root.IsMap()) flatten_into(flat, "", root, "");
  for (const auto& [k, v] : flat) out[k] = yaml_flow_text(v.value);
  return out;
}

const SplitResult* find_split(const RunRecord& r, const std::string& name) {
  for (const auto& s : r.splits)
    if (s.split == name) return &s;
  return nullptr;
}

int method_rank(const std::string& m) {
  static const std::vector<std::string> order = {"vanilla", "bottom_up", "aim"};
  auto it = std::find(order.begin(), order.end(), m);
  return it == order.end() ? int(order.size()) : int(it - order.begin());
}

// Display order of the metric columns: accuracies, EPG (each attribution beside its worst
// group), mask areas (each stage beside its target).
std::pair<int, std::string> metric_order(const std::string& m) {
  static const std::vector<std::string> order = {"test acc",        "test worst-group", "val acc",
                                                 "val worst-group", "ood acc",          "ood worst-group"};
  auto it = std::find(order.begin(), order.end(), m);
  if (it != order.end()) return {int(it - order.begin()), ""};
  if (starts_with(m, "EPG ")) return {10, m};
  if (m == "mask area") return {20, ""};
  if (starts_with(m, "mask area stage ")) return {21, m.substr(16) + " a"};
  if (starts_with(m, "target stage ")) return {21, m.substr(13) + " b"};
  return {30, m};
}

}  // namespace

std::vector<std::pair<std::string, double>> run_metrics(const RunRecord& rec) {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string split : {"test", "val", "ood"}) {  // ood: the built-in dataset's shifted places
    const SplitResult* s = find_split(rec, split);
    if (!s) continue;
    out.emplace_back(split + " acc", s->accuracy);
    if (!s->group_names.empty()) out.emplace_back(split + " worst-group", s->worst_group_accuracy);
  }
  const SplitResult* main = find_split(rec, "test");
  if (!main && !rec.splits.empty()) main = &rec.splits.front();
  if (!main) return out;
  // EPG of each attribution method (the merged mask, not each stage's), its worst group,
  // the test-time mask area (merged and per stage).
  for (const auto& [k, v] : main->scalars) {
    if (k == "mask_area")
      out.emplace_back("mask area", v);
    else if (starts_with(k, "mask_area_stage_"))
      out.emplace_back("mask area stage " + k.substr(16), v);
    else if (starts_with(k, "worst_group_epg_") && !starts_with(k, "worst_group_epg_mask_stage"))
      out.emplace_back("EPG " + k.substr(16) + " worst-group", v);
    else if (starts_with(k, "epg_") && !starts_with(k, "epg_mask_stage"))
      out.emplace_back("EPG " + k.substr(4), v);
  }
  // The area target each masked stage was trained towards (its last value).
  for (const auto& m : rec.mask_curves)
    if (!m.target.empty()) out.emplace_back("target stage " + std::to_string(m.stage), m.target.back());
  return out;
}

namespace {

// Fine-tuned runs start from one upstream run each (model.init_from: its run id), one per
// seed in a staged sweep. For grouping, an upstream that is among the runs found and has the
// same seed stands for its identity without the seed (recursively, for longer chains), so
// that the runs fine-tuned from one pretraining setting form one row over seeds, paired by
// seed, instead of one row per upstream run. The row shows the upstream ids (first six
// characters of each). An upstream not found keeps its id: such runs are not pooled.
constexpr const char* kInitFrom = "model.init_from";

class UpstreamPooling {
 public:
  using Identity = std::map<std::string, std::string>;
  // identities: every complete run's identity by run id (before any --where filter).
  UpstreamPooling(std::vector<Identity>& configs, std::map<std::string, Identity> identities)
      : identities_(std::move(identities)) {
    std::vector<std::string> pooled(configs.size());
    for (size_t i = 0; i < configs.size(); ++i) pooled[i] = pooled_upstream(configs[i], 0);
    for (size_t i = 0; i < configs.size(); ++i)
      if (!pooled[i].empty()) configs[i][kInitFrom] = pooled[i];
  }
  // The text a pooled value shows: its upstream runs.
  std::string label(const std::string& value) const {
    auto it = upstreams_.find(value);
    if (it == upstreams_.end()) return value;
    std::string out;
    for (const auto& id : it->second) out += (out.empty() ? "" : ",") + id.substr(0, 6);
    return out;
  }

 private:
  // "" when the run's upstream is not pooled; else the pooled value (and its id recorded).
  std::string pooled_upstream(const Identity& run, int depth) {
    auto up = run.find(kInitFrom);
    if (up == run.end() || depth > 16) return "";
    auto u = identities_.find(up->second);
    if (u == identities_.end() || seed(u->second) != seed(run)) return "";
    std::string canon = "upstream{";
    for (const auto& [k, v] : u->second) {
      if (k == "seed") continue;
      std::string value = k == kInitFrom ? pooled_upstream(u->second, depth + 1) : "";
      canon += k + "=" + (value.empty() ? v : value) + ";";
    }
    canon += "}";
    upstreams_[canon].insert(up->second);
    return canon;
  }
  static std::string seed(const Identity& run) {
    auto it = run.find("seed");
    return it == run.end() ? "" : it->second;
  }
  std::map<std::string, Identity> identities_;
  std::map<std::string, std::set<std::string>> upstreams_;
};

[[noreturn]] void unknown_key(const std::string& option, const std::string& key, const std::set<std::string>& known) {
  std::vector<std::string> keys(known.begin(), known.end());
  auto near = closest_match(key, keys);
  throw ConfigError(option + " " + key + ": no complete run has this config key" +
                    (near.empty() ? "" : " (did you mean " + near + "?)"));
}

}  // namespace

int Grouping::method_index() const {
  auto it = std::find(keys.begin(), keys.end(), "method.name");
  return it == keys.end() ? -1 : int(it - keys.begin());
}

std::pair<std::string, std::string> parse_where(const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--where " + arg + ": expected key=value, e.g. --where method.name=aim");
  return {trim(arg.substr(0, eq)), trim(arg.substr(eq + 1))};
}

namespace {

using FlatIdentity = std::map<std::string, std::string>;

// The done runs --where keeps, each with its identity (plus the --group-by keys outside it),
// and every complete run's identity by id and every config key seen (for the option checks).
struct KeptRuns {
  std::vector<FlatIdentity> configs;               // identity (grouping), one per out.done
  std::set<std::string> all_config_keys;           // full configs (filters)
  std::map<std::string, FlatIdentity> identities;  // every complete run's, by id
};

KeptRuns keep_runs(const std::vector<FoundRun>& runs, const std::vector<std::pair<std::string, std::string>>& where,
                   const std::vector<std::string>& group_by, Grouping& out) {
  KeptRuns kept;
  for (const auto& r : runs) {
    if (r.state != "done") continue;
    FlatIdentity identity, full;
    try {
      auto it = r.record.text.find("identity_yaml");
      identity = flat_yaml(it != r.record.text.end() ? it->second : r.record.config_yaml);
    } catch (const std::exception& e) {
      out.unusable.push_back("unreadable: " + r.path + " (identity_yaml: " + e.what() + ")");
      continue;
    }
    try {  // the resolved config, for filters only: its keys are also in /config (record.config)
      full = flat_yaml(r.record.config_yaml);
    } catch (const std::exception&) {
    }
    for (const auto& [k, v] : identity) full.emplace(k, v);
    for (const auto& [k, v] : r.record.config) full.emplace(k, v);
    for (const auto& [k, v] : full) kept.all_config_keys.insert(k);
    kept.identities.emplace(r.record.run_id, identity);
    bool keep = true;
    for (const auto& [k, want] : where) {
      auto have = full.find(k);
      keep = keep && have != full.end() && config_value_equals(have->second, want);
    }
    if (!keep) continue;
    // Group by identity; a --group-by key outside the identity comes from the full config.
    for (const auto& k : group_by)
      if (full.count(k)) identity.emplace(k, full.at(k));
    kept.configs.push_back(std::move(identity));
    out.done.push_back(&r);
  }
  return kept;
}

// The row keys: --group-by's, or the dataset, method and backbone and every key that varies.
std::vector<std::string> grouping_keys(const std::vector<FlatIdentity>& configs,
                                       const std::vector<std::string>& group_by,
                                       const std::vector<std::string>& ungrouped) {
  if (!group_by.empty()) return group_by;
  std::vector<std::string> keys = {"dataset.name", "method.name", "model.backbone"};
  std::set<std::string> all_keys;
  for (const auto& c : configs)
    for (const auto& [k, v] : c) all_keys.insert(k);
  for (const auto& k : all_keys) {
    if (k == "seed" || std::find(keys.begin(), keys.begin() + 3, k) != keys.begin() + 3 ||
        std::find(ungrouped.begin(), ungrouped.end(), k) != ungrouped.end())
      continue;
    // A key varies when the runs that have it disagree (a masking setting absent from a
    // vanilla run's identity does not make it vary).
    std::set<std::string> values;
    for (const auto& c : configs)
      if (c.count(k)) values.insert(c.at(k));
    if (values.size() > 1) keys.push_back(k);
  }
  return keys;
}

// One run into its row: the keys all its runs share, its metrics by seed, how it explains
// and which epoch it selected.
void add_to_group(RunGroup& g, const FlatIdentity& config, const FoundRun* run, std::vector<std::string>& metrics) {
  if (g.runs.empty()) {
    g.common = config;
  } else {
    for (auto it = g.common.begin(); it != g.common.end();)
      it = config.count(it->first) && config.at(it->first) == it->second ? std::next(it) : g.common.erase(it);
  }
  const auto& rec = run->record;
  g.runs.push_back(run);
  std::string seed = config.count("seed") ? config.at("seed") : "";
  for (const auto& [name, v] : run_metrics(rec)) {
    if (std::find(metrics.begin(), metrics.end(), name) == metrics.end()) metrics.push_back(name);
    if (std::isfinite(v)) g.values[name].push_back({seed, v});
  }
  auto text = [&](const char* k, const char* absent) {
    auto it = rec.text.find(k);
    return it == rec.text.end() ? std::string(absent) : it->second;
  };
  g.explain[text("explain", "predicted")]++;
  if (rec.text.count("select")) {
    auto e = rec.numbers.find("selected_epoch");
    g.select[rec.text.at("select")].push_back(e == rec.numbers.end() ? NAN : e->second);
  }
}

}  // namespace

Grouping group_runs(const std::vector<FoundRun>& runs, const std::vector<std::pair<std::string, std::string>>& where,
                    const std::vector<std::string>& group_by, const std::vector<std::string>& ungrouped) {
  Grouping out;
  KeptRuns kept = keep_runs(runs, where, group_by, out);
  auto& configs = kept.configs;
  const auto& all_config_keys = kept.all_config_keys;
  UpstreamPooling pooling(configs, std::move(kept.identities));
  for (const auto& [k, v] : where)
    if (!all_config_keys.empty() && !all_config_keys.count(k)) unknown_key("--where", k, all_config_keys);
  for (const auto& k : group_by)
    if (!all_config_keys.empty() && !all_config_keys.count(k)) unknown_key("--group-by", k, all_config_keys);
  out.keys = grouping_keys(configs, group_by, ungrouped);

  std::map<std::vector<std::string>, RunGroup> groups;
  for (size_t i = 0; i < out.done.size(); ++i) {
    std::vector<std::string> key;
    for (const auto& k : out.keys) key.push_back(configs[i].count(k) ? configs[i].at(k) : "");
    auto& g = groups[key];
    g.key = key;
    add_to_group(g, configs[i], out.done[i], out.metrics);
  }
  std::stable_sort(out.metrics.begin(), out.metrics.end(),
                   [](const std::string& a, const std::string& b) { return metric_order(a) < metric_order(b); });
  for (auto& [k, g] : groups) {
    for (size_t i = 0; i < out.keys.size(); ++i)
      if (out.keys[i] == kInitFrom) g.key[i] = pooling.label(g.key[i]);
    if (g.common.count(kInitFrom)) g.common[kInitFrom] = pooling.label(g.common[kInitFrom]);
    out.groups.push_back(std::move(g));
  }
  // Rows: by every key but the method in order, then the method (vanilla, bottom-up, AIM).
  int mi = out.method_index();
  std::stable_sort(out.groups.begin(), out.groups.end(), [mi](const RunGroup& a, const RunGroup& b) {
    for (size_t i = 0; i < a.key.size(); ++i)
      if (int(i) != mi && a.key[i] != b.key[i]) return a.key[i] < b.key[i];
    if (mi < 0) return false;
    if (method_rank(a.key[mi]) != method_rank(b.key[mi])) return method_rank(a.key[mi]) < method_rank(b.key[mi]);
    return a.key[mi] < b.key[mi];
  });
  return out;
}

}  // namespace aim::results
