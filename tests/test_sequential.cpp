// The adaptive seeds' sequential test (results/sequential.h) on thousands of synthetic
// sweeps with known effects, no training: its error rates under repeated looks, against a
// fixed-n t-test looked at after every round (which exceeds them), and how many seeds large
// effects need. The bounds themselves are recomputed with scipy in tests/python/test_sequential.py.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "results/sequential.h"
#include "results/statistics.h"

using namespace aim::results;

namespace {

constexpr int kSweeps = 4000;
constexpr size_t kStart = 3, kMax = 10;

// The most rejections of a true null at rate p out of n that are not evidence of a rate above
// p: the binomial's upper 99.9% point (normal approximation, with continuity correction).
double binomial_upper(double p, int n) { return n * p + 3.09 * std::sqrt(n * p * (1 - p)) + 0.5; }

struct Tally {
  int different = 0, equivalent = 0, open = 0;
  double seeds = 0;  // summed over sweeps: where each stopped (max when open)
};

// kSweeps sweeps of kMax seeds each, differences drawn by `draw`, decided by the sequence.
Tally simulate(const std::function<double(std::mt19937_64&)>& draw, const SequentialOptions& o, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tally t;
  for (int s = 0; s < kSweeps; ++s) {
    std::vector<double> d(kMax);
    for (auto& x : d) x = draw(rng);
    auto dec = sequential_decision(d, o);
    t.different += dec.state == SequentialState::Different;
    t.equivalent += dec.state == SequentialState::Equivalent;
    t.open += dec.state == SequentialState::Open;
    t.seeds += double(dec.state == SequentialState::Open ? kMax : dec.n);
  }
  return t;
}

SequentialOptions options(double margin = 1.0) {
  SequentialOptions o;
  o.min_n = kStart;
  o.margin = margin;
  return o;
}

}  // namespace

TEST(Sequential, NoTrueDifferenceIsDecidedDifferentAtMostAlphaDespiteLooksAfterEveryRound) {
  // Normal differences of several spreads, and a skewed bounded one (a centred Beta(2, 5)
  // scaled to points), with the margin at 0 so that "equivalent" never stops a sweep early:
  // every look from 3 to 10 seeds can say "different".
  const std::vector<std::pair<const char*, std::function<double(std::mt19937_64&)>>> cases = {
      {"normal sd 0.5", [](std::mt19937_64& r) { return std::normal_distribution<double>(0, 0.5)(r); }},
      {"normal sd 3", [](std::mt19937_64& r) { return std::normal_distribution<double>(0, 3)(r); }},
      {"uniform +-4", [](std::mt19937_64& r) { return std::uniform_real_distribution<double>(-4, 4)(r); }},
      {"beta(2,5) x10, centred",
       [](std::mt19937_64& r) {
         const double x = std::gamma_distribution<double>(2, 1)(r), y = std::gamma_distribution<double>(5, 1)(r);
         return 10 * (x / (x + y) - 2.0 / 7.0);
       }},
  };
  uint64_t seed = 1;
  for (const auto& [name, draw] : cases) {
    auto t = simulate(draw, options(0.0), seed++);
    EXPECT_LE(t.different, binomial_upper(0.05, kSweeps)) << name << ": " << t.different << " of " << kSweeps;
    RecordProperty(name, t.different);
    std::printf("%s: decided different in %d of %d null sweeps (%.2f%%)\n", name, t.different, kSweeps,
                100.0 * t.different / kSweeps);
  }
}

TEST(Sequential, AFixedNTTestLookedAtAfterEveryRoundExceedsAlphaWhereTheSequenceDoesNot) {
  // The reason for the sequence: the report's 95% t interval, looked at after each of 8 rounds
  // and stopped at the first that excludes 0, is wrong far more often than 5%.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  int naive = 0, sequential = 0;
  for (int s = 0; s < kSweeps; ++s) {
    std::vector<double> d(kMax);
    for (auto& x : d) x = noise(rng);
    bool rejected = false;
    for (size_t n = kStart; n <= kMax && !rejected; ++n) {
      auto t = one_sample(std::vector<double>(d.begin(), d.begin() + long(n)));
      rejected = t.lo > 0 || t.hi < 0;
    }
    naive += rejected;
    sequential += sequential_decision(d, options(0.0)).state == SequentialState::Different;
  }
  std::printf("null, 8 looks: fixed-n t-test %d, sequence %d of %d\n", naive, sequential, kSweeps);
  EXPECT_GT(naive, binomial_upper(0.05, kSweeps));
  EXPECT_LE(sequential, binomial_upper(0.05, kSweeps));
}

TEST(Sequential, ADifferenceOfTheMarginIsDecidedEquivalentAtMostAlpha) {
  // True mean exactly at the margin: "equivalent" (the sequence inside +-margin) would be wrong.
  for (double mean : {1.0, -1.0}) {
    auto t = simulate([mean](std::mt19937_64& r) { return std::normal_distribution<double>(mean, 0.3)(r); },
                      options(1.0), 11);
    std::printf("mean %.1f at the margin: equivalent in %d of %d\n", mean, t.equivalent, kSweeps);
    EXPECT_LE(t.equivalent, binomial_upper(0.05, kSweeps));
  }
}

TEST(Sequential, LargeEffectsAndClearEquivalenceAreDecidedWithFewerSeedsThanMax) {
  // 5 points with a spread of 1 point across seeds (as AIM against vanilla on a shifted
  // split): decided different, nearly always, well before 10 seeds.
  auto big = simulate([](std::mt19937_64& r) { return std::normal_distribution<double>(5, 1)(r); }, options(), 3);
  std::printf("effect 5 sd 1: different %d, open %d, mean seeds %.2f\n", big.different, big.open, big.seeds / kSweeps);
  EXPECT_GE(big.different, int(0.99 * kSweeps));
  EXPECT_LT(big.seeds / kSweeps, 5.0);
  // No difference with a spread of 0.1 point: equivalent within +-1 point, early.
  auto same = simulate([](std::mt19937_64& r) { return std::normal_distribution<double>(0, 0.1)(r); }, options(), 4);
  std::printf("effect 0 sd 0.1: equivalent %d, different %d, mean seeds %.2f\n", same.equivalent, same.different,
              same.seeds / kSweeps);
  EXPECT_GE(same.equivalent, int(0.95 * kSweeps));
  EXPECT_LT(same.seeds / kSweeps, 6.0);
  // A small effect in much noise stays open at max: the sequence does not pretend.
  auto small = simulate([](std::mt19937_64& r) { return std::normal_distribution<double>(0.5, 5)(r); }, options(), 5);
  EXPECT_GT(small.open, kSweeps / 2);
}

TEST(Sequential, FixedCases) {
  // Below two differences nothing is defined; with n = 2 and scale 3 no finite t reaches
  // 1/alpha = 20 (the factor's supremum is (1 + 2*9)^(1/2) = 4.36).
  auto one = t_confidence_sequence({1.0}, 1, 0.05, 3.0);
  EXPECT_FALSE(one.defined);
  EXPECT_TRUE(std::isinf(t_mixture_threshold(2, 0.05, 3.0)));
  EXPECT_TRUE(std::isfinite(t_mixture_threshold(3, 0.05, 3.0)));
  // At the threshold the factor is 1/alpha.
  for (size_t n : {3, 5, 10, 40}) {
    const double t = t_mixture_threshold(n, 0.05, 3.0);
    EXPECT_NEAR(t_mixture_bayes_factor(t, n, 3.0), 20.0, 1e-9) << n;
    // Wider than the fixed-n 95% t interval (the price of looking at every n), narrowing with n.
    EXPECT_GT(t, t_quantile(0.975, double(n - 1))) << n;
  }
  EXPECT_GT(t_mixture_threshold(5, 0.05, 3.0) / std::sqrt(5.0), t_mixture_threshold(10, 0.05, 3.0) / std::sqrt(10.0));
  // Identical differences: the sequence is the value itself.
  auto same = t_confidence_sequence({2.0, 2.0, 2.0}, 3, 0.05, 3.0);
  EXPECT_EQ(same.lo, 2.0);
  EXPECT_EQ(same.hi, 2.0);
  EXPECT_EQ(sequential_decision({2.0, 2.0, 2.0}, options()).state, SequentialState::Different);
  EXPECT_EQ(sequential_decision({0.0, 0.0, 0.0}, options()).state, SequentialState::Equivalent);
  // Open with fewer differences than start; the decision is at the first n that decides.
  EXPECT_EQ(sequential_decision({9.0, 9.1}, options()).state, SequentialState::Open);
  auto d = sequential_decision({5.0, 5.2, 4.9, 5.1, -20.0}, options());
  EXPECT_EQ(d.state, SequentialState::Different);
  EXPECT_EQ(d.n, 3u);
}
