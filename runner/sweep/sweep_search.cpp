#include "runner/sweep/sweep_search.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

std::vector<std::string> SearchSpec::axis_keys() const {
  std::vector<std::string> out;
  for (const auto& a : axes) out.insert(out.end(), a.keys.begin(), a.keys.end());
  return out;
}

std::string range_value(double low, double high, bool log, double u) {
  const double v = log ? std::exp(std::log(low) + u * (std::log(high) - std::log(low))) : low + u * (high - low);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

namespace sweep_search {

const std::vector<std::string> kKeys = {"axes", "rungs", "eta", "metric", "seed"};
const std::vector<std::string> kRangeKeys = {"low", "high", "samples", "log"};

// "<file>:<line>: <path>.<key>: ", path being sweep.search or sweep.stages[<name>].search.
std::string where_of(const std::string& file, const YAML::Node& n, const std::string& path, const std::string& key) {
  return yaml_where(file, n) + ": " + path + "." + key + ": ";
}

double number(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) throw ConfigError(where + "expected a number, got a list or a mapping");
  try {
    size_t used = 0;
    const double v = std::stod(n.Scalar(), &used);
    if (used != n.Scalar().size() || !std::isfinite(v)) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw ConfigError(where + "expected a number, got '" + n.Scalar() + "'");
  }
}

long whole(const YAML::Node& n, const std::string& where, long lo, long hi) {
  const double v = number(n, where);
  if (v != std::floor(v)) throw ConfigError(where + "expected a whole number, got '" + n.Scalar() + "'");
  if (v < double(lo) || v > double(hi))
    throw ConfigError(where + n.Scalar() + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) +
                      ")");
  return long(v);
}

// The `samples` values of a range, drawn from mt19937_64(seed mixed with the axis's index):
// the generator's output is fixed by the C++ standard, and the mapping to [0, 1) is ours, so
// the values are the same with every compiler and library.
Axis range_axis(const std::string& key, const YAML::Node& r, const std::string& file, const std::string& path,
                uint64_t seed, size_t index) {
  const std::string w = where_of(file, r, path, "axes." + key);
  for (auto it : r) {
    const auto k = key_name(it.first, file, path + ".axes." + key);
    if (std::find(kRangeKeys.begin(), kRangeKeys.end(), k) == kRangeKeys.end()) {
      const std::string hint = closest_match(k, kRangeKeys);
      throw ConfigError(where_of(file, it.first, path, "axes." + key + "." + k) + "unknown key in a range" +
                        (hint.empty() ? " (expected low, high, samples, log)" : " (did you mean '" + hint + "'?)"));
    }
  }
  if (!r["low"] || !r["high"] || !r["samples"])
    throw ConfigError(w + "a range needs low, high and samples ({low: 1.0e-4, high: 1.0e-1, samples: 4, log: true})");
  const double low = number(r["low"], where_of(file, r["low"], path, "axes." + key + ".low"));
  const double high = number(r["high"], where_of(file, r["high"], path, "axes." + key + ".high"));
  const long samples = whole(r["samples"], where_of(file, r["samples"], path, "axes." + key + ".samples"), 1, 1000);
  bool log = false;
  if (r["log"]) {
    const auto& l = r["log"];
    if (!l.IsScalar() || (l.Scalar() != "true" && l.Scalar() != "false"))
      throw ConfigError(where_of(file, l, path, "axes." + key + ".log") + "expected true or false");
    log = l.Scalar() == "true";
  }
  if (!(low < high))
    throw ConfigError(w + "low (" + r["low"].Scalar() + ") must be below high (" + r["high"].Scalar() + ")");
  if (log && low <= 0) throw ConfigError(w + "a log range needs low above 0, got " + r["low"].Scalar());
  std::mt19937_64 gen(seed * 0x9E3779B97F4A7C15ull + index + 1);
  std::set<std::string> seen;
  Axis axis{{key}, {}};
  for (long i = 0; i < samples; ++i) {
    const double u = double(gen() >> 11) * 0x1.0p-53;
    const std::string text = range_value(low, high, log, u);
    if (!seen.insert(text).second) continue;   // the same value twice (4 digits) is one candidate
    YAML::Node v = YAML::Clone(r["samples"]);  // keeps the line of the range for errors
    v = text;
    axis.values.push_back({v});
  }
  return axis;
}

std::vector<Axis> read_search_axes(const YAML::Node& node, const std::string& file, const std::string& path,
                                   uint64_t seed, const std::vector<Axis>& grid_axes) {
  if (!node.IsMap() || node.size() == 0)
    throw ConfigError(where_of(file, node, path, "axes") +
                      "expected a mapping of key: [values] or key: {low, high, samples, log}");
  std::vector<Axis> axes;
  for (auto it : node) {
    const auto key = key_name(it.first, file, path + ".axes");
    for (const auto& g : grid_axes)
      if (std::find(g.keys.begin(), g.keys.end(), key) != g.keys.end())
        throw ConfigError(where_of(file, it.first, path, "axes." + key) +
                          "searched and an axis of the grid too: a key is either searched or swept");
    const auto& v = it.second;
    if (v.IsSequence() && v.size() > 0) {
      Axis axis{{key}, {}};
      for (auto x : v) axis.values.push_back({x});
      axes.push_back(axis);
    } else if (v.IsMap()) {
      axes.push_back(range_axis(key, v, file, path, seed, axes.size()));
    } else {
      throw ConfigError(where_of(file, it.first, path, "axes." + key) +
                        "expected a non-empty list of values or a range {low, high, samples, log}, got " +
                        (v.IsSequence() ? std::string("an empty list") : "'" + (v.IsScalar() ? v.Scalar() : "") + "'"));
    }
  }
  return axes;
}

std::vector<int64_t> read_rungs(const YAML::Node& n, const std::string& file, const std::string& path) {
  const std::string w = where_of(file, n, path, "rungs");
  if (!n.IsSequence() || n.size() == 0)
    throw ConfigError(w + "expected a list of epochs, increasing (e.g. [2, 6, 18]; the last is train.epochs)");
  std::vector<int64_t> rungs;
  for (const auto& r : n) {
    rungs.push_back(whole(r, where_of(file, r, path, "rungs"), 1, 1000000));
    if (rungs.size() > 1 && rungs.back() <= rungs[rungs.size() - 2])
      throw ConfigError(where_of(file, r, path, "rungs") + "the rungs must increase: " + std::to_string(rungs.back()) +
                        " after " + std::to_string(rungs[rungs.size() - 2]));
  }
  return rungs;
}

std::string read_metric(const YAML::Node& n, const std::string& file, const std::string& path) {
  const std::string w = where_of(file, n, path, "metric");
  if (!n.IsScalar()) throw ConfigError(w + "expected val acc or val worst-group");
  const std::string m = n.Scalar();
  if (m == "val acc" || m == "val worst-group") return m;
  if (starts_with(m, "test") || starts_with(m, "ood"))
    throw ConfigError(w + "'" + m + "' is a metric of held-out data: a search selects on the validation split only " +
                      "(val acc or val worst-group)");
  const std::string hint = closest_match(m, {"val acc", "val worst-group"});
  throw ConfigError(w + "unknown metric '" + m + "' (expected val acc or val worst-group" +
                    (hint.empty() ? ")" : "; did you mean '" + hint + "'?)"));
}

}  // namespace sweep_search

SearchSpec read_search(const YAML::Node& node, const std::string& file, const std::vector<Axis>& grid_axes,
                       const std::string& path) {
  using namespace sweep_search;
  SearchSpec s;
  s.where = yaml_where(file, node);
  s.path = path;
  if (!node.IsMap()) throw ConfigError(s.where + ": " + path + ": expected a mapping {axes, rungs, eta, metric, seed}");
  for (auto it : node) {
    const auto key = key_name(it.first, file, path);
    if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) continue;
    const std::string hint = closest_match(key, kKeys);
    throw ConfigError(yaml_where(file, it.first) + ": " + path + "." + key + ": unknown key" +
                      (hint.empty() ? " (expected " + join(kKeys, ", ") + ")" : " (did you mean '" + hint + "'?)"));
  }
  if (!node["axes"] || !node["rungs"]) throw ConfigError(s.where + ": " + path + ": axes and rungs are required");
  if (node["seed"]) s.seed = uint64_t(whole(node["seed"], where_of(file, node["seed"], path, "seed"), 0, 1L << 40));
  if (node["eta"]) s.eta = size_t(whole(node["eta"], where_of(file, node["eta"], path, "eta"), 2, 1000));
  if (node["metric"]) s.metric = read_metric(node["metric"], file, path);
  s.rungs = read_rungs(node["rungs"], file, path);
  s.rungs_where = yaml_where(file, node["rungs"]);
  s.axes = read_search_axes(node["axes"], file, path, s.seed, grid_axes);
  return s;
}

void check_search_epochs(const SearchSpec& spec, const std::vector<SweepRun>& runs) {
  const int64_t last = spec.rungs.back();
  for (const auto& r : runs) {
    const int64_t epochs = r.config.get_int("train.epochs");
    if (epochs == last) continue;
    std::vector<std::string> axes;
    for (const auto& [k, v] : r.axes) axes.push_back(k + "=" + v);
    throw ConfigError(
        spec.rungs_where + ": " + spec.path + ".rungs: " +
        (last > epochs
             ? "the rung " + std::to_string(last) + " is beyond train.epochs (" + std::to_string(epochs) + ")"
             : "the last rung (" + std::to_string(last) + ") must be train.epochs (" + std::to_string(epochs) + ")") +
        " of the run with " + join(axes, ", ") +
        ": every candidate is one run whose learning-rate schedule ends at the last rung (set "
        "train.epochs to it)");
  }
}

}  // namespace aim
