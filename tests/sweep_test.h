#pragma once
// Helpers shared by the tests of sweeps (test_stages, test_stage_search, test_search): a run's
// axis value.
#include <string>

#include "runner/sweep/sweep_spec.h"

namespace aim::test {

// The value of axis `key` of a sweep's run, as shown ("" where the run has no such axis).
inline std::string axis(const SweepRun& run, const std::string& key) {
  for (const auto& [k, v] : run.axes)
    if (k == key) return v;
  return "";
}

}  // namespace aim::test
