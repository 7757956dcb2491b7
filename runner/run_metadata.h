#pragma once
// What every result file (train's result.h5, evaluate's evaluation.h5) says about the run it
// describes: its identity and resolved config, the method, dataset and backbone, the
// evaluation protocol (which class is explained, which epoch rule), and the code and library
// versions. One function, so that the two files cannot drift apart.
#include <cstdint>
#include <string>

#include "core/config.h"
#include "results/run_folder.h"
#include "results/run_record.h"

namespace aim {

void describe_run(const Config& cfg, results::RunRecord& rec);

// How a training session ran, for the result's metadata (train's result.h5 only).
struct TrainingFacts {
  std::string hosts;           // every rank's host, comma-separated
  std::string placement;       // every rank's "node:local rank/local ranks"
  std::string backend;         // the communicator's
  int64_t selected_epoch = 0;  // the epoch whose weights the final evaluation scored
  uint64_t seed = 0;
  int world_size = 1;
  int64_t global_batch = 0;
  int threads_per_rank = 1;
  int64_t parameters = 0;
  double train_seconds = 0, eval_seconds = 0, wall_seconds_last_session = 0;
  double peak_memory_train_mib = 0;  // before the final evaluation
};

// The facts, this host, the time, the peak memory and the session ledger of `paths`.
void describe_training(const TrainingFacts& facts, const RunPaths& paths, results::RunRecord& rec);

// This process's peak resident memory in MiB (VmHWM: since exec, unlike getrusage's
// ru_maxrss, which keeps the high-water mark of the process it was forked from). NaN where
// /proc is not available.
double peak_resident_mib();

}  // namespace aim
