#pragma once
// Which device a rank computes on: `device: auto` takes the GPU of this rank's local rank
// when CUDA is there, else the CPU.
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include "core/config.h"
#include "runner/run_keys.h"  // add_device_keys

namespace aim {

c10::Device select_device(const Config& cfg, int local_rank);

// Threads for torch's intra-op pool: OMP_NUM_THREADS when set, else the cores this process
// may run on, shared between the ranks of this node when they all see the same cores.
int default_threads(int local_size);
// The threads a rank uses: the `threads` key, or default_threads() when it is 0.
int run_threads(const Config& cfg, int local_size);
c10::Device device_of(const torch::nn::Module& model);

// Mixed precision for the forward pass and the loss (train.precision: bf16): autocast on the
// device's type while in scope; backward runs outside it, as in PyTorch.
class AutocastScope {
 public:
  AutocastScope(const c10::Device& device, bool bf16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_;
  c10::DeviceType type_;
};

// Convolution weights in channels-last layout (faster convolutions on tensor-core GPUs).
void to_channels_last(torch::nn::Module& model);

}  // namespace aim
