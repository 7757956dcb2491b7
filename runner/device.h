#pragma once
// Which device a rank computes on: `device: auto` takes the GPU of this rank's local rank
// when CUDA is there, else the CPU.
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include "core/config.h"

namespace aim {

c10::Device select_device(const Config& cfg, int local_rank);
c10::Device device_of(const torch::nn::Module& model);

}  // namespace aim
