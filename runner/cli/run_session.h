#pragma once
// One training process's session of a run: everything `aimrun train` does around the
// trainer, with a lifetime. Made once the config is agreed on; then run() takes the run
// folder (checks it is this run's: runner/run_binding.h; creates and locks it, opens
// train.log, removes what interrupted writes left), writes the session ledger's start,
// runs the body (the trainer) and ends: the ledger's end, and for a failure FAILED and the
// error, logged once. Its collective watchdog, armed from construction, ends a job stuck in
// a collective with the same record. Every exception becomes an exit code here
// (core/exit_codes.h): nothing reaches main().
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/file_lock.h"
#include "results/run_folder.h"
#include "runner/comm/communicator.h"
#include "runner/run_binding.h"

namespace aim::cli {

class RunSession {
 public:
  // Arms the collective watchdog (train.collective_timeout).
  RunSession(comm::Communicator& comm, const Config& cfg, RunPaths paths);
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  // Takes the folder, runs `body`, ends the session: the body's exit code, or its
  // exception's (a stop before training 75, a run busy elsewhere 4, a config error 2,
  // anything else 1). `use`: what the run discards of the folder (--restart, --force).
  int run(const FolderUse& use, const std::function<int(RunSession&)>& body);

  comm::Communicator& comm() { return comm_; }
  const Config& config() const { return cfg_; }
  const RunPaths& paths() const { return paths_; }
  const FileLock& lock() const { return lock_; }
  // Every rank's node, in rank order without repeats ("n1,n2"), and where each rank runs
  // ("n1:0/2 n1:1/2 n2:0/2 n2:1/2": node:local rank/ranks there).
  const std::string& hosts() const { return hosts_; }
  const std::string& placement() const { return placement_; }

 private:
  void open(const FolderUse& use);
  int end_with(const std::exception& e);

  comm::Communicator& comm_;
  Config cfg_;
  RunPaths paths_;
  FileLock lock_;
  std::string hosts_, placement_;
  // Set on every rank once rank 0 holds the folder: only then does a failure write FAILED
  // and the ledger (never into a folder this session did not take). Shared with the watchdog.
  std::shared_ptr<std::atomic<bool>> owned_ = std::make_shared<std::atomic<bool>>(false);
  bool ledger_open_ = false;  // rank 0 wrote the ledger's start
};

}  // namespace aim::cli
