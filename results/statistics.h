#pragma once
// Student-t statistics for the report (docs/report.md): the t distribution (from the
// regularized incomplete beta function, no dependency), a mean's confidence interval, the
// paired t-test and Welch's t-test, as scipy.stats computes them (tests/python/
// test_statistics.py checks every function against scipy on random and degenerate cases).
#include <cstdint>
#include <vector>

namespace aim::results {

// Regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1].
double incomplete_beta(double a, double b, double x);

// P(|T| >= |t|) for T ~ Student-t with df > 0 degrees of freedom (df may be fractional).
double t_two_sided_p(double t, double df);

// The q-quantile of Student-t with df degrees of freedom (scipy.stats.t.ppf(q, df)).
double t_quantile(double q, double df);

// A mean (or a mean difference) with its confidence interval and a test of "it is 0".
struct TTest {
  bool defined = false;  // false with fewer than 2 values per side: all NaN but `mean` (when it has values)
  bool paired = false;   // paired t-test (one difference per pair) or Welch's
  double mean = 0;       // mean of a - b (paired), mean(a) - mean(b) (Welch), mean(a) (one sample)
  double lo = 0, hi = 0; // confidence interval of `mean`
  double t = 0, df = 0, p = 1;  // statistic, degrees of freedom, two-sided p-value of mean = 0
  int64_t n_a = 0, n_b = 0;     // values per side (paired: n_a = n_b = pairs)
};

// The one-sample t interval of mean(a) (and the test of mean = 0), at `level` (0.95).
// Zero spread (every value equal): the interval is [mean, mean], p = 1 when the mean is 0
// and 0 otherwise (scipy: NaN for 0/0, 0 for x/0).
TTest one_sample(const std::vector<double>& a, double level = 0.95);
// The paired t-test of a[i] - b[i] (scipy.stats.ttest_rel), a.size() == b.size().
TTest paired_t(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95);
// Welch's t-test of mean(a) - mean(b) (scipy.stats.ttest_ind(a, b, equal_var=False)), with
// the interval from the Welch-Satterthwaite degrees of freedom. Both spreads zero: as above.
TTest welch_t(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95);

}  // namespace aim::results
