// aimrun-torch: train, sweep, evaluate and report AIM and its baselines: every command. aimrun
// (runner/cli/main_light.cpp) execs it for the commands that need libtorch
// (runner/cli/command_list.cpp; docs/architecture.md, "Two executables").
#include <c10/util/Exception.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>

#include "core/allocator.h"
#include "core/log.h"
#include "core/memory_limit.h"
#include "core/oom_watch.h"
#include "core/stop_signal.h"
#include "core/strings.h"
#include "core/version.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/cli/main_common.h"

namespace {

// Before any library's initialisers (an executable's .preinit_array runs right after the
// dynamic loader): a failed allocation in libtorch's static initialisers, under an
// address-space limit just above what the loader needs, ends with the limit named too, not
// with "terminate called ... std::bad_alloc" (exit 134).
void install_terminate_early(int, char**, char**) { std::set_terminate(aim::cli::on_terminate); }

// Also before libtorch's initialisers (most of a second): `train`'s stop handlers, so that a
// stop that arrives while aimrun-torch is still loading is remembered (main() installs them
// again, which changes nothing). Here, not in core/stop_signal.cpp's own .preinit_array: there
// it ran in aimrun too, and unblocked the stops aimrun blocks until its exec of aimrun-torch.
void install_stop_handlers_early(int argc, char** argv, char**) {
  if (argc > 1 && argv[1] && std::strcmp(argv[1], "train") == 0) aim::install_stop_handlers();
}
__attribute__((section(".preinit_array"), used)) void (*aim_stop_preinit)(int, char**,
                                                                          char**) = install_stop_handlers_early;
__attribute__((section(".preinit_array"), used)) void (*aim_terminate_preinit)(int, char**,
                                                                               char**) = install_terminate_early;

// `train` ends with _exit after an error: threads of a library that failed to allocate (a
// BLAS thread spinning in its allocator, a thread pool waiting for a thread never created)
// would hold exit() forever. Nothing of the run is left unwritten by then.
int finish(const std::string& command, int code) {
  if (command != "train" || code == 0) return code;
  spdlog::shutdown();
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  aim::end_oom_watch();
  _exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  // `aimrun train` owns USR2/TERM/INT from the first instruction: a stop asked for during
  // start-up is a clean stop (exit 75), not a killed rank (core/stop_signal.h).
  if (argc > 1 && std::string(argv[1]) == "train") {
    aim::install_stop_handlers();
    aim::start_oom_watch();  // names a cgroup OOM kill, which leaves this process no word (core/oom_watch.h)
    std::atexit(aim::end_oom_watch);
  }
  const std::string malloc_setting = aim::keep_freed_memory_in_process();  // before any tensor
  const std::string command = argc > 1 ? argv[1] : "";
  CLI::App app{aim::cli::kAimrunAbout};
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
  aim::cli::MainHooks hooks;
  hooks.what = [](const std::exception& e) {
    const auto* c = dynamic_cast<const c10::Error*>(&e);
    return std::string(c ? c->what_without_backtrace() : e.what());
  };
  hooks.finish = [&command](int code) { return finish(command, code); };
  return aim::cli::parse_and_run(app, argc, argv, malloc_setting, hooks);
}
