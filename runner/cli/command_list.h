#pragma once
// The commands of aimrun, by name, with the one-paragraph help `aimrun --help` lists, and
// which of them run in aimrun-torch (docs/architecture.md, "Two executables"). Torch-free:
// both executables read it, so that `aimrun --help` lists every command, and a command
// moves between them by one flag here.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace aim::cli {

struct CommandInfo {
  std::string name;
  std::string help;
  bool needs_torch = false;  // runs in aimrun-torch: aimrun execs it
};

// The description `aimrun --help` starts with.
inline constexpr const char* kAimrunAbout =
    "aimrun: trains and compares interpretable image classifiers (AIM, bottom-up masking, vanilla)\n"
    "on ResNet/ConvNeXt backbones, locally or on Slurm, with results in HDF5.";

// In the order of `aimrun --help`.
const std::vector<CommandInfo>& aimrun_commands();
// The help of the command `name` (a std::logic_error for a name not listed).
const std::string& command_help(const std::string& name);
// Whether `word` (argv[1]) names a command that runs in aimrun-torch.
bool runs_in_aimrun_torch(const char* word);
// The file name of the torch executable, next to aimrun.
inline constexpr const char* kTorchExecutable = "aimrun-torch";

// A misspelt command (`aimrun tarin c.yaml`, `aimrun sweep stauts`) is named, with the
// closest command and the list, before CLI11 answers "A subcommand is required". Walks the
// leading words of argv down the commands that have subcommands. Throws ConfigError.
void check_command_names(CLI::App& app, int argc, char** argv);

}  // namespace aim::cli
