#pragma once
// What a run carries from step to step and across a checkpoint: the position in training,
// the per-epoch sums, the curves so far and every rank's generator state.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "results/run_record.h"

namespace aim {

// What the per-epoch statistics hold, known on every rank before the first step (the loss
// parts from the model, the masked stages from the method), so that every collective over
// them carries the same number of values on every rank, whatever each rank has seen.
struct EpochLayout {
  std::vector<std::string> loss_parts;  // "ce", "area", ...
  size_t mask_stages = 0;
  int64_t bins = 0;  // mask-area histogram bins
  static const std::vector<std::string>& phases();  // data, forward, backward, comm_wait, optimizer
};

// Sums over the steps of one epoch on one rank (reduced over ranks at the epoch's end).
struct EpochSums {
  double loss = 0;
  int64_t correct = 0, seen = 0;
  std::map<std::string, double> parts;        // loss parts, weighted by batch size
  std::vector<double> area_sum, area_sumsq;   // per masked stage
  std::vector<std::vector<int64_t>> area_hist;
  // Seconds per phase of the step (data, forward, backward, comm_wait, optimizer), this rank.
  std::map<std::string, double> seconds;

  static EpochSums zeros(const EpochLayout& layout);  // every entry of the layout, all zero
  bool matches(const EpochLayout& layout) const;      // exactly the layout's entries
};

struct TrainState {
  std::string run_id;         // the run whose state this is (a checkpoint is read by its run only)
  int64_t epoch = 0;          // epochs completed
  int64_t step_in_epoch = 0;  // steps of the current epoch already done
  int64_t global_step = 0;
  int64_t world_size = 1;
  std::vector<std::string> class_names;  // what the model's outputs mean (predict needs it)
  double train_seconds = 0, eval_seconds = 0;
  EpochSums partial;          // of the current epoch, already summed over ranks
  results::RunRecord record;  // curves so far
  std::vector<at::Tensor> rng_states;  // per rank: torch CPU generator state
  // eval.select other than `last`: the best validation evaluation so far and its weights
  // (the model's parameters, then its buffers, in their order); best_epoch 0: none yet.
  int64_t best_epoch = 0;
  double best_score = 0;
  std::vector<at::Tensor> best_weights;
  // model.init_from: the CRC-32s (8 hex digits) of the upstream's checkpoint archive the
  // weights were read from and of its result.h5, at the start (runner/init_from.h); "" else.
  std::string init_checkpoint_crc32, init_result_crc32;
};

}  // namespace aim
