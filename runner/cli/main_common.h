#pragma once
// What the two executables' main()s share (runner/cli/main.cpp: aimrun-torch;
// runner/cli/main_light.cpp: aimrun): the terminate handler that names the memory limits,
// the text of an exception main() catches, and the parse of the command line with every
// error turned into its exit code. Torch-free.
#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <string>

namespace aim::cli {

// An exception no code catches (one thrown in a library's thread): a failed allocation ends
// the process with the memory limits named instead of "terminate called ..." and an abort.
[[noreturn]] void on_terminate();
// An exception main() catches: a failed allocation (one of parsing the command line, or
// loading the config, under a memory limit) says which limits this process has.
std::string error_text(const std::exception& e, const std::string& what);

// What one executable's main() adds to parse_and_run.
struct MainHooks {
  // Run first, inside the error handling (aimrun adds its commands to the app here).
  std::function<void()> set_up;
  // The message of an exception that is no aim::Error (aimrun-torch: a c10::Error's without
  // its backtrace); e.what() when unset.
  std::function<std::string(const std::exception&)> what;
  // The exit code main() returns for the command's or an error's `code` (aimrun-torch's train
  // ends with _exit); `code` when unset. Not for a command-line error (CLI11's).
  std::function<int(int)> finish;
};

// Logging set up, the command names checked, `app` parsed and its command run: the
// command's exit code, or the error printed ("aimrun: error: ...") and its code: a
// command-line error 2 (help: 0), a ConfigError 2, any other 1 (core/exit_codes.h).
// `malloc_setting`: aim::keep_freed_memory_in_process()'s, logged at debug level.
int parse_and_run(CLI::App& app, int argc, char** argv, const std::string& malloc_setting, const MainHooks& hooks);

}  // namespace aim::cli
