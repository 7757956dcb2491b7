#include "runner/cli/train_args.h"

#include "runner/cli/commands.h"
#include "runner/schema.h"

namespace aim::cli {

void add_train_options(CLI::App& cmd, TrainArgs& args) {
  cmd.add_option("config", args.config, "YAML config (see docs/config-reference.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.add_option("overrides", args.overrides, "key=value overrides, e.g. train.epochs=5 method.name=aim");
  cmd.add_option("--run-dir", args.run_dir, "run folder (default: <output_dir>/runs/<run-id>)")
      ->check(fits_path_limits(64));
  cmd.add_flag("--restart", args.restart, "ignore the run's checkpoint and train from scratch");
  cmd.add_flag("--force", args.force, "train again even when the run has a complete result");
  cmd.add_option("--stop-after-epoch", args.stop_after_epoch,
                 "a training budget: stop after this epoch with a checkpoint and <run>/rung-<E>.yaml (its validation\n"
                 "metrics); a later session with a larger budget continues from it. Not part of the run's identity:\n"
                 "the learning-rate schedule's horizon stays train.epochs (0: train to train.epochs)")
      ->check(CLI::Range(int64_t(0), int64_t(1000000)));
}

namespace {

// The config with its world size: as launched unless the config names one.
Config load_train_config(const TrainArgs& args, int world) {
  Config cfg = load_run_config(args.config, args.overrides);
  const int64_t said = cfg.get_int("world_size");
  if (said == 0) {
    auto overrides = args.overrides;
    overrides.push_back("world_size=" + std::to_string(world));
    return load_run_config(args.config, overrides);
  }
  if (said != world)
    cfg.fail("world_size", "the run is for " + std::to_string(said) + " rank(s), but this job has " +
                               std::to_string(world) + " (launch it with " + std::to_string(said) +
                               ", or set world_size: 0)");
  return cfg;
}

}  // namespace

Config checked_train_config(const TrainArgs& args, int world) {
  Config cfg = load_train_config(args, world);
  check_run_config(cfg, world);
  return cfg;
}

}  // namespace aim::cli
