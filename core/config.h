#pragma once
// The run configuration: YAML files (with includes) and key=value overrides, flattened to
// dotted keys, validated against a schema (type, range, choices, unknown keys with a
// suggestion), defaults filled in. Every error names the file, the line and the key.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aim {

struct Location {
  std::string file;  // "" for a schema default
  int line = 0;      // 1-based, 0 when the source has no lines (command line)
  std::string str() const;
};

enum class ValueType { Bool, Int, Float, String, IntList, FloatList, StringList };
std::string to_string(ValueType type);

struct KeySpec {
  KeySpec(std::string key, ValueType type, std::string default_yaml, std::string help)
      : key(std::move(key)), type(type), default_yaml(std::move(default_yaml)), help(std::move(help)) {}
  KeySpec& one_of(std::vector<std::string> allowed) { choices = std::move(allowed); return *this; }
  KeySpec& range(std::optional<double> lo, std::optional<double> hi) { min = lo; max = hi; return *this; }
  KeySpec& at_least(double lo) { min = lo; return *this; }
  KeySpec& at_most(double hi) { max = hi; return *this; }
  // Exclusive bounds: above(0) for a learning rate or a standard deviation.
  KeySpec& above(double lo) { min = lo; min_open = true; return *this; }
  KeySpec& below(double hi) { max = hi; max_open = true; return *this; }
  // Lists: exactly n elements; ascending: each element at least the one before ([min, max] pairs).
  KeySpec& length(size_t n) { list_length = n; return *this; }
  KeySpec& ascending() { sorted = true; return *this; }
  // Output paths, threads, logging: changing them must not change the run's identity.
  KeySpec& not_identity() { identity = false; return *this; }
  // A path that must exist when set (checked when the config is resolved, before anything runs).
  KeySpec& existing_path() { must_exist = true; return *this; }
  // A name that becomes a folder or a job name (name_problem() in core/strings.h).
  KeySpec& file_name() { text = Text::Name; return *this; }
  // A path: anything but a newline or NUL (paths go into run lists and scripts, one per
  // line). existing_path() keys are paths too.
  KeySpec& path() { text = Text::Path; return *this; }
  // A folder aimrun writes below, up to `bytes` deeper (<output_dir>/runs/<id>/...): the
  // path with them must fit PATH_MAX, checked when the config is resolved. A path().
  KeySpec& writes_below(size_t bytes) {
    text = Text::Path;
    path_below = bytes;
    return *this;
  }
  // A key that only matters when `selector` has one of `values` (e.g. method.target only
  // for masking methods): otherwise it is left out of the run identity, so a vanilla run is
  // the same run whatever the masking settings of the sweep it appears in.
  KeySpec& only_when(std::string selector, std::vector<std::string> values) {
    when_key = std::move(selector);
    when_values = std::move(values);
    return *this;
  }

  std::string key;  // dotted: "train.epochs"
  ValueType type = ValueType::String;
  std::string default_yaml = "~";  // YAML text of the default; "~" = none (the key may be null)
  std::string help;
  std::vector<std::string> choices;  // allowed strings, empty = any
  std::optional<double> min;         // inclusive bounds for numbers (each list element)
  std::optional<double> max;
  bool min_open = false, max_open = false;  // the bound itself is outside the domain
  std::optional<size_t> list_length;
  bool sorted = false;
  bool nullable = false;  // may be ~ (null); implied when the default is ~
  bool identity = true;   // part of the run identity
  bool must_exist = false;
  enum class Text { Any, Name, Path };
  Text text = Text::Any;  // see file_name(), path()
  size_t path_below = 0;  // see writes_below()
  std::string when_key;   // see only_when()
  std::vector<std::string> when_values;
  // Keys that registry entries declare (runner/registry_keys.h): the selector
  // ("dataset.name", "model.backbone", "method.name") and the entries that read the key.
  std::string entry_key;
  std::vector<std::string> entries;
};

// The values a key accepts beyond its type, e.g. "in (0, inf)", "3 values in (0, inf)",
// "2 values in (0, 1), ascending"; "" when any value of the type will do.
std::string domain_text(const KeySpec& spec);

struct ConfigValue {
  YAML::Node value;
  Location where;
};

class Schema {
 public:
  Schema& add(KeySpec spec);
  const KeySpec* find(const std::string& key) const;
  bool is_section(const std::string& prefix) const;  // some key lies below prefix
  std::vector<std::string> keys() const;
  const std::vector<KeySpec>& specs() const { return specs_; }
  // Each key's position in specs(), in key order (how a resolved config is stored and written).
  const std::map<std::string, size_t>& in_key_order() const { return index_; }
  // The canonical value of specs()[i]'s default, made once when the key is added (nullptr
  // when the default is not a valid value: resolving then reports it). Shared, never written.
  const ConfigValue* default_value(size_t i) const { return defaults_[i] ? &*defaults_[i] : nullptr; }

 private:
  std::vector<KeySpec> specs_;
  std::map<std::string, size_t> index_;
  std::vector<std::optional<ConfigValue>> defaults_;
};
using FlatConfig = std::map<std::string, ConfigValue>;

struct LoadedFile {
  FlatConfig values;
  // Top-level sections kept as YAML (e.g. "sweep"), with where they start.
  std::map<std::string, std::pair<YAML::Node, Location>> sections;
};

// Limits on what loading one config (a file with its includes) may cost: every YAML node
// is counted as often as aliases repeat it, so an alias bomb ("billion laughs") is an error
// instead of gigabytes. docs/config-reference.md states them.
constexpr size_t kMaxConfigNodes = 100000;     // nodes of all files of one load, aliases expanded
constexpr size_t kMaxConfigDepth = 64;         // nesting levels
constexpr size_t kMaxConfigFiles = 64;         // files read for one load (includes included)
constexpr uintmax_t kMaxConfigFileBytes = 16u << 20;

// One YAML file read strictly (a config file, each of its includes, a Slurm profile): a
// regular file of at most kMaxConfigFileBytes holding one document (a second `---` is an
// error: it would be ignored), aliases expanding to at most `node_budget` nodes (which it
// decreases), every key a plain name and set once in its mapping at any depth, a dotted key
// and its nested form counting as one (`train.epochs: 2` and `train: {epochs: 7}`). Null for
// an empty file. Every error is a ConfigError naming file:line.
YAML::Node load_yaml_file(const std::string& path, size_t& node_budget);
YAML::Node load_yaml_file(const std::string& path);
// The key checks of load_yaml_file() for a node read otherwise (below `prefix` in errors).
void check_unique_keys(const YAML::Node& node, const std::string& file, const std::string& prefix = "");

// Why the system would refuse `path` with ENAMETOOLONG ("" when it would not): a component
// over NAME_MAX bytes, or the path made absolute, with `below` bytes aimrun writes under
// it, over PATH_MAX. Checked for every path key (KeySpec::path(), writes_below()) and path
// options; it used to surface as a raw filesystem error about a file below the path.
std::string path_length_problem(const std::string& path, size_t below = 0);

// Reads a YAML file and, first, the files its `include:` names (relative to it; later
// files override earlier ones, the including file overrides them all).
LoadedFile load_config_file(const std::string& path,
                            const std::vector<std::string>& section_names = {});

// Throws ConfigError "file:line: YAML aliases expand to more than N nodes" (or nesting too
// deep) once `node`, aliases expanded, has used up `budget` (which it decreases).
void check_yaml_size(const YAML::Node& node, const std::string& file, size_t& budget);
// A mapping key as a plain name; a key that is a list or a mapping (`? [a, b]`) is a
// ConfigError naming file:line.
std::string key_name(const YAML::Node& key, const std::string& file, const std::string& prefix);

// Flattens `node` below `prefix` into `flat` ("" prefix: the root). Sequences are leaves.
void flatten_into(FlatConfig& flat, const std::string& prefix, const YAML::Node& node,
                  const std::string& file);

// Applies "key=value" (value parsed as YAML: 0.1, [1,2], {name: aim}).
void apply_override(FlatConfig& flat, const std::string& assignment,
                    const std::string& origin = "command line");

class Config {
 public:
  // Validates `flat` against `schema`, fills defaults. Throws ConfigError naming file:line.
  static Config resolve(const FlatConfig& flat, const Schema& schema);
  // Parses a resolved config written by to_yaml() (e.g. from a result file).
  static Config from_yaml_text(const std::string& text, const Schema& schema,
                               const std::string& origin);

  bool is_null(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::vector<double> get_float_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;
  // Canonical text of a value ("0.1", "[1, 2]", "~").
  std::string text(const std::string& key) const;
  Location where(const std::string& key) const;
  // False for an only_when() key whose condition does not hold in this config.
  bool applies(const std::string& key) const;

  // Throws ConfigError "file:line: key: message" for checks beyond the schema.
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  // Canonical nested YAML, keys sorted; identity_only drops keys that do not change results
  // (not_identity() keys, and only_when() keys whose condition does not hold).
  std::string to_yaml(bool identity_only = false) const;
  // Stable id of the run this config describes: 12 hex digits of a hash of the identity YAML.
  std::string run_id() const;
  // Every key with its canonical text, in key order.
  std::vector<std::pair<std::string, std::string>> items() const;
  // Every key with a copy of its value (new YAML nodes: writing into them changes nothing here).
  FlatConfig flat() const;
  const Schema& schema() const { return *schema_; }

 private:
  const ConfigValue& entry(const std::string& key) const;
  bool applies(const KeySpec& spec) const;
  // One value per schema key, indexed as schema_->specs(); shared by copies of this config
  // and never written after resolve() (the nodes of defaults are shared by every config of
  // the schema: a sweep of thousands of runs resolved and freed thousands of copies of them).
  std::shared_ptr<const std::vector<ConfigValue>> values_;
  const Schema* schema_ = nullptr;
};

}  // namespace aim
