#include "results/sequential.h"

#include <cmath>
#include <limits>

namespace aim::results {

namespace sequential {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace sequential
using sequential::kInf;

double t_mixture_bayes_factor(double t, size_t n, double prior_scale) {
  const double g = prior_scale * prior_scale, nu = double(n) - 1, c = 1 + double(n) * g;
  const double u = t * t / nu;
  return std::exp(-0.5 * std::log(c) + 0.5 * double(n) * (std::log1p(u) - std::log1p(u / c)));
}

// BF_n(t) = 1/alpha solved for u = t^2/(n-1): with R = (sqrt(c)/alpha)^(2/n), c = 1 + n g,
// (1 + u) / (1 + u/c) = R, so u = (R - 1) / (1 - R/c); no solution when R >= c (the factor's
// supremum over t, c^((n-1)/2), stays below 1/alpha).
double t_mixture_threshold(size_t n, double alpha, double prior_scale) {
  if (n < 2) return kInf;
  const double g = prior_scale * prior_scale, c = 1 + double(n) * g;
  const double r = std::exp((2.0 / double(n)) * (0.5 * std::log(c) - std::log(alpha)));
  if (r >= c) return kInf;
  const double u = (r - 1) / (1 - r / c);
  return std::sqrt((double(n) - 1) * u);
}

ConfidenceSequence t_confidence_sequence(const std::vector<double>& d, size_t n, double alpha, double prior_scale) {
  ConfidenceSequence cs;
  cs.n = std::min(n, d.size());
  double sum = 0;
  for (size_t i = 0; i < cs.n; ++i) sum += d[i];
  cs.mean = cs.n ? sum / double(cs.n) : 0;
  cs.lo = -kInf;
  cs.hi = kInf;
  if (cs.n < 2) return cs;
  double ss = 0;
  for (size_t i = 0; i < cs.n; ++i) ss += (d[i] - cs.mean) * (d[i] - cs.mean);
  cs.defined = true;
  cs.sd = std::sqrt(ss / double(cs.n - 1));
  const double t = t_mixture_threshold(cs.n, alpha, prior_scale);
  if (std::isinf(t)) return cs;
  // Zero spread: the sequence is the mean itself (every m but the mean has |t| infinite).
  const double half = t * cs.sd / std::sqrt(double(cs.n));
  cs.lo = cs.mean - half;
  cs.hi = cs.mean + half;
  return cs;
}

std::string to_string(SequentialState s) {
  switch (s) {
    case SequentialState::Different:
      return "different";
    case SequentialState::Equivalent:
      return "equivalent";
    default:
      return "open";
  }
}

SequentialDecision sequential_decision(const std::vector<double>& d, const SequentialOptions& options) {
  SequentialDecision out;
  out.n = d.size();
  for (size_t n = std::max<size_t>(options.min_n, 2); n <= d.size(); ++n) {
    auto cs = t_confidence_sequence(d, n, options.alpha, options.prior_scale);
    out.at = cs;
    if (cs.lo > 0 || cs.hi < 0)
      out.state = SequentialState::Different;
    else if (cs.lo > -options.margin && cs.hi < options.margin)
      out.state = SequentialState::Equivalent;
    if (out.state != SequentialState::Open) {
      out.n = n;
      return out;
    }
  }
  if (d.size() < std::max<size_t>(options.min_n, 2))
    out.at = t_confidence_sequence(d, d.size(), options.alpha, options.prior_scale);
  return out;
}

}  // namespace aim::results
