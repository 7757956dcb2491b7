#include "core/strings.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace aim {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    // Compare the last path component too: "train.epoch" vs "train.epochs", or a key
    // put under the wrong section ("model.lr" -> "train.lr").
    auto wl = word.substr(word.rfind('.') + 1);
    auto cl = c.substr(c.rfind('.') + 1);
    if (wl == cl) d = std::min(d, size_t{2});
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : "";
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string format_double(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  // Keep a decimal point so the text reads back as a float in YAML (1.1 and 1.2: "5.0e-04",
  // not "5e-04", which PyYAML reads as a string), never as an integer.
  if (std::isfinite(v) && s.find('.') == std::string::npos) {
    auto e = s.find_first_of("eE");
    if (e == std::string::npos) s += ".0";
    else s.insert(e, ".0");
  }
  return s;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

namespace {
// A character as an error message shows it: 'x', a newline, byte 0xc3 (not ASCII).
std::string describe_char(unsigned char c) {
  if (c == '\n') return "a newline";
  if (c == '\r') return "a carriage return";
  if (c == '\t') return "a tab";
  if (c == 0) return "a NUL character";
  if (c == ' ') return "a space";
  char buf[32];
  if (c < 0x20 || c >= 0x7f) std::snprintf(buf, sizeof buf, "byte 0x%02x (not printable ASCII)", c);
  else std::snprintf(buf, sizeof buf, "'%c'", c);
  return buf;
}
bool ascii_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

std::string name_problem(const std::string& name) {
  const std::string rule = " (a name becomes a folder and a job name: 1 to " + std::to_string(kMaxNameLength) +
                           " ASCII letters, digits, '-', '_' or '.', starting with a letter, a digit or '_')";
  if (name.empty()) return "the name is empty" + rule;
  for (unsigned char c : name)
    if (!ascii_alnum(c) && c != '-' && c != '_' && c != '.') return "the name contains " + describe_char(c) + rule;
  if (name[0] == '.' || name[0] == '-') return "the name starts with " + describe_char(name[0]) + rule;
  if (name.size() > kMaxNameLength)
    return "the name is " + std::to_string(name.size()) + " characters long, more than " +
           std::to_string(kMaxNameLength) + rule;
  return "";
}

std::string multiline_problem(const std::string& text) {
  for (unsigned char c : text)
    if (c == '\n' || c == '\r' || c == 0) return "contains " + describe_char(c) + ", but must be a single line";
  return "";
}

}  // namespace aim
