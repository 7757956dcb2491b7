// aimrun: train, sweep, evaluate and report AIM and its baselines.
#include <c10/util/Exception.h>

#include <iostream>

#include "core/allocator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop_signal.h"
#include "core/version.h"
#include "runner/cli/commands.h"

int main(int argc, char** argv) {
  // `aimrun train` owns USR2/TERM/INT from the first instruction: a stop asked for during
  // start-up is a clean stop (exit 75), not a killed rank (core/stop_signal.h).
  if (argc > 1 && std::string(argv[1]) == "train") aim::install_stop_handlers();
  const std::string malloc_setting = aim::keep_freed_memory_in_process();  // before any tensor
  CLI::App app{
      "aimrun: trains and compares interpretable image classifiers (AIM, bottom-up masking, vanilla)\n"
      "on ResNet/ConvNeXt backbones, locally or on Slurm, with results in HDF5."};
  app.require_subcommand(1);
  app.set_version_flag("--version", aim::aimrun_version());
  aim::cli::add_train_command(app);
  aim::cli::add_sweep_command(app);
  aim::cli::add_report_command(app);
  aim::cli::add_collect_command(app);
  aim::cli::add_summarize_command(app);
  aim::cli::add_evaluate_command(app);
  aim::cli::add_predict_command(app);
  aim::cli::add_pictures_command(app);
  aim::cli::add_model_command(app);
  aim::cli::add_config_command(app);
  try {
    aim::init_logging();
    spdlog::debug("{}", malloc_setting);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : aim::cli::kExitConfig;
  } catch (const aim::ConfigError& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return aim::cli::kExitConfig;
  } catch (const aim::Error& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return aim::cli::kExitError;
  } catch (const c10::Error& e) {
    std::cerr << "aimrun: error: " << e.what_without_backtrace() << std::endl;
    return aim::cli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return aim::cli::kExitError;
  }
  return aim::cli::exit_code();
}
