#pragma once
// Trains one run: builds data and model from the config, trains with periodic evaluation
// and checkpoints, evaluates every split at the end and writes <run>/result.h5 (rank 0).
// The parts: train_settings.h (the settings), train_step.h (one optimiser step),
// epoch_recorder.h (the curves), eval_schedule.h (when and what is evaluated),
// model_sync.h (what ranks keep equal), run_metadata.h, run_pictures.h, fault_injection.h.
#include <atomic>
#include <string>

#include "core/config.h"
#include "results/run_folder.h"
#include "runner/comm/communicator.h"

namespace aim {

class FileLock;  // core/file_lock.h

struct TrainOptions {
  bool resume = true;  // continue from <run>/checkpoint.pt when there is one
  // Set asynchronously (a signal): the trainer checkpoints at the next step and stops.
  const std::atomic<bool>* stop_requested = nullptr;
  std::string hosts;      // every rank's host, comma-separated, for the result's metadata
  std::string placement;  // every rank's "node:local rank/local ranks", space-separated
  // The run's lock (rank 0). When it is lost (core/file_lock.h: this process was frozen
  // and another took the run over), every rank ends at the next step with comm::RunBusy,
  // and no checkpoint or result is written: checked at every step, and again (on the file)
  // before each checkpoint and before the result.
  const FileLock* lock = nullptr;
  // A training budget (aimrun train --stop-after-epoch; a successive-halving rung): stop
  // after this epoch with a checkpoint and <run>/rung-<E>.yaml, its validation at that epoch
  // (runner/rung_result.h). 0, or train.epochs or more: train to train.epochs. Not part of
  // the run's identity: the schedule's horizon stays train.epochs, and a later session with
  // a larger budget continues from the checkpoint exactly as an uninterrupted run would.
  int64_t stop_after_epoch = 0;
};

// Budget: stopped at TrainOptions::stop_after_epoch, its rung result written.
enum class TrainOutcome { Completed, Stopped, Budget };

TrainOutcome train_run(const Config& cfg, const RunPaths& paths, comm::Communicator& comm, const TrainOptions& options);

}  // namespace aim
