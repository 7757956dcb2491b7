#pragma once
// Small string helpers shared by every layer.
#include <string>
#include <vector>

namespace aim {

std::vector<std::string> split(const std::string& s, char sep);
std::string join(const std::vector<std::string>& parts, const std::string& sep);
std::string trim(const std::string& s);
bool starts_with(const std::string& s, const std::string& prefix);

// Edit distance, used to suggest the closest valid key for a typo.
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate closest to `word`, or "" when none is close enough to be a plausible typo.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// "1h02m", "3m05s", "12s": for ETAs and wall times.
std::string format_duration(double seconds);
// Shortest text that parses back to the same double ("0.1", not "0.10000000000000001").
std::string format_double(double v);

// The text as one bash word, whatever it holds (quotes, $(...), backticks, newlines):
// 'it'\''s'. Every value aimrun writes into a generated script goes through this.
std::string shell_quote(const std::string& s);

// Names that become folders or Slurm job names (sweep.name, the run's `name`, profile
// names): 1 to kMaxNameLength ASCII letters, digits, '-', '_' and '.', starting with a
// letter, a digit or '_' (so never '.', '..', a hidden folder or an option). Returns why
// `name` is not such a name, or "" when it is.
constexpr size_t kMaxNameLength = 64;
std::string name_problem(const std::string& name);

// "" when `text` is one line (no newline, carriage return or NUL), else what it contains.
std::string multiline_problem(const std::string& text);

}  // namespace aim
