// aimrun train CONFIG [key=value ...]: one run, in this process (or in each rank's).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/host.h"
#include "core/log.h"
#include "core/memory_limit.h"
#include "core/stop_signal.h"
#include "core/strings.h"
#include "results/run_folder.h"
#include "results/run_summary.h"
#include "runner/cli/commands.h"
#include "runner/cli/ranks.h"
#include "runner/comm/agree.h"
#include "runner/comm/launch.h"
#include "runner/device.h"
#include "runner/fault_injection.h"
#include "runner/init_from.h"
#include "runner/memory_guard.h"
#include "runner/schema.h"
#include "runner/session_ledger.h"
#include "runner/sweep/local_executor.h"
#include "runner/trainer.h"

namespace fs = std::filesystem;

namespace aim::cli {

namespace {

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

// The run's config with its world size: as launched unless the config names one, in which
// case the launch must match it (the world size is part of the run's identity).
Config load_config_for(const TrainArgs& args, int world) {
  Config cfg = load_run_config(args.config, args.overrides);
  const int64_t said = cfg.get_int("world_size");
  if (said == 0) {
    auto overrides = args.overrides;
    overrides.push_back("world_size=" + std::to_string(world));
    return load_run_config(args.config, overrides);
  }
  if (said != world)
    cfg.fail("world_size", "the run is for " + std::to_string(said) + " rank(s), but this job has " + std::to_string(world) +
                               " (launch it with " + std::to_string(said) + ", or set world_size: 0)");
  return cfg;
}

// Rank 0 takes the run folder: creates it, locks it, opens its log, removes the temporary
// files of writes a killed process left. Every rank learns the outcome.
void take_run_folder(comm::Communicator& comm, const Config& cfg, const RunPaths& paths, FileLock& lock) {
  comm::run_agreed(comm, [&] {
    if (comm.rank() != 0) return;
    ensure_dir(paths.dir);
    if (!take_run_lock(lock, paths.lock()))
      throw comm::RunBusy("run " + cfg.run_id() + " is already being trained by another process (" + paths.lock() +
                          " is locked): left to it");
    add_log_file(paths.log());
    for (const auto& name : remove_stale_temp_files(paths.dir))
      spdlog::info("removed {} (left by an interrupted write)", name);
  });
}

void record_failure(const RunPaths& paths, const std::string& id, const std::string& msg) {
  spdlog::error("run {} failed: {}", id, msg);
  try {
    write_failed(paths, msg);
  } catch (const std::exception& e) {
    spdlog::error("cannot write {}: {}", paths.failed(), e.what());
  }
}

// The collective watchdog: a collective that waits past train.collective_timeout ends the
// job with a message and FAILED (another rank is stuck or dead).
void arm_run_watchdog(comm::Communicator& comm, const Config& cfg, const RunPaths& paths) {
  arm_watchdog(comm, cfg, [paths, id = cfg.run_id()](const std::string& msg) {
    record_failure(paths, id, msg);
    ledger_end(paths, kExitError, "failed: " + msg);
  });
}

// Every rank's node, in rank order without repeats ("n1,n2"), and where each rank runs:
// "n1:0/2 n1:1/2 n2:0/2 n2:1/2" (node:local rank/ranks on that node, in rank order), for
// the result's metadata: placement is checked, not assumed.
std::pair<std::string, std::string> all_hosts(comm::Communicator& comm) {
  const std::string mine = node_name() + ":" + std::to_string(comm.local_rank()) + "/" + std::to_string(comm.local_size());
  std::vector<std::string> hosts, placement;
  for (int r = 0; r < comm.world_size(); ++r) {
    auto p = comm::broadcast_text(comm, mine, r);
    placement.push_back(p);
    auto h = p.substr(0, p.rfind(':'));
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  return {join(hosts, ","), join(placement, " ")};
}

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

int train_in_folder(const TrainArgs& args, comm::Communicator& comm, const Config& cfg, const RunPaths& paths,
                    const std::pair<std::string, std::string>& hosts, const FileLock& lock) {
  const int rank = comm.rank();
  RunFolderState found;
  if (rank == 0) found = inspect_run_folder(paths, ResultDepth::State);
  const bool done = comm::broadcast_flag(comm, rank == 0 && found.state == RunState::Done);
  if (done && !args.force) {
    if (rank == 0) {
      spdlog::info("run {} is complete already: {} (use --force to train it again)", cfg.run_id(), paths.result());
      if (!found.summary_problem.empty()) rewrite_summary(paths, found.summary_problem);
    }
    return 0;
  }
  comm::run_agreed(comm, [&] {
    if (rank != 0) return;
    write_text_atomic(paths.config(), cfg.to_yaml());
    std::error_code ec;
    fs::remove(paths.failed(), ec);
    if (args.restart) fs::remove(paths.checkpoint(), ec);
    if (args.force) fs::remove(paths.summary(), ec), fs::remove(paths.result(), ec);
  });
  auto outcome = train_run(cfg, paths, comm, {!args.restart, &stop_requested(), hosts.first, hosts.second, &lock});
  if (outcome == TrainOutcome::Stopped) return kExitStopped;
  if (rank == 0) spdlog::info("run {} complete: {}", cfg.run_id(), paths.result());
  fault_from_environment().fail_if_due(rank, Fault::kAtEnd);
  return 0;
}

int run_train(const TrainArgs& args) {
  // Until the collective watchdog is armed, a deadline: MPI_Init and the agreement on the
  // config wait for every rank too.
  auto startup = startup_deadline(startup_limit(args.config, args.overrides));
  auto comm = comm::make_communicator_from_environment();
  const int rank = comm->rank();
  Config cfg;
  c10::Device device = c10::kCPU;
  if (startup) startup->now_in("start-up (agreeing on the config)");
  comm::run_agreed(*comm, [&] {
    cfg = load_config_for(args, comm->world_size());
    check_run_config(cfg, comm->world_size());  // before the run folder exists
    check_memory_limits(run_threads(cfg, comm->local_size()), comm->local_size());
    check_init_from_ready(cfg);  // the upstream run is complete and fits
    device = select_device(cfg, comm->local_rank());  // one rank may lack its GPU
  });
  if (startup) startup->now_in("start-up (setting up the device's communicator)");
  comm = comm::for_device(std::move(comm), device);
  init_logging(rank, cfg.get_string("log_level"));
  const RunPaths paths = args.run_dir.empty() ? run_folder(cfg.get_string("output_dir"), cfg.run_id()) : RunPaths{args.run_dir};
  arm_run_watchdog(*comm, cfg, paths);
  arm_memory_watch(cfg, [paths, id = cfg.run_id()](const std::string& msg) {
    record_failure(paths, id, msg);
    ledger_end(paths, kExitError, "failed: " + msg);
  });
  startup.reset();
  FileLock lock;
  bool session_open = false;  // this process wrote a "start" to the run's session ledger
  try {
    take_run_folder(*comm, cfg, paths, lock);
    const auto hosts = all_hosts(*comm);
    if (rank == 0) ledger_start(paths, hosts.first);
    if (rank == 0 && comm->world_size() > 1) spdlog::info("ranks on nodes (node:local rank/ranks there): {}", hosts.second);
    session_open = rank == 0;
    int code = train_in_folder(args, *comm, cfg, paths, hosts, lock);
    if (session_open) ledger_end(paths, code, "");
    return code;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto* c = dynamic_cast<const c10::Error*>(&e)) msg = c->what_without_backtrace();
    if (is_allocation_failure(e)) msg = with_memory_limits(msg);  // names the limit
    if (dynamic_cast<const StopRequested*>(&e)) {  // before the first step: nothing to save
      spdlog::info("{}: stopping, nothing to save", msg);
      if (session_open) ledger_end(paths, kExitStopped, "");
      return kExitStopped;
    }
    const bool busy = dynamic_cast<const comm::RunBusy*>(&e) != nullptr;
    if (busy) {  // every rank knows (agreed): not a failure of the run, and nothing to abort
      spdlog::warn("{}", msg);
      return kTrainExitBusy;
    }
    if (!busy && (rank == 0 || !comm::is_agreed(e))) record_failure(paths, cfg.run_id(), msg);
    if (session_open) ledger_end(paths, dynamic_cast<const ConfigError*>(&e) ? kExitConfig : kExitError, "failed: " + msg);
    // An error on this rank alone: other ranks may be waiting in a collective, take the
    // whole job down. An agreed error ends every rank by itself.
    if (comm->world_size() > 1 && !comm::is_agreed(e)) comm->abort(kExitError);
    // Out of memory: libraries' threads may never have started or spin in an allocator, and
    // would hold exit() forever.
    if (is_allocation_failure(e)) end_process_now(msg, kExitError);
    throw;
  }
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
  cmd->add_option("--run-dir", args->run_dir, "run folder (default: <output_dir>/runs/<run-id>)")
      ->check(fits_path_limits(64));
  cmd->add_flag("--restart", args->restart, "ignore the run's checkpoint and train from scratch");
  cmd->add_flag("--force", args->force, "train again even when the run has a complete result");
  cmd->callback([args] { exit_code() = run_train(*args); });
}

}  // namespace aim::cli
