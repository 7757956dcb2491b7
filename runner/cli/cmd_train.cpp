// aimrun train CONFIG [key=value ...]: one run, in this process (or in each rank's). It reads
// as parse -> session -> train: the config agreed on by every rank (start_up), a RunSession
// around the run (runner/cli/run_session.h: folder, lock, ledger, FAILED, watchdog, exit
// code), and the trainer inside it (train_in_folder).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/exit_codes.h"
#include "core/files.h"
#include "core/log.h"
#include "core/memory_limit.h"
#include "core/stop_signal.h"
#include "results/run_folder.h"
#include "results/run_summary.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/cli/ranks.h"
#include "runner/cli/run_session.h"
#include "runner/cli/train_args.h"
#include "runner/comm/agree.h"
#include "runner/comm/launch.h"
#include "runner/device.h"
#include "runner/fault_injection.h"
#include "runner/init_from_check.h"
#include "runner/memory_guard.h"
#include "runner/schema.h"
#include "runner/trainer.h"

namespace fs = std::filesystem;

namespace aim::cli {

namespace {

// A complete run whose summary is missing or fails a check (a process killed between
// result.h5 and its summary, a run of an older aimrun, a damaged file): written again.
void rewrite_summary(const RunPaths& paths, const std::string& why) {
  try {
    results::rebuild_run_summary(paths);
    spdlog::warn("{}: written again from result.h5 ({})", paths.summary(), why);
  } catch (const std::exception& e) {
    spdlog::warn("{} ({}) could not be written again: {}", paths.summary(), why, e.what());
  }
}

// The run in its session's folder: nothing to do when it is complete already (unless
// --force), else config.yaml written, what --restart and --force discard removed, trained.
int train_in_folder(const TrainArgs& args, RunSession& session) {
  auto& comm = session.comm();
  const Config& cfg = session.config();
  const RunPaths& paths = session.paths();
  const int rank = comm.rank();
  RunFolderState found;
  if (rank == 0) found = inspect_run_folder(paths, ResultDepth::State, cfg.run_id());
  const bool done = comm::broadcast_flag(comm, rank == 0 && found.state == RunState::Done);
  if (done && !args.force) {
    if (rank == 0) {
      spdlog::info("run {} is complete already: {} (use --force to train it again)", cfg.run_id(), paths.result());
      if (!found.summary_problem.empty()) rewrite_summary(paths, found.summary_problem);
    }
    return kExitOk;
  }
  comm::run_agreed(comm, [&] {
    if (rank != 0) return;
    write_text_atomic(paths.config(), cfg.to_yaml());
    std::error_code ec;
    fs::remove(paths.failed(), ec);
    if (args.restart) fs::remove(paths.checkpoint(), ec);
    if (args.force) fs::remove(paths.summary(), ec), fs::remove(paths.result(), ec);
  });
  const TrainOptions options{!args.restart,       &stop_requested(), session.hosts(),
                             session.placement(), &session.lock(),   args.stop_after_epoch};
  const auto outcome = train_run(cfg, paths, comm, options);
  if (outcome == TrainOutcome::Stopped) return kExitStopped;
  if (outcome == TrainOutcome::Budget) return kExitOk;
  if (rank == 0) spdlog::info("run {} complete: {}", cfg.run_id(), paths.result());
  fault_from_environment().fail_if_due(rank, Fault::kAtEnd);
  return kExitOk;
}

// Every rank agrees on the config (and the upstream it starts from, and its device) before
// a run folder is touched; an error here reaches main() and is printed there, once.
struct StartedRun {
  std::unique_ptr<comm::Communicator> comm;
  Config cfg;
  RunPaths paths;
};

StartedRun start_up(const TrainArgs& args, comm::Deadline* startup) {
  StartedRun run;
  run.comm = comm::make_communicator_from_environment();
  c10::Device device = c10::kCPU;
  if (startup) startup->now_in("start-up (agreeing on the config)");
  comm::run_agreed(*run.comm, [&] {
    run.cfg = checked_train_config(args, run.comm->world_size());  // before the run folder exists (aimrun's check)
    check_memory_limits(run_threads(run.cfg, run.comm->local_size()), run.comm->local_size());
    check_init_from_ready(run.cfg);                           // the upstream run is complete, its own and fits
    device = select_device(run.cfg, run.comm->local_rank());  // one rank may lack its GPU
  });
  if (startup) startup->now_in("start-up (setting up the device's communicator)");
  run.comm = comm::for_device(std::move(run.comm), device);
  init_logging(run.comm->rank(), run.cfg.get_string("log_level"));
  run.paths =
      args.run_dir.empty() ? run_folder(run.cfg.get_string("output_dir"), run.cfg.run_id()) : RunPaths{args.run_dir};
  return run;
}

int run_train(const TrainArgs& args) {
  // Until the collective watchdog is armed (by the session), a deadline: MPI_Init and the
  // agreement on the config wait for every rank too.
  auto startup = startup_deadline(startup_limit(args.config, args.overrides));
  StartedRun run = start_up(args, startup.get());
  RunSession session(*run.comm, run.cfg, run.paths);
  startup.reset();
  return session.run({args.restart, args.force}, [&](RunSession& s) { return train_in_folder(args, s); });
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", command_help("train"));
  add_train_options(*cmd, *args);
  cmd->callback([args] { exit_code() = run_train(*args); });
}

}  // namespace aim::cli
