#pragma once
// Checkpoints hold everything a resumed run needs to end with the same numbers as an
// uninterrupted one: model (parameters and buffers), optimiser state, the position in
// training (epoch, step in epoch, global step), the partial sums of the current epoch,
// the curves so far, and every rank's random-generator state. Written by rank 0 to a
// temporary name, fsync'd and renamed.
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runner/train_state.h"

namespace aim {

// The header names state.run_id: the file is bound to its run.
void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     const TrainState& state);
// Every reader names the run it reads for (`run_id`): a checkpoint of another run (copied or
// moved into this folder) is refused with aim::DataError naming both runs; "" reads any
// (files written before checkpoints named their run are read as they are).
// Returns false when there is no checkpoint; throws aim::Error when it is unreadable.
// Tensors are mapped onto `device` (the model's).
bool load_checkpoint(const std::string& path, const std::string& run_id, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, TrainState& state,
                     c10::Device device = c10::Device(c10::kCPU));
// The state and the model only (no optimiser): for predicting from a trained run. A run with
// eval.select other than `last` gets the weights it selected and evaluated.
TrainState read_checkpoint_state(const std::string& path, const std::string& run_id);
void load_checkpoint_model(const std::string& path, const std::string& run_id, torch::nn::Module& model);
// The run its header names, from the first line alone ("" when there is no such file, or it
// names none). Not verified: for telling whose a file is before anything is written.
std::string checkpoint_run_id(const std::string& path);
// The CRC-32 of its archive (the bytes its weights are read from), as its header records it.
uint32_t checkpoint_crc32(const std::string& path);
// The root attribute of result.h5 (and key of its summary's text) that records the CRC-32 of
// the checkpoint the run ended with (8 hex digits; absent in runs of an aimrun before it).
inline constexpr const char* kCheckpointCrc32 = "checkpoint_crc32";

// The model's parameters then buffers, copied (eval.select's best weights), and put back.
std::vector<at::Tensor> copy_weights(torch::nn::Module& model);
void apply_weights(torch::nn::Module& model, const std::vector<at::Tensor>& weights);

}  // namespace aim
