// The schema, a resolved config (values checked, defaults filled in) and what it is read
// through: typed access, canonical YAML and the run id. Loading: config_load.cpp; the checks
// of each value: config_check.cpp.
#include "core/config.h"

#include <filesystem>
#include <unordered_map>

#include "core/config_check.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/strings.h"
#include "core/yaml_text.h"

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
  defaults_.push_back(config_check::canonical_default(spec));
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

Config Config::resolve(const FlatConfig& flat, const Schema& schema) {
  Config cfg;
  cfg.schema_ = &schema;
  const auto& specs = schema.specs();
  auto values = std::make_shared<std::vector<ConfigValue>>(specs.size());
  std::vector<bool> set(specs.size(), false);
  for (const auto& [key, value] : flat) {
    const KeySpec* spec = schema.find(key);
    if (!spec) {
      if (schema.is_section(key)) {
        if (value.value.IsNull()) continue;  // "train:" with nothing below it
        config_check::fail_at(value.where, key, "expected a mapping of keys, got " + config_check::describe(value.value));
      }
      std::string hint = closest_match(key, schema.keys());
      config_check::fail_at(value.where, key,
              "unknown key" + (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
    }
    const size_t i = size_t(spec - specs.data());
    (*values)[i] = ConfigValue{config_check::canonical_value(*spec, value.value, value.where), value.where};
    set[i] = true;
    const auto& v = (*values)[i].value;
    config_check::check_text(*spec, v, value.where);
    if (spec->must_exist && v.IsScalar() && !fs::exists(v.Scalar()))
      config_check::fail_at(value.where, key, "no such file or folder: " + v.Scalar());
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (set[i]) continue;
    const ConfigValue* def = schema.default_value(i);
    // Not there only for an invalid default: canonical_value names it.
    (*values)[i] = def ? *def : ConfigValue{config_check::canonical_value(specs[i], YAML::Load(specs[i].default_yaml), {}), {}};
  }
  cfg.values_ = std::move(values);
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
  size_t budget = kMaxConfigNodes;
  check_yaml_size(root, origin, budget);
  FlatConfig flat;
  if (root.IsMap()) flatten_into(flat, "", root, origin);
  return resolve(flat, schema);
}

const ConfigValue& Config::entry(const std::string& key) const {
  const KeySpec* spec = schema_ && values_ ? schema_->find(key) : nullptr;
  if (!spec) throw std::logic_error("config key not in schema: " + key);
  return (*values_)[size_t(spec - schema_->specs().data())];
}

FlatConfig Config::flat() const {
  FlatConfig out;
  if (!values_) return out;
  for (const auto& [key, i] : schema_->in_key_order())
    out.emplace_hint(out.end(), key, ConfigValue{YAML::Clone((*values_)[i].value), (*values_)[i].where});
  return out;
}

void Config::fail(const std::string& key, const std::string& message) const {
  config_check::fail_at(entry(key).where, key, message);
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
  config_check::parse_float(non_null(*this, entry(key), key), v);
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
    config_check::parse_float(n, v);
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
  return !spec || applies(*spec);
}

bool Config::applies(const KeySpec& spec) const {
  if (spec.when_key.empty()) return true;
  const auto& v = entry(spec.when_key).value;
  if (!v.IsScalar()) return false;
  // "!x": any value but x (e.g. a key added later that, at its old implicit value, stays out
  // of the identity: only_when(itself, {"!1"})).
  for (const auto& w : spec.when_values)
    if (w == v.Scalar() || (w.size() > 1 && w[0] == '!' && w.compare(1, std::string::npos, v.Scalar()) != 0))
      return true;
  return false;
}

std::string Config::text(const std::string& key) const { return yaml_flow_text(entry(key).value); }

std::vector<std::pair<std::string, std::string>> Config::items() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!values_) return out;
  for (const auto& [k, i] : schema_->in_key_order()) out.emplace_back(k, yaml_flow_text((*values_)[i].value));
  return out;
}

namespace {

// One top-level entry of a config (a section, or a key without dots) as block YAML: built
// from its flat keys, sorted, as in to_yaml.
std::string section_yaml(std::vector<std::pair<std::string, const YAML::Node*>>::const_iterator begin,
                         std::vector<std::pair<std::string, const YAML::Node*>>::const_iterator end) {
  YAML::Node root(YAML::NodeType::Map);
  for (auto it = begin; it != end; ++it) {
    auto parts = split(it->first, '.');
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
    YAML::Node leaf = YAML::Clone(*it->second);
    if (leaf.IsSequence()) leaf.SetStyle(YAML::EmitterStyle::Flow);
    path.back()[parts.back()] = leaf;
  }
  return yaml_block_text(root);
}

// What a section's YAML depends on: its keys and their canonical values (scalars, or lists of
// scalars), each with its length so no two sections share a key.
void add_memo_key(std::string& key, const std::string& name, const YAML::Node& v) {
  auto add = [&key](const std::string& s) { key += std::to_string(s.size()) + ":" + s; };
  add(name);
  if (v.IsScalar()) add("s" + v.Scalar());
  else if (v.IsNull()) add("~");
  else if (v.IsSequence()) {
    add("[" + std::to_string(v.size()));
    for (const auto& item : v) add(item.IsScalar() ? item.Scalar() : yaml_flow_text(item));
  } else {
    add("?" + yaml_flow_text(v));
  }
}

}  // namespace

// The block YAML of the whole tree is that of each top-level entry in turn (block maps at
// the root are one line group per key), so each entry is emitted alone and remembered: a
// sweep's runs share all their sections but one or two, and emitting was most of resolving
// a sweep of thousands of runs (`sweep status`).
std::string Config::to_yaml(bool identity_only) const {
  std::vector<std::pair<std::string, const YAML::Node*>> leaves;
  if (values_)
    for (const auto& [key, i] : schema_->in_key_order()) {
      const KeySpec& spec = schema_->specs()[i];
      if (identity_only && (!spec.identity || !applies(spec))) continue;
      leaves.emplace_back(key, &(*values_)[i].value);
    }
  if (leaves.empty()) return yaml_block_text(YAML::Node(YAML::NodeType::Map));
  thread_local std::unordered_map<std::string, std::string> memo;
  if (memo.size() > 100000) memo.clear();
  std::string out;
  for (size_t begin = 0; begin < leaves.size();) {
    const std::string top = leaves[begin].first.substr(0, leaves[begin].first.find('.'));
    size_t end = begin;
    std::string memo_key;
    while (end < leaves.size() && leaves[end].first.substr(0, leaves[end].first.find('.')) == top) {
      add_memo_key(memo_key, leaves[end].first, *leaves[end].second);
      ++end;
    }
    auto it = memo.find(memo_key);
    if (it == memo.end())
      it = memo.emplace(memo_key, section_yaml(leaves.begin() + begin, leaves.begin() + end)).first;
    out += it->second;
    begin = end;
  }
  return out;
}

std::string Config::run_id() const { return hex_digest(fnv1a64(to_yaml(true))).substr(0, 12); }

}  // namespace aim
