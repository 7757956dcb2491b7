#include "runner/cli/light_check.h"

#include <CLI/CLI.hpp>

#include <cstring>

#include "core/error.h"
#include "runner/cli/command_list.h"
#include "runner/cli/train_args.h"
#include "runner/comm/launcher_env.h"

namespace aim::cli {

namespace {

// A word after `train` that names a command: CLI11 may read it as that command in
// aimrun-torch's app, which has them all; left to aimrun-torch.
bool names_a_command(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    for (const auto& c : aimrun_commands())
      if (c.name == argv[i]) return true;
  return false;
}

}  // namespace

std::optional<std::string> train_config_error(int argc, char** argv) {
  // Several ranks: aimrun-torch's MPI_Init comes before the config (and may fail first).
  if (argc < 2 || std::strcmp(argv[1], "train") != 0 || comm::launcher_world_size() > 1 || names_a_command(argc, argv))
    return std::nullopt;
  try {
    CLI::App app;
    app.require_subcommand(1);
    TrainArgs args;
    add_train_options(*app.add_subcommand("train"), args);
    app.parse(argc, argv);  // a CLI::ParseError (help, a missing file, a bad option): aimrun-torch's to say
    checked_train_config(args, 1);
  } catch (const ConfigError& e) {
    return std::string(e.what());
  } catch (...) {  // not a config error (unreadable data, memory): aimrun-torch finds it again, as before
  }
  return std::nullopt;
}

}  // namespace aim::cli
