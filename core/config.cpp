#include "core/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace aim {

std::string Location::str() const {
  if (file.empty()) return "default";
  if (line <= 0) return file;
  return file + ":" + std::to_string(line);
}

std::string to_string(ValueType type) {
  switch (type) {
    case ValueType::Bool: return "a boolean (true/false)";
    case ValueType::Int: return "an integer";
    case ValueType::Float: return "a number";
    case ValueType::String: return "a string";
    case ValueType::IntList: return "a list of integers";
    case ValueType::FloatList: return "a list of numbers";
    case ValueType::StringList: return "a list of strings";
  }
  return "?";
}

Schema& Schema::add(KeySpec spec) {
  if (index_.count(spec.key)) throw std::logic_error("schema key defined twice: " + spec.key);
  if (spec.default_yaml == "~") spec.nullable = true;
  index_[spec.key] = specs_.size();
  specs_.push_back(std::move(spec));
  return *this;
}

const KeySpec* Schema::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &specs_[it->second];
}

bool Schema::is_section(const std::string& prefix) const {
  auto it = index_.lower_bound(prefix + ".");
  return it != index_.end() && starts_with(it->first, prefix + ".");
}

std::vector<std::string> Schema::keys() const {
  std::vector<std::string> out;
  for (const auto& s : specs_) out.push_back(s.key);
  return out;
}

// ---------------------------------------------------------------------------------------
// Loading

namespace {

Location location_of(const YAML::Node& node, const std::string& file) {
  Location loc{file, 0};
  if (node.IsDefined()) {
    auto mark = node.Mark();
    if (mark.line >= 0) loc.line = mark.line + 1;
  }
  return loc;
}

// yaml-cpp keeps duplicate keys silently; a config that sets `train:` twice loses one.
void reject_duplicate_keys(const YAML::Node& map, const std::string& prefix, const std::string& file) {
  std::map<std::string, int> seen;
  for (auto it : map) {
    auto key = it.first.as<std::string>();
    int line = it.first.Mark().line + 1;
    auto [pos, inserted] = seen.emplace(key, line);
    if (!inserted)
      throw ConfigError(file + ":" + std::to_string(line) + ": " + (prefix.empty() ? key : prefix + "." + key) +
                        ": duplicate key (first set on line " + std::to_string(pos->second) + ")");
  }
}

YAML::Node parse_file(const std::string& path) {
  if (!fs::exists(path)) throw ConfigError(path + ": file not found");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " +
                      e.msg);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot be read");
  }
}

void load_recursive(const std::string& path, const std::vector<std::string>& section_names,
                    std::vector<std::string>& stack, LoadedFile& out) {
  std::string canonical = fs::weakly_canonical(path).string();
  if (std::find(stack.begin(), stack.end(), canonical) != stack.end())
    throw ConfigError(path + ": include cycle: " + join(stack, " -> ") + " -> " + canonical);
  stack.push_back(canonical);

  YAML::Node root = parse_file(path);
  if (root.IsNull()) {
    stack.pop_back();
    return;
  }
  if (!root.IsMap())
    throw ConfigError(location_of(root, path).str() + ": expected a mapping of keys at the top");
  reject_duplicate_keys(root, "", path);

  if (auto inc = root["include"]) {
    std::vector<YAML::Node> items;
    if (inc.IsScalar()) items.push_back(inc);
    else if (inc.IsSequence())
      for (auto it : inc) items.push_back(it);
    else
      throw ConfigError(location_of(inc, path).str() +
                        ": include: expected a file name or a list of file names");
    for (auto& item : items) {
      if (!item.IsScalar())
        throw ConfigError(location_of(item, path).str() + ": include: expected a file name");
      fs::path p = item.as<std::string>();
      if (p.is_relative()) p = fs::path(path).parent_path() / p;
      if (!fs::exists(p))
        throw ConfigError(location_of(item, path).str() + ": include: file not found: " +
                          p.string());
      load_recursive(p.string(), section_names, stack, out);
    }
  }
  for (auto it : root) {
    auto key = it.first.as<std::string>();
    if (key == "include") continue;
    if (std::find(section_names.begin(), section_names.end(), key) != section_names.end()) {
      out.sections[key] = {it.second, location_of(it.first, path)};
      continue;
    }
    if (it.second.IsMap()) {
      flatten_into(out.values, key, it.second, path);
    } else {
      // A leaf at top level: its key mark is the line to report.
      ConfigValue v{it.second, location_of(it.first, path)};
      out.values[key] = v;
    }
  }
  stack.pop_back();
}

}  // namespace


void flatten_into(FlatConfig& flat, const std::string& prefix, const YAML::Node& node,
                  const std::string& file) {
  if (node.IsMap()) {
    reject_duplicate_keys(node, prefix, file);
    for (auto it : node) {
      auto key = it.first.as<std::string>();
      std::string full = prefix.empty() ? key : prefix + "." + key;
      if (it.second.IsMap()) {
        flatten_into(flat, full, it.second, file);
      } else {
        // A more specific key replaces a whole-section value and vice versa.
        flat.erase(full);
        flat[full] = ConfigValue{it.second, location_of(it.first, file)};
      }
    }
    return;
  }
  flat[prefix] = ConfigValue{node, location_of(node, file)};
}

LoadedFile load_config_file(const std::string& path,
                            const std::vector<std::string>& section_names) {
  LoadedFile out;
  std::vector<std::string> stack;
  load_recursive(path, section_names, stack, out);
  return out;
}

void apply_override(FlatConfig& flat, const std::string& assignment, const std::string& origin) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(origin + ": override '" + assignment + "': expected key=value");
  std::string key = trim(assignment.substr(0, eq));
  std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text.empty() ? "~" : text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": override '" + assignment + "': value is not valid YAML: " +
                      e.msg);
  }
  Location where{origin + " (" + key + "=" + text + ")", 0};
  if (value.IsMap()) {
    // A mapping sets the keys it names and leaves the others of the section alone.
    for (auto it : value) {
      std::string sub = key + "." + it.first.as<std::string>();
      FlatConfig tmp;
      flatten_into(tmp, sub, it.second, "");
      for (auto& [k, v] : tmp) flat[k] = ConfigValue{v.value, where};
    }
  } else {
    // Anything else replaces the key and everything below it.
    for (auto it = flat.begin(); it != flat.end();)
      it = starts_with(it->first, key + ".") ? flat.erase(it) : std::next(it);
    flat[key] = ConfigValue{value, where};
  }
}

// ---------------------------------------------------------------------------------------
// Validation

namespace {

[[noreturn]] void fail_at(const Location& where, const std::string& key, const std::string& msg) {
  throw ConfigError(where.str() + ": " + key + ": " + msg);
}

std::string describe(const YAML::Node& node) {
  if (node.IsNull()) return "nothing (null)";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "?";
}

bool parse_int(const YAML::Node& n, int64_t& out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) return false;
    out = v;
    return true;
  } catch (...) {
    return false;
  }
}

bool parse_float(const YAML::Node& n, double& out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  if (s == ".inf" || s == ".Inf") { out = INFINITY; return true; }
  if (s == "-.inf" || s == "-.Inf") { out = -INFINITY; return true; }
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size()) return false;
    out = v;
    return true;
  } catch (...) {
    return false;
  }
}

bool parse_bool(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return false;
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "true" || s == "yes" || s == "on") { out = true; return true; }
  if (s == "false" || s == "no" || s == "off") { out = false; return true; }
  return false;
}

void check_range(const KeySpec& spec, double v, bool integer, const Location& where) {
  if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max)) {
    auto text = [&](double d) { return integer ? std::to_string(int64_t(d)) : format_double(d); };
    std::string range = "[" + (spec.min ? text(*spec.min) : std::string("-inf")) + ", " +
                        (spec.max ? text(*spec.max) : std::string("inf")) + "]";
    fail_at(where, spec.key, "expected a value in " + range + ", got " + text(v));
  }
}

// Returns the value with canonical scalar text, or throws naming the key and location.
YAML::Node canonical_value(const KeySpec& spec, const YAML::Node& raw, const Location& where) {
  if (raw.IsNull()) {
    if (!spec.nullable) fail_at(where, spec.key, "expected " + to_string(spec.type) + ", got nothing (null)");
    return YAML::Node(YAML::NodeType::Null);
  }
  auto expect = [&](const std::string& what) {
    fail_at(where, spec.key, "expected " + what + ", got " + describe(raw));
  };
  auto scalar = [&](const YAML::Node& n, ValueType t) -> YAML::Node {
    switch (t) {
      case ValueType::Bool: {
        bool b;
        if (!parse_bool(n, b)) expect(to_string(ValueType::Bool));
        return YAML::Node(b ? "true" : "false");
      }
      case ValueType::Int: {
        int64_t v;
        if (!parse_int(n, v)) expect(to_string(ValueType::Int));
        check_range(spec, double(v), true, where);
        return YAML::Node(std::to_string(v));
      }
      case ValueType::Float: {
        double v;
        if (!parse_float(n, v)) expect(to_string(ValueType::Float));
        check_range(spec, v, false, where);
        return YAML::Node(format_double(v));
      }
      default: {
        if (!n.IsScalar()) expect(to_string(ValueType::String));
        const std::string& s = n.Scalar();
        if (!spec.choices.empty() &&
            std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
          std::string hint = closest_match(s, spec.choices);
          fail_at(where, spec.key,
                  "expected one of [" + join(spec.choices, ", ") + "], got '" + s + "'" +
                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        }
        return YAML::Node(s);
      }
    }
  };
  switch (spec.type) {
    case ValueType::Bool:
    case ValueType::Int:
    case ValueType::Float:
    case ValueType::String:
      return scalar(raw, spec.type);
    case ValueType::IntList:
    case ValueType::FloatList:
    case ValueType::StringList: {
      ValueType elem = spec.type == ValueType::IntList     ? ValueType::Int
                       : spec.type == ValueType::FloatList ? ValueType::Float
                                                           : ValueType::String;
      if (!raw.IsSequence()) expect(to_string(spec.type));
      YAML::Node out(YAML::NodeType::Sequence);
      for (auto item : raw) out.push_back(scalar(item, elem));
      return out;
    }
  }
  return raw;
}

// Names that become folders or job names, and paths (KeySpec::file_name(), path()).
void check_text(const KeySpec& spec, const YAML::Node& v, const Location& where) {
  if (!v.IsScalar()) return;
  const std::string& s = v.Scalar();
  std::string why;
  if (spec.text == KeySpec::Text::Name) why = name_problem(s);
  else if (spec.text == KeySpec::Text::Path || spec.must_exist)
    why = s.find('\n') != std::string::npos   ? "a path cannot contain a newline"
          : s.find('\0') != std::string::npos ? "a path cannot contain a NUL character"
                                              : "";
  if (!why.empty()) fail_at(where, spec.key, why);
}

}  // namespace

Config Config::resolve(const FlatConfig& flat, const Schema& schema) {
  Config cfg;
  cfg.schema_ = &schema;
  for (const auto& [key, value] : flat) {
    const KeySpec* spec = schema.find(key);
    if (!spec) {
      if (schema.is_section(key)) {
        if (value.value.IsNull()) continue;  // "train:" with nothing below it
        fail_at(value.where, key, "expected a mapping of keys, got " + describe(value.value));
      }
      std::string hint = closest_match(key, schema.keys());
      fail_at(value.where, key,
              "unknown key" + (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
    }
    cfg.values_[key] = ConfigValue{canonical_value(*spec, value.value, value.where), value.where};
    const auto& v = cfg.values_[key].value;
    check_text(*spec, v, value.where);
    if (spec->must_exist && v.IsScalar() && !fs::exists(v.Scalar()))
      fail_at(value.where, key, "no such file or folder: " + v.Scalar());
  }
  for (const auto& spec : schema.specs()) {
    if (cfg.values_.count(spec.key)) continue;
    YAML::Node def = YAML::Load(spec.default_yaml);
    cfg.values_[spec.key] = ConfigValue{canonical_value(spec, def, Location{}), Location{}};
  }
  return cfg;
}

Config Config::from_yaml_text(const std::string& text, const Schema& schema,
                              const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": stored config is not valid YAML: " + e.msg);
  }
  FlatConfig flat;
  if (root.IsMap()) flatten_into(flat, "", root, origin);
  return resolve(flat, schema);
}

const ConfigValue& Config::entry(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("config key not in schema: " + key);
  return it->second;
}

void Config::fail(const std::string& key, const std::string& message) const {
  fail_at(entry(key).where, key, message);
}

bool Config::is_null(const std::string& key) const { return entry(key).value.IsNull(); }

namespace {
const YAML::Node& non_null(const Config& cfg, const ConfigValue& e, const std::string& key) {
  if (e.value.IsNull()) cfg.fail(key, "a value is required here");
  return e.value;
}
}  // namespace

bool Config::get_bool(const std::string& key) const {
  return non_null(*this, entry(key), key).Scalar() == "true";
}
int64_t Config::get_int(const std::string& key) const {
  return std::stoll(non_null(*this, entry(key), key).Scalar());
}
double Config::get_float(const std::string& key) const {
  double v = 0;
  parse_float(non_null(*this, entry(key), key), v);
  return v;
}
std::string Config::get_string(const std::string& key) const {
  return non_null(*this, entry(key), key).Scalar();
}
std::vector<int64_t> Config::get_int_list(const std::string& key) const {
  std::vector<int64_t> out;
  for (auto n : non_null(*this, entry(key), key)) out.push_back(std::stoll(n.Scalar()));
  return out;
}
std::vector<double> Config::get_float_list(const std::string& key) const {
  std::vector<double> out;
  for (auto n : non_null(*this, entry(key), key)) {
    double v = 0;
    parse_float(n, v);
    out.push_back(v);
  }
  return out;
}
std::vector<std::string> Config::get_string_list(const std::string& key) const {
  std::vector<std::string> out;
  for (auto n : non_null(*this, entry(key), key)) out.push_back(n.Scalar());
  return out;
}

Location Config::where(const std::string& key) const { return entry(key).where; }

bool Config::applies(const std::string& key) const {
  const KeySpec* spec = schema_->find(key);
  if (!spec || spec->when_key.empty()) return true;
  const auto& v = entry(spec->when_key).value;
  return v.IsScalar() &&
         std::find(spec->when_values.begin(), spec->when_values.end(), v.Scalar()) != spec->when_values.end();
}

namespace {
std::string flow_text(const YAML::Node& n) {
  if (n.IsNull()) return "~";
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter em;
  em << YAML::Flow << n;
  return em.c_str();
}
}  // namespace

std::string Config::text(const std::string& key) const { return flow_text(entry(key).value); }

std::vector<std::pair<std::string, std::string>> Config::items() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : values_) out.emplace_back(k, flow_text(v.value));
  return out;
}

std::string Config::to_yaml(bool identity_only) const {
  // Build a nested tree from the sorted flat keys; std::map order makes it canonical.
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& [key, v] : values_) {
    if (identity_only && (!schema_->find(key)->identity || !applies(key))) continue;
    auto parts = split(key, '.');
    // yaml-cpp nodes are handles: walk with copies of the handle, assign at the leaf.
    std::vector<YAML::Node> path{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = path.back()[parts[i]];
      if (!next.IsMap()) {
        next = YAML::Node(YAML::NodeType::Map);
        path.back()[parts[i]] = next;
      }
      path.push_back(path.back()[parts[i]]);
    }
    YAML::Node leaf = YAML::Clone(v.value);
    if (leaf.IsSequence()) leaf.SetStyle(YAML::EmitterStyle::Flow);
    path.back()[parts.back()] = leaf;
  }
  YAML::Emitter em;
  em << root;
  return std::string(em.c_str()) + "\n";
}

std::string Config::run_id() const { return hex_digest(fnv1a64(to_yaml(true))).substr(0, 12); }

}  // namespace aim
