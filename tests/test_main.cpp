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
  torch::set_num_threads(1);
  return RUN_ALL_TESTS();
}
