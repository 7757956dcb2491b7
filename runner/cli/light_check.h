#pragma once
// aimrun's check of a `train` before it execs aimrun-torch (docs/architecture.md, "Two
// executables"): a config error found without loading libtorch (about 0.65 s of CPU), with
// the message and exit code (2) aimrun-torch gives. Torch-free.
#include <optional>
#include <string>

namespace aim::cli {

// The error aimrun-torch would print for `argv` (after "aimrun: error: ") when it is a
// `train` whose config fails the checks train runs first (runner/cli/train_args.h:
// loading, includes, overrides, the schema, check_run_config). Nothing (aimrun-torch is
// to run it) for any other command, for arguments CLI11 refuses or that name another
// command, for a launch of several ranks, for an error that is not a ConfigError, and for
// a config that passes. Writes nothing.
std::optional<std::string> train_config_error(int argc, char** argv);

}  // namespace aim::cli
