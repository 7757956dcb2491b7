#pragma once
// An anytime-valid test of a paired mean difference over seeds (adaptive seeds, sweep.seeds,
// docs/sweeps.md "Adaptive seeds"): a confidence sequence for the mean of per-seed
// differences d_1, d_2, ... that holds at every n at once, so that looking after every round
// of seeds and stopping when it is decided keeps the error rate at alpha.
//
// The sequence inverts the scale-invariant mixture Bayes factor of the one-sample t-test
// (Lai 1976; Rouder et al. 2009 with a fixed g; Perez-Ortiz, Lardy, de Heide and Gruenwald
// 2024: with the right-Haar prior on the spread it is a test martingale under every null
// mean and spread, so Ville's inequality bounds the chance it ever reaches 1/alpha):
//
//   BF_n(t) = (1 + n g)^(-1/2) * [(1 + t^2/(n-1)) / (1 + t^2/((n-1)(1 + n g)))]^(n/2),
//
// t the t-statistic of "mean = m" from the first n differences, g = prior_scale^2 (the prior
// of the standardized effect mean/sd is N(0, g)). The sequence at n is every m with
// BF_n < 1/alpha: mean +- t*_n * sd / sqrt(n), t*_n in closed form (sequential.cpp). It
// assumes normally distributed differences (any spread); docs/sweeps.md says why it is
// used rather than a bound for differences in [-100, 100] points (which cannot decide
// anything with 10 seeds). tests/test_sequential.cpp simulates its error rates;
// tests/python/test_sequential.py recomputes it with scipy by numerical integration.
#include <string>
#include <vector>

namespace aim::results {

struct SequentialOptions {
  double alpha = 0.05;       // the chance, over all looks together, of a wrong decision
  double prior_scale = 3.0;  // sqrt(g): the prior spread of the standardized effect
  double margin = 1.0;       // "equivalent" when the sequence lies inside +-margin (points)
  size_t min_n = 2;          // the first n looked at (the sweep's start)
};

// The confidence sequence at one n (from the first n differences).
struct ConfidenceSequence {
  size_t n = 0;
  bool defined = false;  // false below 2 differences (lo, hi infinite)
  double mean = 0, sd = 0;
  double lo = 0, hi = 0;  // infinite where no finite t reaches 1/alpha at this n
};

// The mixture Bayes factor BF_n of the t-statistic t with n values (n >= 2), g = scale^2.
double t_mixture_bayes_factor(double t, size_t n, double prior_scale);
// t*_n: the |t| where BF_n reaches 1/alpha (infinite when it never does at this n).
double t_mixture_threshold(size_t n, double alpha, double prior_scale);

// The sequence at n = min(n, d.size()) from d[0..n).
ConfidenceSequence t_confidence_sequence(const std::vector<double>& d, size_t n, double alpha, double prior_scale);

enum class SequentialState { Open, Different, Equivalent };
std::string to_string(SequentialState s);

struct SequentialDecision {
  SequentialState state = SequentialState::Open;
  size_t n = 0;           // decided at this n; open: the differences there are
  ConfidenceSequence at;  // the sequence at that n
};

// Looks at n = min_n, min_n + 1, ..., d.size() and stops at the first n where the sequence
// excludes 0 (different; this wins when it also lies inside +-margin) or lies strictly
// inside (-margin, margin) (equivalent). A pure function of the differences in seed order.
SequentialDecision sequential_decision(const std::vector<double>& d, const SequentialOptions& options);

}  // namespace aim::results
