#pragma once
// The arguments of `aimrun train CONFIG [key=value ...] [options]` and the config they name,
// torch-free: aimrun-torch's train (runner/cli/cmd_train.cpp) and aimrun's check of the
// config before it execs aimrun-torch (runner/cli/light_check.h) read them alike.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace aim::cli {

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  bool restart = false;
  bool force = false;
  int64_t stop_after_epoch = 0;
};

// train's positionals and options, with their checks, on its subcommand `cmd`.
void add_train_options(CLI::App& cmd, TrainArgs& args);

// The run's config for a launch of `world` ranks, checked as far as it can be without
// libtorch and before anything is written (check_run_config): the first thing train does,
// and what aimrun checks before it execs aimrun-torch. The world size is part of the run's
// identity: the config's own (world_size, when not 0) must be the launch's. Throws ConfigError.
Config checked_train_config(const TrainArgs& args, int world);

}  // namespace aim::cli
