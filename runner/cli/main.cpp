// aimrun: train, sweep, evaluate and report AIM and its baselines.
#include <c10/util/Exception.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "core/allocator.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory_limit.h"
#include "core/oom_watch.h"
#include "core/stop_signal.h"
#include "core/strings.h"
#include "core/version.h"
#include "runner/cli/commands.h"

namespace {

// A misspelt command (`aimrun tarin c.yaml`, `aimrun sweep stauts`) is named, with the
// closest command and the list, before CLI11 answers "A subcommand is required". Walks the
// leading words of argv down the commands that have subcommands.
void check_command_names(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path = "aimrun";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    auto subs = at->get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
    if (subs.empty() || word.empty() || word[0] == '-') return;
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (auto* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->check_name(word)) next = sub;
    }
    if (!next) {
      const std::string hint = aim::closest_match(word, names);
      throw aim::ConfigError("unknown command '" + word + "'" + (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
                             "\n  the commands of " + path + ": " + aim::join(names, ", ") + " (" + path + " --help)");
    }
    at = next;
    path += " " + word;
  }
}

// An exception no code catches (one thrown in a library's thread): a failed allocation ends
// the process with the memory limits named instead of "terminate called ..." and an abort.
[[noreturn]] void on_terminate() {
  try {
    if (auto e = std::current_exception()) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    if (!aim::is_allocation_failure(x)) aim::end_process_now(x.what(), 134);
    try {
      aim::end_process_now(aim::with_memory_limits(x.what()), aim::kExitError);
    } catch (...) {  // not even the message fits: said without allocating
      static char line[320];
      struct rlimit as {};
      if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
        std::snprintf(line, sizeof line,
                      "std::bad_alloc, and no memory left to say more: this process has the address-space limit "
                      "(ulimit -v) of %llu MiB: raise it (the job's memory, `ulimit -v`)",
                      static_cast<unsigned long long>(as.rlim_cur >> 20));
      else
        std::snprintf(line, sizeof line,
                      "std::bad_alloc in a thread, and no memory left to say more: this process is at its memory "
                      "limit (the job's memory)");
      aim::end_process_now(line, aim::kExitError);
    }
  } catch (...) {
  }
  aim::end_process_now("terminated by an uncaught exception", 134);
}

// Before any library's initialisers (an executable's .preinit_array runs right after the
// dynamic loader): a failed allocation in libtorch's static initialisers, under an
// address-space limit just above what the loader needs, ends with the limit named too, not
// with "terminate called ... std::bad_alloc" (exit 134).
void install_terminate_early(int, char**, char**) { std::set_terminate(on_terminate); }
__attribute__((section(".preinit_array"), used)) void (*aim_terminate_preinit)(int, char**,
                                                                               char**) = install_terminate_early;

// An exception main() catches: a failed allocation (one of parsing the command line, or
// loading the config, under a memory limit) says which limits this process has.
std::string error_text(const std::exception& e, const std::string& what) {
  if (!aim::is_allocation_failure(e)) return what;
  try {
    return aim::with_memory_limits(what);
  } catch (...) {
    return what;
  }
}

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
    check_command_names(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? aim::kExitOk : aim::kExitConfig;
  } catch (const aim::ConfigError& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return finish(command, aim::kExitConfig);
  } catch (const aim::Error& e) {
    std::cerr << "aimrun: error: " << e.what() << std::endl;
    return finish(command, aim::kExitError);
  } catch (const c10::Error& e) {
    std::cerr << "aimrun: error: " << error_text(e, e.what_without_backtrace()) << std::endl;
    return finish(command, aim::kExitError);
  } catch (const std::exception& e) {
    std::cerr << "aimrun: error: " << error_text(e, e.what()) << std::endl;
    return finish(command, aim::kExitError);
  }
  return finish(command, aim::cli::exit_code());
}
