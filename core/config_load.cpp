// Loading a config: YAML files read strictly (one document, each key once, a budget of
// nodes against alias bombs), includes, flattening to dotted keys, key=value overrides.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

// Sets flat[key] to a new entry: assigning one YAML::Node to another writes into the node
// the assigned-to handle shares, so a FlatConfig copied from another (a sweep's settings,
// copied for each run) would change that one too.
void replace_flat_value(FlatConfig& flat, const std::string& key, ConfigValue value) {
  flat.erase(key);
  flat.emplace(key, std::move(value));
}

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
      replace_flat_value(out.values, key, ConfigValue{it.second, location_of(it.first, path)});
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
        replace_flat_value(flat, full, ConfigValue{it.second, location_of(it.first, file)});
      }
    }
    return;
  }
  replace_flat_value(flat, prefix, ConfigValue{node, location_of(node, file)});
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
    for (auto& [k, v] : tmp) replace_flat_value(flat, k, ConfigValue{v.value, where});
  } else {
    // Anything else replaces the key and everything below it.
    for (auto it = flat.begin(); it != flat.end();)
      it = starts_with(it->first, key + ".") ? flat.erase(it) : std::next(it);
    replace_flat_value(flat, key, ConfigValue{value, where});
  }
}


}  // namespace aim
