#pragma once
// Values a hostile user puts where aimrun expects a name or a path: a newline followed by a
// command, quotes, $(...), backticks, ';', '..', a hidden name, unicode, very long names.
// "MARKER" in a value stands for a file the command would create (with_marker()).
#include <cstdio>
#include <string>
#include <vector>

namespace aim::test {

struct Hostile {
  std::string id;     // a test-name suffix
  std::string label;  // for messages and the fault tally
  std::string value;
  std::string with_marker(const std::string& marker) const {
    std::string v = value;
    for (size_t p; (p = v.find("MARKER")) != std::string::npos;) v.replace(p, 6, marker);
    return v;
  }
};

inline const std::vector<Hostile>& hostile_names() {
  static const std::vector<Hostile> values = {
      {"NewlineCommand", "a newline and a command", "x\ntouch MARKER #"},
      {"CarriageReturn", "a carriage return", "x\rtouch MARKER"},
      {"Nul", "a NUL byte", std::string("x\0touch", 7)},
      {"Tab", "a tab", "a\tb"},
      {"Space", "a space", "a b"},
      {"SingleQuote", "a single quote", "it's"},
      {"DoubleQuote", "a double quote", "a\"b"},
      {"CommandSubstitution", "$(...)", "$(touch MARKER)"},
      {"Backticks", "backticks", "`touch MARKER`"},
      {"Semicolon", "';' and a command", "a;touch MARKER"},
      {"Ampersand", "'&&' and a command", "a&&touch MARKER"},
      {"Pipe", "a pipe", "a|touch MARKER"},
      {"Hash", "'#'", "a#b"},
      {"Dollar", "a variable", "$HOME"},
      {"Glob", "a glob", "a*"},
      {"Percent", "a Slurm filename pattern", "a%j"},
      {"DotDot", "'..'", ".."},
      {"Dot", "'.'", "."},
      {"Hidden", "a leading dot", ".hidden"},
      {"Slash", "a '/'", "a/b"},
      {"ParentPath", "'../' (a path outside)", "../escape"},
      {"Absolute", "an absolute path", "/tmp/x"},
      {"LeadingDash", "a leading '-' (an option)", "-rf"},
      {"Backslash", "a backslash", "a\\b"},
      {"Unicode", "unicode letters", "na\xc3\xafve"},
      {"Cjk", "CJK characters", "\xe5\xae\x9f\xe9\xa8\x93"},
      {"RightToLeft", "a right-to-left override", "a\xe2\x80\xae" "b"},
      {"Empty", "an empty name", ""},
      {"TooLong", "65 characters", std::string(65, 'a')},
      {"VeryLong", "5000 characters", std::string(5000, 'a')},
  };
  return values;
}

// The values that a command-line argument can carry (all but the NUL).
inline std::vector<Hostile> hostile_arguments() {
  std::vector<Hostile> out;
  for (const auto& h : hostile_names())
    if (h.value.find('\0') == std::string::npos) out.push_back(h);
  return out;
}

// A YAML double-quoted scalar holding exactly `s`.
inline std::string yaml_quote(const std::string& s) {
  std::string q = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') q += '\\', q += char(c);
    else if (c == '\n') q += "\\n";
    else if (c == '\r') q += "\\r";
    else if (c == '\t') q += "\\t";
    else if (c == 0) q += "\\0";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      q += buf;
    } else q += char(c);
  }
  return q + "\"";
}

}  // namespace aim::test
