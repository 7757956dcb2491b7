#include "results/comparison.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/config.h"
#include "core/error.h"

namespace aim::results {

namespace {

std::string at(const std::string& path, const YAML::Node& node) {
  return path + ":" + std::to_string(node.Mark().line + 1);
}

[[noreturn]] void bad(const std::string& path, const YAML::Node& node, const std::string& key, const std::string& msg) {
  throw ConfigError(at(path, node) + ": " + key + ": " + msg);
}

std::optional<double> number(const std::string& text) {
  try {
    size_t pos = 0;
    double v = std::stod(text, &pos);
    if (pos == text.size()) return v;
  } catch (...) {
  }
  return std::nullopt;
}

}  // namespace

Reference load_reference(const std::string& path) {
  // The strict reader of config files: one document, each key once at any depth, file:line.
  if (!std::filesystem::exists(path)) throw ConfigError(path + ": cannot read the reference file");
  YAML::Node root = load_yaml_file(path);
  if (!root.IsMap()) throw ConfigError(path + ": expected a map with 'source', 'metrics' and 'rows'");
  for (const auto& kv : root) {
    auto k = kv.first.as<std::string>();
    if (k != "source" && k != "metrics" && k != "rows")
      bad(path, kv.first, k, "unknown key (expected source, metrics, rows)");
  }
  Reference ref;
  if (root["source"]) ref.source = root["source"].as<std::string>();
  auto metrics = root["metrics"];
  if (!metrics || !metrics.IsMap() || metrics.size() == 0)
    throw ConfigError(path + ": metrics: expected a map from the reference's metric names to report columns, e.g. "
                             "{worst-group: test worst-group}");
  std::set<std::string> metric_names;
  for (const auto& kv : metrics) {
    auto name = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) bad(path, kv.second, "metrics." + name, "expected a report column name");
    ref.metrics.emplace_back(name, kv.second.as<std::string>());
    metric_names.insert(name);
  }
  auto rows = root["rows"];
  if (!rows || !rows.IsSequence()) throw ConfigError(path + ": rows: expected a list of {name, match, <metric>: value}");
  for (const auto& node : rows) {
    if (!node.IsMap()) bad(path, node, "rows", "expected a map with name, match and metric values");
    ReferenceRow row;
    row.where = at(path, node);
    for (const auto& kv : node) {
      auto key = kv.first.as<std::string>();
      const auto& v = kv.second;
      if (key == "name") {
        row.name = v.as<std::string>();
      } else if (key == "match") {
        if (!v.IsMap()) bad(path, v, "match", "expected a map of config keys to values, e.g. {method.name: aim}");
        for (const auto& m : v) {
          if (!m.second.IsScalar()) bad(path, m.second, "match." + m.first.as<std::string>(), "expected a single value");
          row.match[m.first.as<std::string>()] = m.second.as<std::string>();
        }
      } else if (metric_names.count(key)) {
        ReferenceValue rv;
        // A value, or [mean, std] where the source gives a spread.
        auto parse = [&](const YAML::Node& n) {
          auto x = n.IsScalar() ? number(n.as<std::string>()) : std::nullopt;
          if (!x) bad(path, n, key, "expected a number (in %) or [mean, std]");
          return *x;
        };
        if (v.IsSequence()) {
          if (v.size() != 2) bad(path, v, key, "expected [mean, std]");
          rv.mean = parse(v[0]);
          rv.std = parse(v[1]);
        } else {
          rv.mean = parse(v);
        }
        row.values[key] = rv;
      } else {
        std::string names;
        for (const auto& m : metric_names) names += " " + m;
        bad(path, kv.first, key, "unknown key (expected name, match or one of the metrics:" + names + ")");
      }
    }
    if (row.name.empty()) bad(path, node, "name", "every row needs a name");
    if (row.match.empty()) bad(path, node, "match", "every row needs a match (which runs it describes)");
    ref.rows.push_back(std::move(row));
  }
  return ref;
}

bool config_value_equals(const std::string& have, const std::string& want) {
  auto a = number(have), b = number(want);
  return a && b ? std::abs(*a - *b) <= 1e-9 * std::max(1.0, std::abs(*b)) : have == want;
}

bool row_matches(const ReferenceRow& row, const std::map<std::string, std::string>& config) {
  for (const auto& [key, want] : row.match) {
    auto it = config.find(key);
    if (it == config.end() || !config_value_equals(it->second, want)) return false;
  }
  return true;
}

}  // namespace aim::results
