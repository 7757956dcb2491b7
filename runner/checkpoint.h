#pragma once
// Checkpoints hold everything a resumed run needs to end with the same numbers as an
// uninterrupted one: model (parameters and buffers), optimiser state, the position in
// training (epoch, step in epoch, global step), the partial sums of the current epoch,
// the curves so far, and every rank's random-generator state. Written by rank 0 to a
// temporary name, fsync'd and renamed.
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <map>
#include <string>
#include <vector>

#include "results/run_record.h"

namespace aim {

// Sums over the steps of one epoch on one rank (reduced over ranks at the epoch's end).
struct EpochSums {
  double loss = 0;
  int64_t correct = 0, seen = 0;
  std::map<std::string, double> parts;        // loss parts, weighted by batch size
  std::vector<double> area_sum, area_sumsq;   // per masked stage
  std::vector<std::vector<int64_t>> area_hist;
  // Seconds per phase of the step (data, forward, backward, comm_wait, optimizer), this rank.
  std::map<std::string, double> seconds;
};

struct TrainState {
  int64_t epoch = 0;          // epochs completed
  int64_t step_in_epoch = 0;  // steps of the current epoch already done
  int64_t global_step = 0;
  int64_t world_size = 1;
  std::vector<std::string> class_names;  // what the model's outputs mean (predict needs it)
  double train_seconds = 0, eval_seconds = 0;
  EpochSums partial;          // of the current epoch, already summed over ranks
  results::RunRecord record;  // curves so far
  std::vector<at::Tensor> rng_states;  // per rank: torch CPU generator state
};

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     const TrainState& state);
// Returns false when there is no checkpoint; throws aim::Error when it is unreadable.
// Tensors are mapped onto `device` (the model's).
bool load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     TrainState& state, c10::Device device = c10::Device(c10::kCPU));
// The state and the model only (no optimiser): for predicting from a trained run.
TrainState read_checkpoint_state(const std::string& path);
void load_checkpoint_model(const std::string& path, torch::nn::Module& model);

}  // namespace aim
