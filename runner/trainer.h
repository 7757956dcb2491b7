#pragma once
// Trains one run: builds data and model from the config, trains with periodic evaluation
// and checkpoints, evaluates every split at the end and writes <run>/result.h5 (rank 0).
#include <atomic>
#include <string>

#include "core/config.h"
#include "data/dataset.h"
#include "aim/model.h"
#include "results/run_record.h"
#include "runner/evaluate.h"
#include "runner/comm/communicator.h"
#include "results/run_folder.h"

namespace aim {

struct TrainOptions {
  bool resume = true;  // continue from <run>/checkpoint.pt when there is one
  // Set asynchronously (a signal): the trainer checkpoints at the next step and stops.
  const std::atomic<bool>* stop_requested = nullptr;
  std::string hosts;  // every rank's host, comma-separated, for the result's metadata
  std::string placement;  // every rank's "node:local rank/local ranks", space-separated
};

enum class TrainOutcome { Completed, Stopped };

TrainOutcome train_run(const Config& cfg, const RunPaths& paths, comm::Communicator& comm,
                       const TrainOptions& options);

// PNG grids of the first and the least confident samples of the test split into
// <run>/pictures/ (rank 0, after the final evaluation).
void write_run_pictures(const Config& cfg, const RunPaths& paths, model::Model& model, const data::DatasetSplits& splits,
                        const results::RunRecord& record, const EvalOptions& eval);

// Threads for torch's intra-op pool: OMP_NUM_THREADS when set, else the cores this process
// may run on, shared between the ranks of this node when they all see the same cores.
int default_threads(int local_size);

}  // namespace aim
