// aimrun: the commands that need no model run here, in a process that loads neither libtorch
// nor MPI, CUDA or NCCL (about 0.65 s of CPU before main() in aimrun-torch); a command that
// needs them (runner/cli/command_list.cpp) is exec'd as aimrun-torch, next to this file, with
// the same argv and environment: same PID, signals and exit code. A `train` is exec'd from
// main(), once its config passed the checks train runs first (runner/cli/light_check.h): a
// config error is found here, as aimrun-torch would say it (docs/architecture.md, "Two
// executables").
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>

#include "core/allocator.h"
#include "core/version.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/cli/light_check.h"
#include "runner/cli/main_common.h"

namespace {

char torch_path[PATH_MAX + 32];  // aimrun-torch next to this executable
int exec_errno = 0;              // why execv() failed (0: not tried)
char** start_envp = nullptr;     // the environment this process started with

// The path of aimrun-torch: the folder of /proc/self/exe (links resolved). False when
// /proc/self/exe cannot be read (errno).
bool find_torch_executable() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return false;
  self[n] = '\0';
  char* slash = std::strrchr(self, '/');
  if (slash) slash[1] = '\0';
  std::snprintf(torch_path, sizeof torch_path, "%s%s", slash ? self : "./", aim::cli::kTorchExecutable);
  return true;
}

// Replaces this process with aimrun-torch; returns only when that failed (exec_errno).
void exec_torch(char** argv, char** envp) {
  if (!find_torch_executable()) {
    exec_errno = errno ? errno : ENOENT;
    return;
  }
  // envp, not environ: libc sets environ in its own initialiser, after .preinit_array (it is
  // NULL there; an exec with it passed no environment: no MPI variables, no LD_PRELOAD).
  execve(torch_path, argv, envp);
  exec_errno = errno;  // main() says so
}

// From .preinit_array: before any initialiser of this executable's libraries. `train` blocks
// USR2/TERM/INT first: a stop sent before aimrun-torch has its handlers stays pending (the
// mask and pending signals survive exec), and aimrun-torch unblocks them once its handlers
// are in place (core/stop_signal.cpp), so it is the clean stop it was before (exit 75).
// `train` is exec'd from main(), after its config's check; the other commands from here.
void exec_torch_command(int argc, char** argv, char** envp) {
  start_envp = envp;
  if (argc < 2 || !aim::cli::runs_in_aimrun_torch(argv[1])) return;
  if (std::strcmp(argv[1], "train") == 0) {
    sigset_t stops;
    sigemptyset(&stops);
    for (int sig : {SIGUSR2, SIGTERM, SIGINT}) sigaddset(&stops, sig);
    sigprocmask(SIG_BLOCK, &stops, nullptr);
    return;
  }
  exec_torch(argv, envp);
}
__attribute__((section(".preinit_array"), used)) void (*aim_exec_preinit)(int, char**, char**) = exec_torch_command;

void install_terminate_early(int, char**, char**) { std::set_terminate(aim::cli::on_terminate); }
__attribute__((section(".preinit_array"), used)) void (*aim_terminate_preinit)(int, char**,
                                                                               char**) = install_terminate_early;

// The commands of aimrun-torch, listed with their help (`aimrun --help`, a misspelt command's
// hint); they never run here.
void add_torch_command_names(CLI::App& app, const aim::cli::CommandInfo& c) { app.add_subcommand(c.name, c.help); }

// A command of aimrun-torch: a `train` whose config fails its first checks is answered
// here (exit 2); the rest is exec'd, and what returns is the failed exec.
int run_torch_command(int argc, char** argv) {
  if (std::strcmp(argv[1], "train") == 0) {
    if (const auto error = aim::cli::train_config_error(argc, argv)) {
      std::cerr << "aimrun: error: " << *error << std::endl;
      return aim::kExitConfig;
    }
    exec_torch(argv, start_envp);
  }
  std::cerr << "aimrun: error: cannot run 'aimrun " << argv[1]
            << "': " << (torch_path[0] ? torch_path : "/proc/self/exe") << ": " << std::strerror(exec_errno)
            << "\n  (aimrun-torch runs the commands that load libtorch; it is built next to aimrun: "
               "cmake --build build --target aimrun)"
            << std::endl;
  return aim::kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && aim::cli::runs_in_aimrun_torch(argv[1])) return run_torch_command(argc, argv);
  const std::string malloc_setting = aim::keep_freed_memory_in_process();
  CLI::App app{aim::cli::kAimrunAbout};
  app.require_subcommand(1);
  app.set_version_flag("--version", aim::aimrun_version());
  // The commands that run here; every other command of the list runs in aimrun-torch.
  const std::map<std::string, void (*)(CLI::App&)> here = {{"sweep", aim::cli::add_sweep_command},
                                                           {"report", aim::cli::add_report_command},
                                                           {"collect", aim::cli::add_collect_command},
                                                           {"summarize", aim::cli::add_summarize_command},
                                                           {"config", aim::cli::add_config_command}};
  aim::cli::MainHooks hooks;
  hooks.set_up = [&] {
    for (const auto& c : aim::cli::aimrun_commands())
      c.needs_torch ? add_torch_command_names(app, c) : here.at(c.name)(app);
  };
  return aim::cli::parse_and_run(app, argc, argv, malloc_setting, hooks);
}
