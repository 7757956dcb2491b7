#include <cmath>
#include <string>

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

}  // namespace aim::cli
