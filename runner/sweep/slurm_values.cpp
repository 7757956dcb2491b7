#include "runner/sweep/slurm_values.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/strings.h"

namespace aim {

namespace slurm_values {

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return s;
}

// The signal part without "R:" and "@seconds", as sbatch reads it.
struct SignalParts {
  std::string name, seconds;
  bool has_seconds = false;
};

SignalParts signal_parts(const std::string& text) {
  std::string s = starts_with(text, "R:") ? text.substr(2) : text;
  SignalParts p;
  auto at = s.find('@');
  p.name = upper(s.substr(0, at));
  if (at != std::string::npos) {
    p.has_seconds = true;
    p.seconds = s.substr(at + 1);
  }
  if (starts_with(p.name, "SIG")) p.name = p.name.substr(3);
  return p;
}

// sbatch's time as days, hours, minutes, seconds fields; false when it is none of its forms.
bool time_fields(const std::string& text, long& seconds) {
  std::string rest = text;
  long days = -1;
  if (auto dash = rest.find('-'); dash != std::string::npos) {
    if (!all_digits(rest.substr(0, dash))) return false;
    days = std::stol(rest.substr(0, dash));
    rest = rest.substr(dash + 1);
  }
  auto parts = split(rest, ':');
  if (parts.empty() || parts.size() > 3) return false;
  std::vector<long> v;
  for (const auto& part : parts) {
    if (!all_digits(part)) return false;
    v.push_back(std::stol(part));
  }
  // Every field after the first is below 60 (hours below 24 after days).
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] >= 60) return false;
  long h = 0, m = 0, s = 0;
  if (days >= 0) {
    h = v[0];
    if (h >= 24) return false;
    m = v.size() > 1 ? v[1] : 0;
    s = v.size() > 2 ? v[2] : 0;
  } else if (v.size() == 3) {
    h = v[0], m = v[1], s = v[2];
  } else {
    m = v[0];
    s = v.size() > 1 ? v[1] : 0;
  }
  seconds = ((std::max(days, 0L) * 24 + h) * 60 + m) * 60 + s;
  return true;
}

}  // namespace slurm_values

std::string slurm_signal_problem(const std::string& text) {
  const std::string form = "expected SIGNAL@SECONDS (e.g. USR2@300), got '" + text + "'";
  auto p = slurm_values::signal_parts(text);
  if (p.name.empty()) return form;
  if (p.has_seconds &&
      (!slurm_values::all_digits(p.seconds) || std::stol(p.seconds) < 1 || std::stol(p.seconds) > 65535))
    return form + ": SECONDS is a whole number in [1, 65535]";
  if (p.name == "USR1" || p.name == "10") return "NCCL uses USR1 internally; use USR2 (the default)";
  if (p.name == "KILL" || p.name == "9" || p.name == "STOP" || p.name == "19")
    return "'" + text +
           "': KILL and STOP cannot be caught, so the run would end without a checkpoint; use USR2 "
           "(the default), TERM or INT";
  const std::vector<std::string> stops = {"USR2", "12", "TERM", "15", "INT", "2"};
  if (std::find(stops.begin(), stops.end(), p.name) == stops.end())
    return form + ": the trainer checkpoints and stops on USR2 (the default), TERM or INT only";
  return "";
}

long slurm_signal_seconds(const std::string& text) {
  auto p = slurm_values::signal_parts(text);
  return p.has_seconds && slurm_values::all_digits(p.seconds) ? std::stol(p.seconds) : 60;
}

std::string slurm_time_problem(const std::string& text) {
  const std::string u = slurm_values::upper(text);
  long seconds = 0;
  if (text.empty() || u == "UNLIMITED" || u == "INFINITE" || slurm_values::time_fields(text, seconds)) return "";
  return "expected minutes, minutes:seconds, hours:minutes:seconds or days-hours[:minutes[:seconds]] "
         "(sbatch's --time), got '" +
         text + "'";
}

long slurm_time_seconds(const std::string& text) {
  long seconds = 0;
  return slurm_values::time_fields(text, seconds) ? seconds : 0;
}

}  // namespace aim
