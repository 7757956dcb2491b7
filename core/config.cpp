#include "core/config.h"
#include "core/yaml_text.h"

#include <algorithm>
#include <unordered_map>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
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

namespace {
std::optional<ConfigValue> canonical_default(const KeySpec& spec);
}  // namespace

Schema& Schema::add(KeySpec spec) {
  if (index_.count(spec.key)) throw std::logic_error("schema key defined twice: " + spec.key);
  if (spec.default_yaml == "~") spec.nullable = true;
  index_[spec.key] = specs_.size();
  defaults_.push_back(canonical_default(spec));
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

std::string line_of(const YAML::Node& node, const std::string& file) {
  return location_of(node, file).str();
}

std::string kind_of(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "nothing (null)";
  return "'" + node.Scalar() + "'";
}

}  // namespace

std::string key_name(const YAML::Node& key, const std::string& file, const std::string& prefix) {
  if (key.IsScalar()) return key.Scalar();
  throw ConfigError(line_of(key, file) + ": " + (prefix.empty() ? std::string("(top level)") : prefix) +
                    ": keys must be plain names, got " + kind_of(key) + " as a key");
}

void check_yaml_size(const YAML::Node& root, const std::string& file, size_t& budget) {
  // Depth-first with an explicit stack: aliases are followed (each visit counts), so the
  // count is what any later traversal (flattening, printing) would visit.
  std::vector<std::pair<YAML::Node, size_t>> stack{{root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (budget == 0)
      throw ConfigError(line_of(node, file) + ": YAML aliases expand to more than " +
                        std::to_string(kMaxConfigNodes) + " nodes (the most one config may hold)");
    --budget;
    if (!node.IsMap() && !node.IsSequence()) continue;
    if (depth >= kMaxConfigDepth)
      throw ConfigError(line_of(node, file) + ": YAML nested deeper than " + std::to_string(kMaxConfigDepth) +
                        " levels");
    for (auto it : node) {
      if (node.IsMap()) {
        stack.emplace_back(it.first, depth + 1);
        stack.emplace_back(it.second, depth + 1);
      } else {
        stack.emplace_back(YAML::Node(it), depth + 1);
      }
    }
  }
}

namespace {

// yaml-cpp keeps duplicate keys silently; a config that sets `train:` twice loses one.
void reject_duplicate_keys(const YAML::Node& map, const std::string& prefix, const std::string& file) {
  std::map<std::string, int> seen;
  for (auto it : map) {
    auto key = key_name(it.first, file, prefix);
    int line = it.first.Mark().line + 1;
    auto [pos, inserted] = seen.emplace(key, line);
    if (!inserted)
      throw ConfigError(file + ":" + std::to_string(line) + ": " + (prefix.empty() ? key : prefix + "." + key) +
                        ": duplicate key (first set on line " + std::to_string(pos->second) + ")");
  }
}

// Where a dotted path of one mapping was first set, and how it was spelt there.
struct FirstSet {
  int line = 0;
  std::string spelling;
};
using SeenPaths = std::map<std::string, FirstSet>;

std::string joined(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : key.empty() ? prefix : prefix + "." + key;
}

void check_keys_below(const YAML::Node& node, const std::string& shown, const std::string& file);

// The keys of `map` as dotted paths below `path` (nested mappings spelt out, so
// `train.epochs: 2` and `train: {epochs: 7}` are one path) into `seen`; a path set twice
// is an error at the second. `shown` names the mapping that owns `seen` in errors;
// `spelt` is how the keys above were written ("train: {"), `depth` how many braces it opens.
void collect_paths(const YAML::Node& map, const std::string& path, const std::string& spelt, size_t depth,
                   const std::string& shown, const std::string& file, SeenPaths& seen) {
  reject_duplicate_keys(map, joined(shown, path), file);
  for (auto it : map) {
    const std::string key = it.first.Scalar();
    const std::string full = joined(path, key);
    if (it.second.IsMap() && it.second.size() > 0) {
      collect_paths(it.second, full, spelt + key + ": {", depth + 1, shown, file, seen);
      continue;
    }
    const int line = it.first.Mark().line + 1;
    const std::string as = spelt + key + std::string(depth, '}');
    auto [pos, inserted] = seen.emplace(full, FirstSet{line, as});
    if (!inserted)
      throw ConfigError(file + ":" + std::to_string(line) + ": " + joined(shown, full) +
                        ": duplicate key (first set on line " + std::to_string(pos->second.line) +
                        (pos->second.spelling == as ? "" : " as " + pos->second.spelling + ", here as " + as) + ")");
    check_keys_below(it.second, joined(shown, full), file);
  }
}

// Every mapping at any depth of `node` (inside lists too) has each key once.
void check_keys_below(const YAML::Node& node, const std::string& shown, const std::string& file) {
  if (node.IsMap()) {
    SeenPaths seen;
    collect_paths(node, "", "", 0, shown, file, seen);
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) check_keys_below(node[i], shown + "[" + std::to_string(i) + "]", file);
  }
}

// What one load has left to spend (all its files together).
struct LoadBudget {
  size_t nodes = kMaxConfigNodes;
  size_t files = kMaxConfigFiles;
};

void check_readable_file(const std::string& path, const std::string& where) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw ConfigError(where + "file not found: " + path);
  if (fs::is_directory(status)) throw ConfigError(where + path + " is a folder, not a YAML file");
  if (!fs::is_regular_file(status)) throw ConfigError(where + path + " is not a regular file");
  auto bytes = fs::file_size(path, ec);
  if (!ec && bytes > kMaxConfigFileBytes)
    throw ConfigError(where + path + ": " + std::to_string(bytes) + " bytes, more than a config file may have (" +
                      std::to_string(kMaxConfigFileBytes >> 20) + " MiB)");
}

YAML::Node parse_file(const std::string& path, LoadBudget& budget) {
  check_readable_file(path, "");
  if (budget.files-- == 0)
    throw ConfigError(path + ": include: more than " + std::to_string(kMaxConfigFiles) +
                      " files read for one config (includes included)");
  return load_yaml_file(path, budget.nodes);
}

// The files `include:` names (relative to the including file), with where each is named.
std::vector<std::pair<std::string, std::string>> include_paths(const YAML::Node& inc, const std::string& path) {
  std::vector<YAML::Node> items;
  if (inc.IsScalar()) items.push_back(inc);
  else if (inc.IsSequence())
    for (auto it : inc) items.push_back(it);
  else
    throw ConfigError(location_of(inc, path).str() +
                      ": include: expected a file name or a list of file names");
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& item : items) {
    const std::string where = location_of(item, path).str();
    if (!item.IsScalar()) throw ConfigError(where + ": include: expected a file name, got " + kind_of(item));
    fs::path p = item.Scalar();
    if (p.is_relative()) p = fs::path(path).parent_path() / p;
    check_readable_file(p.string(), where + ": include: ");
    out.emplace_back(p.string(), where);
  }
  return out;
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot be read");
  return text.str();
}

// The line (1-based) of the `---` that starts the document whose content yaml-cpp places
// on 0-based line `content_line` (an empty document: the line after the file's end).
int document_start_line(const std::string& text, int content_line) {
  const auto lines = split(text, '\n');
  for (int i = std::min<int>(content_line, int(lines.size()) - 1); i >= 0; --i)
    if (starts_with(lines[size_t(i)], "---")) return i + 1;
  return content_line + 1;
}

std::vector<YAML::Node> parse_documents(const std::string& path, const std::string& text) {
  try {
    return YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML error: " + e.msg);
  }
}

void load_recursive(const std::string& path, const std::vector<std::string>& section_names,
                    std::vector<std::string>& stack, LoadBudget& budget, LoadedFile& out) {
  stack.push_back(fs::weakly_canonical(path).string());
  YAML::Node root = parse_file(path, budget);
  // An empty file given as the config is most likely a truncated one; an empty include is fine.
  if (root.IsNull() && stack.size() == 1)
    throw ConfigError(path + ":1: the file is empty: no keys, or only comments (write `{}` to train with every default)");
  if (root.IsNull()) {
    stack.pop_back();
    return;
  }
  if (!root.IsMap())
    throw ConfigError(location_of(root, path).str() + ": expected a mapping of keys at the top, got " +
                      (root.IsSequence() ? std::string("a list") : "a single value"));

  if (auto inc = root["include"]) {
    for (const auto& [p, where] : include_paths(inc, path)) {
      const std::string canonical = fs::weakly_canonical(p).string();
      if (std::find(stack.begin(), stack.end(), canonical) != stack.end())
        throw ConfigError(where + ": include cycle: " + join(stack, " -> ") + " -> " + canonical);
      load_recursive(p, section_names, stack, budget, out);
    }
  }
  for (auto it : root) {
    auto key = it.first.Scalar();
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

YAML::Node load_yaml_file(const std::string& path, size_t& node_budget) {
  check_readable_file(path, "");
  const std::string text = read_whole_file(path);
  auto docs = parse_documents(path, text);
  if (docs.size() > 1)
    throw ConfigError(path + ":" + std::to_string(document_start_line(text, docs[1].Mark().line)) +
                      ": a second YAML document (after ---): a config or profile file holds one document, and "
                      "the ones after the first would be ignored");
  YAML::Node root = docs.empty() ? YAML::Node() : docs.front();
  check_yaml_size(root, path, node_budget);
  check_keys_below(root, "", path);
  return root;
}

YAML::Node load_yaml_file(const std::string& path) {
  size_t budget = kMaxConfigNodes;
  return load_yaml_file(path, budget);
}

void check_unique_keys(const YAML::Node& node, const std::string& file, const std::string& prefix) {
  check_keys_below(node, prefix, file);
}

void flatten_into(FlatConfig& flat, const std::string& prefix, const YAML::Node& node,
                  const std::string& file) {
  if (node.IsMap()) {
    reject_duplicate_keys(node, prefix, file);
    for (auto it : node) {
      auto key = it.first.Scalar();
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
  LoadBudget budget;
  load_recursive(path, section_names, stack, budget, out);
  return out;
}

void apply_override(FlatConfig& flat, const std::string& assignment, const std::string& origin) {
  auto eq = assignment.find('=');
  std::string key = trim(assignment.substr(0, eq));
  if (eq == std::string::npos || key.empty())
    throw ConfigError(origin + ": override '" + assignment + "': expected key=value");
  std::string text = assignment.substr(eq + 1);
  Location where{origin + " (" + key + "=" + text + ")", 0};
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text.empty() ? "~" : text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": override '" + assignment + "': value is not valid YAML: " +
                      e.msg);
  }
  if (docs.size() > 1)
    throw ConfigError(origin + ": override '" + assignment + "': a second YAML document (after ---) in the value");
  YAML::Node value = docs.empty() ? YAML::Node(YAML::NodeType::Null) : docs.front();
  size_t budget = kMaxConfigNodes;
  check_yaml_size(value, where.str(), budget);
  check_unique_keys(value, where.str(), key);
  if (value.IsMap()) {
    // A mapping sets the keys it names and leaves the others of the section alone.
    FlatConfig tmp;
    flatten_into(tmp, key, value, where.str());
    for (auto& [k, v] : tmp) flat[k] = ConfigValue{v.value, where};
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
  if (node.IsScalar()) {
    const std::string& t = node.Scalar();
    return "'" + (t.size() > 80 ? t.substr(0, 77) + "..." : t) + "'";
  }
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "?";
}

// Why a scalar is not a number of the kind asked for; "" when it is one.
std::string parse_int(const YAML::Node& n, int64_t& out) {
  if (!n.IsScalar()) return "not a number";
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) return "not an integer";
    out = v;
    return "";
  } catch (const std::out_of_range&) {
    return "out of the range of 64-bit integers";
  } catch (...) {
    return "not an integer";
  }
}

std::string parse_float(const YAML::Node& n, double& out) {
  if (!n.IsScalar()) return "not a number";
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size()) return "not a number";
    out = v;
  } catch (const std::out_of_range&) {
    return "out of the range of double-precision numbers";
  } catch (...) {
    // YAML's own spellings of infinity and not-a-number.
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), ::tolower);
    if (l == ".inf" || l == "+.inf" || l == "-.inf" || l == ".nan") return "not a finite number";
    return "not a number";
  }
  if (!std::isfinite(out)) return "not a finite number";
  return "";
}

bool parse_bool(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) return false;
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "true" || s == "yes" || s == "on") { out = true; return true; }
  if (s == "false" || s == "no" || s == "off") { out = false; return true; }
  return false;
}

std::string bound_text(double d, bool integer) {
  return integer ? std::to_string(int64_t(d)) : format_double(d);
}

std::string range_text(const KeySpec& spec, bool integer) {
  if (!spec.min && !spec.max) return "";
  return std::string(spec.min && !spec.min_open ? "[" : "(") +
         (spec.min ? bound_text(*spec.min, integer) : std::string("-inf")) + ", " +
         (spec.max ? bound_text(*spec.max, integer) : std::string("inf")) + (spec.max && !spec.max_open ? "]" : ")");
}

// `text`: the value as it will be stored (an int64 beyond 2^53 is not exact as a double).
void check_range(const KeySpec& spec, double v, const std::string& text, bool integer, const Location& where) {
  const bool low = spec.min && (spec.min_open ? v <= *spec.min : v < *spec.min);
  const bool high = spec.max && (spec.max_open ? v >= *spec.max : v > *spec.max);
  if (low || high) fail_at(where, spec.key, "expected a value in " + range_text(spec, integer) + ", got " + text);
}

// Every list key: its length when the key fixes one, at most kMaxListLength otherwise,
// ascending when asked.
constexpr size_t kMaxListLength = 64;

void check_list(const KeySpec& spec, const YAML::Node& list, const Location& where) {
  if (spec.list_length && list.size() != *spec.list_length)
    fail_at(where, spec.key,
            "expected " + std::to_string(*spec.list_length) + " values, got " + std::to_string(list.size()));
  if (list.size() > kMaxListLength)
    fail_at(where, spec.key, "at most " + std::to_string(kMaxListLength) + " values, got " + std::to_string(list.size()));
  if (spec.type == ValueType::StringList) {
    std::set<std::string> seen;
    for (auto n : list)
      if (!seen.insert(n.Scalar()).second) fail_at(where, spec.key, "'" + n.Scalar() + "' is listed twice");
  }
  if (!spec.sorted) return;
  for (size_t i = 1; i < list.size(); ++i)
    if (std::stod(list[i].Scalar()) < std::stod(list[i - 1].Scalar()))
      fail_at(where, spec.key, "expected ascending values ([min, max]), got " + list[i - 1].Scalar() + " before " +
                                   list[i].Scalar());
}

}  // namespace

std::string domain_text(const KeySpec& spec) {
  const bool list = spec.type == ValueType::IntList || spec.type == ValueType::FloatList ||
                    spec.type == ValueType::StringList;
  const bool integer = spec.type == ValueType::Int || spec.type == ValueType::IntList;
  std::string range = range_text(spec, integer);
  std::string out;
  if (list && spec.list_length) out = std::to_string(*spec.list_length) + " values";
  if (!range.empty()) out += (out.empty() ? (list ? "each " : "") : std::string(" ")) + "in " + range;
  if (spec.sorted) out += ", ascending";
  return out;
}

namespace {

// Returns the value with canonical scalar text, or throws naming the key and location.
YAML::Node canonical_value(const KeySpec& spec, const YAML::Node& raw, const Location& where) {
  if (raw.IsNull()) {
    if (!spec.nullable) fail_at(where, spec.key, "expected " + to_string(spec.type) + ", got nothing (null)");
    return YAML::Node(YAML::NodeType::Null);
  }
  auto expect = [&](const std::string& what, const YAML::Node& got, const std::string& why = "") {
    fail_at(where, spec.key, "expected " + what + ", got " + describe(got) + (why.empty() ? "" : " (" + why + ")"));
  };
  auto scalar = [&](const YAML::Node& n, ValueType t) -> YAML::Node {
    switch (t) {
      case ValueType::Bool: {
        bool b;
        if (!parse_bool(n, b)) expect(to_string(ValueType::Bool), n);
        return YAML::Node(b ? "true" : "false");
      }
      case ValueType::Int: {
        int64_t v = 0;
        if (auto why = parse_int(n, v); !why.empty()) expect(to_string(ValueType::Int), n, why);
        check_range(spec, double(v), std::to_string(v), true, where);
        return YAML::Node(std::to_string(v));
      }
      case ValueType::Float: {
        double v = 0;
        if (auto why = parse_float(n, v); why == "not a number") expect(to_string(ValueType::Float), n);
        else if (!why.empty()) expect("a finite number", n, why);
        check_range(spec, v, format_double(v), false, where);
        return YAML::Node(format_double(v));
      }
      default: {
        if (!n.IsScalar()) expect(to_string(ValueType::String), n);
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
      if (!raw.IsSequence()) expect(to_string(spec.type), raw);
      YAML::Node out(YAML::NodeType::Sequence);
      if (raw.size() > kMaxListLength) check_list(spec, raw, where);  // before converting a long list
      for (auto item : raw) out.push_back(scalar(item, elem));
      check_list(spec, out, where);
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
                                              : path_length_problem(s, spec.path_below);
  if (!why.empty()) fail_at(where, spec.key, why);
}

}  // namespace

namespace {

// A key's default as a value, once per schema (Schema::add); an invalid default is left to
// resolve(), which reports it as today: "default: key: expected ...".
std::optional<ConfigValue> canonical_default(const KeySpec& spec) {
  try {
    return ConfigValue{canonical_value(spec, YAML::Load(spec.default_yaml), Location{}), Location{}};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string path_length_problem(const std::string& s, size_t below) {
  for (const auto& part : fs::path(s))
    if (part.native().size() > NAME_MAX)
      return "the path component '" + part.native().substr(0, 40) + "...' is " + std::to_string(part.native().size()) +
             " bytes long, more than a file name may have (" + std::to_string(NAME_MAX) + ")";
  std::error_code ec;
  const auto absolute = fs::absolute(s, ec).native();
  const size_t bytes = (ec ? s.size() : absolute.size()) + below;
  if (bytes < PATH_MAX) return "";
  return "the path is " + std::to_string(bytes - below) + " bytes long" +
         (below ? " (made absolute), and aimrun writes up to " + std::to_string(below) + " bytes below it" : "") +
         ": more than a path may have (" + std::to_string(PATH_MAX - 1) + ")";
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
        fail_at(value.where, key, "expected a mapping of keys, got " + describe(value.value));
      }
      std::string hint = closest_match(key, schema.keys());
      fail_at(value.where, key,
              "unknown key" + (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)"));
    }
    const size_t i = size_t(spec - specs.data());
    (*values)[i] = ConfigValue{canonical_value(*spec, value.value, value.where), value.where};
    set[i] = true;
    const auto& v = (*values)[i].value;
    check_text(*spec, v, value.where);
    if (spec->must_exist && v.IsScalar() && !fs::exists(v.Scalar()))
      fail_at(value.where, key, "no such file or folder: " + v.Scalar());
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (set[i]) continue;
    const ConfigValue* def = schema.default_value(i);
    // Not there only for an invalid default: canonical_value names it.
    (*values)[i] = def ? *def : ConfigValue{canonical_value(specs[i], YAML::Load(specs[i].default_yaml), {}), {}};
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
