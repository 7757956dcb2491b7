#pragma once
// Each method's rows against the baseline method's (--baseline, vanilla by default) within
// the same other settings, metric by metric, paired by seed: the paired t-test when every
// seed of the two rows pairs (runs with the same seed see the same data order), Welch's
// t-test otherwise (docs/report.md).
#include <map>
#include <string>
#include <vector>

#include "results/run_groups.h"
#include "results/statistics.h"

namespace aim::results {

struct Difference {
  size_t group = 0, baseline = 0;  // indices into Grouping::groups
  std::string metric;
  TTest test;                      // of the method minus the baseline, in points (x100)
};

struct BaselineComparison {
  std::string baseline;                  // the baseline method's name
  std::vector<Difference> differences;   // per compared row, then metric (Grouping order)
  std::map<size_t, size_t> baseline_of;  // row -> its baseline row
  std::vector<std::string> notes;        // why some rows have no comparison
};

BaselineComparison compare_with_baseline(const Grouping& grouping, const std::string& baseline);

// The test of one metric between two rows (values in fractions; the result in points).
TTest compare_values(const std::vector<RunValue>& method, const std::vector<RunValue>& baseline);

}  // namespace aim::results
