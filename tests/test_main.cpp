#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "core/log.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  aim::init_logging(0, "warn");
  // Generated datasets go to a cache of the test run, never the user's.
  if (!std::getenv("AIMRUN_CACHE")) {
    auto dir = std::filesystem::temp_directory_path() / "aimrun-test-cache";
    setenv("AIMRUN_CACHE", dir.c_str(), 1);
  }
  // One thread here and in every aimrun a test starts (OMP_NUM_THREADS, runner/device.cpp),
  // unless the caller set a count: ctest runs two tests at once on a 2-core machine, and two
  // aimruns training on two threads each spin on each other's cores (a sweep of two
  // 1000-image runs: 4 s on one thread, 19-39 s on two, with another test running). A test
  // that needs another count sets `threads` or OMP_NUM_THREADS on its command.
  setenv("OMP_NUM_THREADS", "1", 0);
  torch::set_num_threads(1);
  return RUN_ALL_TESTS();
}
