#pragma once
// The one fixture of the tests that need the Slurm cluster (scripts/slurm-local.sh start).
// Where no cluster answers, or none of its nodes can run a job, a test reports itself as not
// run: GTEST_SKIP, which ctest lists as skipped ("Not Run"), never as passed (its suite's
// entry, or `skipped.summary` where other tests of the suite ran: tests/run_suite.py), with
// the reason and the command that starts a cluster. AIM_REQUIRE_SLURM=1 (CI, where the cluster
// is part of the machine) makes that a failure instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "test_util.h"

namespace aim::test {

// "" when a Slurm cluster answers and has a node that can run a job; else why not.
inline std::string slurm_unavailable() {
  auto r = run_command("sinfo -h -o %T");
  if (r.exit_code != 0)
    return "no Slurm cluster answers (sinfo exit " + std::to_string(r.exit_code) +
           "; start one with scripts/slurm-local.sh start): " + r.output;
  std::istringstream states(r.output);
  for (std::string s; states >> s;)
    if (s == "idle" || s == "mixed" || s == "allocated" || s == "completing") return "";
  return "the Slurm cluster has no node that can run a job (sinfo: " + r.output + ")";
}

inline bool slurm_required() {
  const char* v = std::getenv("AIM_REQUIRE_SLURM");
  return v && std::string(v) == "1";
}

}  // namespace aim::test

// In a test body or SetUp: skip (or, with AIM_REQUIRE_SLURM=1, fail) where Slurm cannot run.
#define AIM_NEEDS_SLURM()                                                                 \
  do {                                                                                    \
    if (const std::string why_not = ::aim::test::slurm_unavailable(); !why_not.empty()) { \
      if (::aim::test::slurm_required()) FAIL() << why_not;                               \
      GTEST_SKIP() << "not run: " << why_not;                                             \
    }                                                                                     \
  } while (0)

namespace aim::test {

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override { AIM_NEEDS_SLURM(); }
};

}  // namespace aim::test
