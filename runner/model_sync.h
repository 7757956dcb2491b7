#pragma once
// What data parallelism keeps equal across ranks besides the gradients: the parameters and
// buffers at the start, the BatchNorm buffers at every step (as DDP's broadcast_buffers),
// and every rank's generator state for a checkpoint.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <vector>

#include "runner/comm/communicator.h"

namespace aim {

// Every rank starts from rank 0's parameters and buffers (BatchNorm statistics included).
void broadcast_model(torch::nn::Module& model, comm::Communicator& comm);
// Every step starts from rank 0's buffers, so running statistics, evaluation and
// checkpoints agree on all ranks.
void broadcast_buffers(torch::nn::Module& model, comm::Communicator& comm);
// Every rank's CPU generator state, gathered on every rank (one per rank, in rank order).
std::vector<at::Tensor> gather_rng_states(comm::Communicator& comm);
void set_rng_state(const at::Tensor& state);

}  // namespace aim
