#pragma once
// Reference numbers (--compare, e.g. the paper's) against ours: per matched cell a verdict
// from our 95% confidence interval and a margin (--margin, points), and per compared method
// whether the sign of its difference from the baseline agrees with the reference's
// (docs/report.md, "Reproduced or not").
#include <map>
#include <string>
#include <vector>

#include "results/comparison.h"
#include "results/paired.h"

namespace aim::results {

struct Verdict {
  ReferenceValue reference;  // in %
  TTest ours;                // our mean over seeds with its 95% CI, in points
  std::string verdict;       // reproduced | not reproduced | underpowered; "" without our values
};

struct RowReference {
  const ReferenceRow* row = nullptr;          // the first reference row that matches, or none
  std::map<std::string, Verdict> by_metric;   // reference metric -> verdict
};

// underpowered: fewer than 2 runs, or the CI's half-width is wider than `margin`;
// otherwise reproduced when the reference lies inside the CI, not reproduced when outside.
std::string verdict_of(const TTest& ours, double reference, double margin);

// One entry per Grouping::groups row.
std::vector<RowReference> match_reference(const Grouping& grouping, const Reference& ref, double margin);

// The reference's difference (row minus its baseline row) for one reference metric, and
// whether our difference has the same sign: "agrees", "disagrees", "no sign" (either is 0)
// or "" when the reference lacks one of the two values.
struct SignCheck {
  double reference_difference = 0;
  std::string agreement;
};
SignCheck sign_agreement(const RowReference& row, const RowReference& baseline, const std::string& metric,
                         const TTest& ours);

}  // namespace aim::results
