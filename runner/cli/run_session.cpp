#include "runner/cli/run_session.h"

#include <spdlog/spdlog.h>

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/exit_codes.h"
#include "core/files.h"
#include "core/host.h"
#include "core/log.h"
#include "core/memory_limit.h"
#include "core/stop_signal.h"
#include "core/strings.h"
#include "runner/cli/ranks.h"
#include "runner/comm/agree.h"
#include "runner/memory_guard.h"
#include "runner/session_ledger.h"

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

// FAILED holds the error of the run's last attempt (`sweep status`, `sweep run` read it).
void write_failed_file(const RunPaths& paths, const std::string& msg) {
  try {
    write_failed(paths, msg);
  } catch (const std::exception& e) {
    spdlog::error("cannot write {}: {}", paths.failed(), e.what());
  }
}

// How a session ends on an exception: its exit code and message, and whether it is a failure
// of the run (a stop, or a run another process trains, is not).
struct Ending {
  int code = kExitError;
  std::string message;
  bool failure = true;
};

Ending ending_of(const std::exception& e) {
  Ending end;
  const auto* c = dynamic_cast<const c10::Error*>(&e);
  end.message = c ? c->what_without_backtrace() : e.what();
  if (is_allocation_failure(e)) end.message = with_memory_limits(end.message);  // names the limit
  if (dynamic_cast<const StopRequested*>(&e))
    end.code = kExitStopped, end.failure = false;
  else if (dynamic_cast<const comm::RunBusy*>(&e))
    end.code = kExitBusy, end.failure = false;
  else if (dynamic_cast<const ConfigError*>(&e))
    end.code = kExitConfig;
  return end;
}

// Every rank's node and placement, gathered (see RunSession::hosts).
std::pair<std::string, std::string> all_hosts(comm::Communicator& comm) {
  const std::string mine =
      node_name() + ":" + std::to_string(comm.local_rank()) + "/" + std::to_string(comm.local_size());
  std::vector<std::string> hosts, placement;
  for (int r = 0; r < comm.world_size(); ++r) {
    auto p = comm::broadcast_text(comm, mine, r);
    placement.push_back(p);
    auto h = p.substr(0, p.rfind(':'));
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  return {join(hosts, ","), join(placement, " ")};
}

}  // namespace

RunSession::RunSession(comm::Communicator& comm, const Config& cfg, RunPaths paths)
    : comm_(comm), cfg_(cfg), paths_(std::move(paths)) {
  // A collective that waits past train.collective_timeout: another rank is stuck or dead.
  arm_watchdog(comm_, cfg_, [owned = owned_, paths = paths_, id = cfg_.run_id()](const std::string& msg) {
    spdlog::error("run {} failed: {}", id, msg);
    if (!owned->load()) return;
    write_failed_file(paths, msg);
    ledger_end(paths, kExitError, "failed: " + msg);
  });
  // A step stuck at the address-space limit (runner/memory_guard.h) ends the process.
  arm_memory_watch(cfg_, [owned = owned_, paths = paths_](const std::string& msg) {
    if (!owned->load()) return;
    write_failed_file(paths, msg);
    ledger_end(paths, kExitError, "failed: " + msg);
  });
}

// Rank 0 takes the folder: checks it is this run's before anything is written, creates it,
// locks it, opens its log, removes the temporary files of writes a killed process left.
// Every rank learns the outcome; then the ledger's start.
void RunSession::open(const FolderUse& use) {
  comm::run_agreed(comm_, [&] {
    if (comm_.rank() != 0) return;
    check_folder_is_run(paths_, cfg_.run_id(), use);
    ensure_dir(paths_.dir);
    if (!take_run_lock(lock_, paths_.lock()))
      throw comm::RunBusy("run " + cfg_.run_id() + " is already being trained by another process (" + paths_.lock() +
                          " is locked): left to it");
    add_log_file(paths_.log());
    for (const auto& name : remove_stale_temp_files(paths_.dir))
      spdlog::info("removed {} (left by an interrupted write)", name);
  });
  owned_->store(true);
  std::tie(hosts_, placement_) = all_hosts(comm_);
  if (comm_.rank() != 0) return;
  ledger_start(paths_, hosts_);
  ledger_open_ = true;
  if (comm_.world_size() > 1) spdlog::info("ranks on nodes (node:local rank/ranks there): {}", placement_);
}

int RunSession::run(const FolderUse& use, const std::function<int(RunSession&)>& body) {
  int code = kExitError;
  try {
    open(use);
    code = body(*this);
  } catch (const std::exception& e) {
    return end_with(e);
  }
  if (ledger_open_) ledger_end(paths_, code, "");
  return code;
}

int RunSession::end_with(const std::exception& e) {
  const Ending end = ending_of(e);
  if (end.code == kExitStopped) {  // before the first step: nothing to save
    spdlog::info("{}: stopping, nothing to save", end.message);
    if (ledger_open_) ledger_end(paths_, end.code, "");
    return end.code;
  }
  if (!end.failure) {  // busy: every rank knows (agreed); not a failure of the run, nothing to abort
    spdlog::warn("{}", end.message);
    return end.code;
  }
  // The error, once: by rank 0, or by the rank that found it alone.
  const bool agreed = comm::is_agreed(e);
  if (comm_.rank() == 0 || !agreed) {
    spdlog::error("run {} failed: {}", cfg_.run_id(), end.message);
    if (owned_->load()) write_failed_file(paths_, end.message);
  }
  if (ledger_open_) ledger_end(paths_, end.code, "failed: " + end.message);
  // An error on this rank alone: other ranks may be waiting in a collective; take the whole
  // job down. An agreed error ends every rank by itself.
  if (comm_.world_size() > 1 && !agreed) comm_.abort(kExitError);
  // Out of memory: libraries' threads may never have started or spin in an allocator, and
  // would hold exit() forever.
  if (is_allocation_failure(e)) end_process_now(end.message, kExitError);
  return end.code;
}

}  // namespace aim::cli
