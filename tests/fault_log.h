#pragma once
// The fault tally: every test that plays a hostile cluster or a hostile user (a killed
// rank, a full disk, an injected script, a damaged file...) declares one FaultCase. When
// the test ends, the case is appended to the suite's fault log as tried, and as survived
// when the test passed; tests/fault_summary.py prints
//   faults: N tried, N survived, 0 results lost
// after the whole suite (ctest fixture `faults`), and fails when a case did not survive.
// The log's path comes from AIM_FAULT_LOG (set by CMake for every test).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace aim::test {

class FaultCase {
 public:
  // `name`: what was tried, e.g. "disk full during the result write".
  explicit FaultCase(std::string name) : name_(std::move(name)) {}
  // A result that a fault destroyed (a run that must be trained again from scratch).
  void result_lost(int n = 1) { lost_ += n; }
  ~FaultCase() {
    const char* path = std::getenv("AIM_FAULT_LOG");
    if (!path || !*path) return;
    const bool survived = !::testing::Test::HasFailure();
    std::string name = name_;
    for (auto& c : name)
      if (c == '\t' || c == '\n') c = ' ';
    std::ofstream(path, std::ios::app) << name << '\t' << (survived ? 1 : 0) << '\t' << lost_ << '\n';
  }
  FaultCase(const FaultCase&) = delete;
  FaultCase& operator=(const FaultCase&) = delete;

 private:
  std::string name_;
  int lost_ = 0;
};

}  // namespace aim::test
