#include <cmath>
#include <string>

#include "core/config.h"
#include "runner/cli/commands.h"

namespace aim::cli {

CLI::Validator finite_in(double lo, double hi) {
  const std::string range = "[" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "expected a number, not '" + text + "'";
        if (!std::isfinite(v) || v < lo || v > hi) return "expected a finite number in " + range + ", not " + text;
        return {};
      },
      "NUMBER in " + range);
}

CLI::Validator whole_in(long lo, long hi) {
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        long v = 0;
        if (!CLI::detail::lexical_cast(text, v) || v < lo || v > hi)
          return "expected a whole number in " + range + ", not " + text;
        return {};
      },
      "INT in " + range);
}

CLI::Validator fits_path_limits(size_t below) {
  return CLI::Validator([below](std::string& text) { return path_length_problem(text, below); }, "PATH");
}

}  // namespace aim::cli
