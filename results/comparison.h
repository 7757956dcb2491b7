#pragma once
// Reference numbers to put beside a report (e.g. experiments/paper_numbers.yaml, the AIM
// paper's tables): which report column each reference metric is, and rows that say which
// runs they describe by config values.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aim::results {

struct ReferenceValue {
  double mean = 0;
  std::optional<double> std;  // when the source gives one
};

struct ReferenceRow {
  std::string name;                           // e.g. "Waterbirds-100%, ConvNeXt-T + AIM[2,25%]"
  std::map<std::string, std::string> match;   // config key -> value, all must hold
  std::map<std::string, ReferenceValue> values;  // reference metric -> value (in %)
  std::string where;                          // file:line, for messages
};

struct Reference {
  std::string source;                                 // where the numbers come from
  std::vector<std::pair<std::string, std::string>> metrics;  // reference metric -> report column
  std::vector<ReferenceRow> rows;
};

// Throws aim::ConfigError naming file, line and key when the file is not of this form.
Reference load_reference(const std::string& path);

// A config value equals a wanted one: numbers compared as numbers (1 == 1.0), other text
// exactly (--where, reference rows).
bool config_value_equals(const std::string& have, const std::string& want);

// True when every `match` entry equals the config's value (numbers compared as numbers, so
// 1 == 1.0). `config`: the values the runs of a report row agree on.
bool row_matches(const ReferenceRow& row, const std::map<std::string, std::string>& config);

}  // namespace aim::results
