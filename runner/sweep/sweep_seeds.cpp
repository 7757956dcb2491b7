#include "runner/sweep/sweep_seeds.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

namespace sweep_seeds {

const std::vector<std::string> kKeys = {"start", "max", "step", "decide", "margin", "alpha", "prior_scale"};

long integer(const YAML::Node& n, const std::string& file, const std::string& key, long lo, long hi) {
  const std::string where = yaml_where(file, n) + ": " + key + ": ";
  if (!n.IsScalar()) throw ConfigError(where + "expected a whole number, got a list or a mapping");
  long v = 0;
  try {
    size_t used = 0;
    v = std::stol(n.Scalar(), &used);
    if (used != n.Scalar().size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw ConfigError(where + "expected a whole number, got '" + n.Scalar() + "'");
  }
  if (v < lo || v > hi)
    throw ConfigError(where + std::to_string(v) + " is out of range (" + std::to_string(lo) + " to " +
                      std::to_string(hi) + ")");
  return v;
}

double real(const YAML::Node& n, const std::string& file, const std::string& key, double lo, double hi, bool open_lo) {
  const std::string where = yaml_where(file, n) + ": " + key + ": ";
  if (!n.IsScalar()) throw ConfigError(where + "expected a number, got a list or a mapping");
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(n.Scalar(), &used);
    if (used != n.Scalar().size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw ConfigError(where + "expected a number, got '" + n.Scalar() + "'");
  }
  if (!std::isfinite(v) || v > hi || v < lo || (open_lo && v == lo))
    throw ConfigError(where + n.Scalar() + " is out of range (" + (open_lo ? "above " : "") + format_double(lo) +
                      " to " + format_double(hi) + ")");
  return v;
}

// The metrics the report computes per run (results/run_groups.cpp, run_metrics).
bool known_metric(const std::string& m) {
  static const std::regex forms(
      R"(^((test|val|ood) (acc|worst-group)|EPG [A-Za-z0-9_]+( worst-group)?|mask area( stage [0-9]+)?|target stage [0-9]+)$)");
  return std::regex_match(m, forms);
}

DecideSpec decide_entry(const YAML::Node& n, const std::string& file, const std::string& path) {
  const std::string where = yaml_where(file, n);
  const std::string form = "expected \"METHOD - BASELINE: METRIC\", e.g. \"aim - vanilla: test worst-group\"";
  if (!n.IsScalar()) throw ConfigError(where + ": " + path + ".decide: " + form + ", got a list or a mapping");
  static const std::regex entry(R"(^\s*([A-Za-z0-9_.]+)\s*(?:-|\xE2\x88\x92)\s*([A-Za-z0-9_.]+)\s*:\s*(.*\S)\s*$)");
  std::smatch m;
  const std::string text = n.Scalar();
  if (!std::regex_match(text, m, entry)) throw ConfigError(where + ": " + path + ".decide: '" + text + "': " + form);
  DecideSpec d{text, m[1], m[2], m[3], where};
  if (d.method == d.baseline)
    throw ConfigError(where + ": " + path + ".decide: '" + text + "': a method compared with itself");
  if (!known_metric(d.metric))
    throw ConfigError(where + ": " + path + ".decide: '" + text + "': unknown metric '" + d.metric +
                      "' (expected test|val|ood acc, test|val|ood worst-group, EPG <attribution>[ worst-group], mask "
                      "area[ stage N], target stage N)");
  return d;
}

}  // namespace sweep_seeds

SeedsSpec read_seeds(const YAML::Node& node, const std::string& file, const std::string& path) {
  using namespace sweep_seeds;
  SeedsSpec s;
  s.where = yaml_where(file, node);
  s.path = path;
  if (!node.IsMap())
    throw ConfigError(s.where + ": " + path + ": expected a mapping {start, max, step, decide, margin}");
  for (auto it : node) {
    auto key = key_name(it.first, file, path);
    if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) continue;
    const std::string hint = closest_match(key, kKeys);
    throw ConfigError(yaml_where(file, it.first) + ": " + path + "." + key + ": unknown key" +
                      (hint.empty() ? " (expected " + join(kKeys, ", ") + ")" : " (did you mean '" + hint + "'?)"));
  }
  if (!node["start"] || !node["max"] || !node["decide"])
    throw ConfigError(s.where + ": " + path + ": start, max and decide are required");
  s.start = size_t(integer(node["start"], file, path + ".start", 2, 1000));
  s.max = size_t(integer(node["max"], file, path + ".max", 2, 1000));
  if (s.max < s.start)
    throw ConfigError(yaml_where(file, node["max"]) + ": " + path + ".max: " + std::to_string(s.max) +
                      " is below start (" + std::to_string(s.start) + ")");
  if (node["step"]) s.step = size_t(integer(node["step"], file, path + ".step", 1, 1000));
  if (node["margin"]) s.margin = real(node["margin"], file, path + ".margin", 0, 100, false);
  if (node["alpha"]) s.alpha = real(node["alpha"], file, path + ".alpha", 0, 0.5, true);
  if (node["prior_scale"]) s.prior_scale = real(node["prior_scale"], file, path + ".prior_scale", 0, 1000, true);
  const YAML::Node& d = node["decide"];
  if (!d.IsSequence() || d.size() == 0)
    throw ConfigError(yaml_where(file, d) + ": " + path + ".decide: expected a list of \"METHOD - BASELINE: METRIC\"");
  std::set<std::string> seen;
  for (const auto& e : d) {
    s.decide.push_back(decide_entry(e, file, path));
    const auto& last = s.decide.back();
    if (!seen.insert(last.method + "\n" + last.baseline + "\n" + last.metric).second)
      throw ConfigError(last.where + ": " + path + ".decide: '" + last.text + "' is listed twice");
  }
  return s;
}

Axis seed_axis(const SeedsSpec& spec, const YAML::Node& seeds_node, const std::vector<Axis>& axes,
               const std::string& file) {
  for (const auto& a : axes)
    for (size_t k = 0; k < a.keys.size(); ++k)
      if (a.keys[k] == "seed")
        throw ConfigError(yaml_where(file, a.values.front()[k]) + ": sweep: a seed axis beside " + spec.path + " (" +
                          yaml_where(file, seeds_node) + "), which gives the seeds (0.." +
                          std::to_string(spec.max - 1) + "): remove the axis");
  Axis axis;
  axis.keys = {"seed"};
  for (size_t i = 0; i < spec.max; ++i) {
    YAML::Node v = YAML::Clone(seeds_node["max"]);  // keeps the line of sweep.seeds.max for errors
    v = std::to_string(i);
    axis.values.push_back({v});
  }
  return axis;
}

std::vector<std::string> zipped_with_method(const std::vector<Axis>& axes) {
  auto is_method = [](const std::string& k) { return k == "method" || starts_with(k, "method."); };
  std::vector<std::string> out;
  for (const auto& a : axes)
    if (std::any_of(a.keys.begin(), a.keys.end(), is_method))
      for (const auto& k : a.keys)
        if (!is_method(k)) out.push_back(k);
  return out;
}

void check_decide_methods(const SeedsSpec& spec, const std::vector<SweepRun>& runs) {
  std::set<std::string> methods;
  for (const auto& r : runs) methods.insert(r.config.get_string("method.name"));
  for (const auto& d : spec.decide)
    for (const auto& m : {d.method, d.baseline})
      if (!methods.count(m)) {
        const std::string hint = closest_match(m, {methods.begin(), methods.end()});
        throw ConfigError(d.where + ": " + spec.path + ".decide: '" + d.text + "': no run of the sweep has method '" +
                          m + "' (the sweep's methods: " + join({methods.begin(), methods.end()}, ", ") + ")" +
                          (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
      }
}

}  // namespace aim
