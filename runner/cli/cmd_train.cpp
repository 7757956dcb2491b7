// aimrun train CONFIG [key=value ...]: one run, in this process (or in each rank's).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "runner/cli/commands.h"
#include "runner/comm/launch.h"
#include "runner/device.h"
#include "runner/sweep/local_executor.h"
#include "runner/schema.h"
#include "runner/trainer.h"

namespace fs = std::filesystem;

namespace aim::cli {

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> interrupts{0};

// One place for signals: USR2 (Slurm's warning before the time limit or preemption) and
// TERM ask for a checkpoint at the next step boundary; a second Ctrl-C quits at once.
void on_signal(int sig) {
  if (sig == SIGINT && interrupts.fetch_add(1) >= 1) _exit(130);
  stop_requested = true;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGUSR2, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
}

// A `sweep status` or `sweep run` elsewhere may hold the lock for a moment to probe it
// (is_locked_by_other): a lock still taken after a second belongs to a training process.
bool take_run_lock(FileLock& lock, const std::string& path) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (lock.try_lock(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  bool restart = false;
  bool force = false;
};

int run_train(const TrainArgs& args) {
  auto comm = comm::make_communicator_from_environment();
  const int rank = comm->rank();
  Config cfg = load_run_config(args.config, args.overrides);
  comm = comm::for_device(std::move(comm), select_device(cfg, comm->local_rank()));
  init_logging(rank, cfg.get_string("log_level"));
  RunPaths paths{args.run_dir.empty() ? cfg.get_string("output_dir") + "/runs/" + cfg.run_id() : args.run_dir};

  FileLock lock;
  if (rank == 0) {
    ensure_dir(paths.dir);
    if (!take_run_lock(lock, paths.lock())) {
      spdlog::warn("run {} is already being trained by another process ({} is locked): left to it", cfg.run_id(), paths.lock());
      if (comm->world_size() > 1) comm->abort(kTrainExitBusy);
      return kTrainExitBusy;
    }
    add_log_file(paths.log());
  }
  comm->barrier();
  if (fs::exists(paths.result()) && !args.force) {
    if (rank == 0) spdlog::info("run {} is complete already: {} (use --force to train it again)", cfg.run_id(), paths.result());
    return 0;
  }
  if (rank == 0) {
    write_text_atomic(paths.config(), cfg.to_yaml());
    std::error_code ec;
    fs::remove(paths.failed(), ec);
    if (args.restart) fs::remove(paths.checkpoint(), ec);
    if (args.force) fs::remove(paths.result(), ec);
  }
  install_signal_handlers();
  TrainOutcome outcome;
  try {
    outcome = train_run(cfg, paths, *comm, {!args.restart, &stop_requested});
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto* c = dynamic_cast<const c10::Error*>(&e)) msg = c->what_without_backtrace();
    spdlog::error("run {} failed: {}", cfg.run_id(), msg);
    try {
      write_text_atomic(paths.failed(), msg + "\n");
    } catch (...) {
    }
    // Other ranks may be waiting in a collective: take the whole job down.
    if (comm->world_size() > 1) comm->abort(kExitError);
    throw;
  }
  if (outcome == TrainOutcome::Stopped) return kExitStopped;
  if (rank == 0) spdlog::info("run {} complete: {}", cfg.run_id(), paths.result());
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train",
                                 "Train one run from a YAML config and write <output_dir>/runs/<run-id>/result.h5.\n"
                                 "Resumes from the run's checkpoint when there is one. Under mpirun or srun, every\n"
                                 "rank runs this command.");
  cmd->add_option("config", args->config, "YAML config (see docs/config-reference.md)")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args->overrides, "key=value overrides, e.g. train.epochs=5 method.name=aim");
  cmd->add_option("--run-dir", args->run_dir, "run folder (default: <output_dir>/runs/<run-id>)");
  cmd->add_flag("--restart", args->restart, "ignore the run's checkpoint and train from scratch");
  cmd->add_flag("--force", args->force, "train again even when the run has a complete result");
  cmd->callback([args] { exit_code() = run_train(*args); });
}

}  // namespace aim::cli
