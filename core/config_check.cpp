// Validating a config's values against their KeySpec: types, ranges, choices, lengths, names
// and paths; each value's canonical text (what the run's identity hashes).
#include "core/config_check.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace aim {

namespace config_check {

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

}  // namespace config_check

std::string domain_text(const KeySpec& spec) {
  const bool list = spec.type == ValueType::IntList || spec.type == ValueType::FloatList ||
                    spec.type == ValueType::StringList;
  const bool integer = spec.type == ValueType::Int || spec.type == ValueType::IntList;
  std::string range = config_check::range_text(spec, integer);
  std::string out;
  if (list && spec.list_length) out = std::to_string(*spec.list_length) + " values";
  if (!range.empty()) out += (out.empty() ? (list ? "each " : "") : std::string(" ")) + "in " + range;
  if (spec.sorted) out += ", ascending";
  return out;
}

namespace config_check {

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

// A key's default as a value, once per schema (Schema::add); an invalid default is left to
// resolve(), which reports it as today: "default: key: expected ...".
std::optional<ConfigValue> canonical_default(const KeySpec& spec) {
  try {
    return ConfigValue{canonical_value(spec, YAML::Load(spec.default_yaml), Location{}), Location{}};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace config_check

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

}  // namespace aim
