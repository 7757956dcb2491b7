#include "results/statistics.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace aim::results {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The continued fraction of I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-16;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::abs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m < 100000; ++m) {
    double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    c = 1 + aa / c;
    if (std::abs(d) < tiny) d = tiny;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    c = 1 + aa / c;
    if (std::abs(d) < tiny) d = tiny;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    double step = d * c;
    h *= step;
    if (std::abs(step - 1) < eps) break;
  }
  return h;
}

// I_x(a, b) given x and y = 1 - x separately (y is exact where x is close to 1).
double incomplete_beta_xy(double a, double b, double x, double y) {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x > 0.5) log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log1p(-y) + b * std::log(y);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_fraction(b, a, y) / b;
}

double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

double variance(const std::vector<double>& v, double mean) {  // ddof = 1
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return s / double(v.size() - 1);
}

// Fills t, p and the interval from mean, its standard error and df; se = 0 is the
// zero-spread case (header).
void finish(TTest& r, double se, double level) {
  r.defined = true;
  if (!(se > 0)) {
    r.lo = r.hi = r.mean;
    r.t = r.mean == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), r.mean);
    r.p = r.mean == 0 ? 1 : 0;
    return;
  }
  r.t = r.mean / se;
  r.p = t_two_sided_p(r.t, r.df);
  double half = t_quantile(0.5 + level / 2, r.df) * se;
  r.lo = r.mean - half;
  r.hi = r.mean + half;
}

TTest undefined(int64_t n_a, int64_t n_b, bool paired) {
  TTest r;
  r.paired = paired;
  r.n_a = n_a;
  r.n_b = n_b;
  r.mean = r.lo = r.hi = r.t = r.df = r.p = kNaN;
  return r;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) return kNaN;
  return incomplete_beta_xy(a, b, x, 1 - x);
}

double t_two_sided_p(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return 0;
  double t2 = t * t;
  // x = df / (df + t^2), 1 - x = t^2 / (df + t^2), both without cancellation.
  return incomplete_beta_xy(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

double t_quantile(double q, double df) {
  if (!(q > 0 && q < 1) || !(df > 0)) return kNaN;
  if (q == 0.5) return 0;
  // Two-sided tail 2 * min(q, 1 - q): find t > 0 with t_two_sided_p(t) = tail, by bisection
  // on a bracket that doubles until it holds the root (p falls monotonically in t).
  double tail = 2 * std::min(q, 1 - q);
  double lo = 0, hi = 1;
  while (t_two_sided_p(hi, df) > tail && hi < 1e300) {
    lo = hi;
    hi *= 2;
  }
  for (int i = 0; i < 2000 && hi - lo > 1e-15 * hi; ++i) {
    double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    (t_two_sided_p(mid, df) > tail ? lo : hi) = mid;
  }
  double t = lo + (hi - lo) / 2;
  return q > 0.5 ? t : -t;
}

TTest one_sample(const std::vector<double>& a, double level) {
  int64_t n = int64_t(a.size());
  if (n < 2) {
    TTest r = undefined(n, 0, false);
    if (n == 1) r.mean = a[0];
    return r;
  }
  TTest r;
  r.n_a = n;
  r.mean = sum_of(a) / double(n);
  r.df = double(n - 1);
  finish(r, std::sqrt(variance(a, r.mean) / double(n)), level);
  return r;
}

TTest paired_t(const std::vector<double>& a, const std::vector<double>& b, double level) {
  if (a.size() != b.size()) throw Error("paired_t: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " values");
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  TTest r = one_sample(d, level);
  r.paired = true;
  r.n_b = r.n_a = int64_t(a.size());
  return r;
}

TTest welch_t(const std::vector<double>& a, const std::vector<double>& b, double level) {
  int64_t na = int64_t(a.size()), nb = int64_t(b.size());
  if (na < 2 || nb < 2) {
    TTest r = undefined(na, nb, false);
    if (na && nb) r.mean = sum_of(a) / double(na) - sum_of(b) / double(nb);
    return r;
  }
  TTest r;
  r.n_a = na;
  r.n_b = nb;
  double ma = sum_of(a) / double(na), mb = sum_of(b) / double(nb);
  double va = variance(a, ma) / double(na), vb = variance(b, mb) / double(nb);
  r.mean = ma - mb;
  // Welch-Satterthwaite, scaled by va + vb so that tiny variances do not underflow.
  double s = va + vb;
  r.df = s > 0 ? 1 / ((va / s) * (va / s) / double(na - 1) + (vb / s) * (vb / s) / double(nb - 1))
               : double(na + nb - 2);
  finish(r, std::sqrt(va + vb), level);
  return r;
}

}  // namespace aim::results
