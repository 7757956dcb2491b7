#include "runner/device.h"

#include <torch/cuda.h>

namespace aim {

c10::Device select_device(const Config& cfg, int local_rank) {
  const auto want = cfg.get_string("device");
  const bool cuda = torch::cuda::is_available();
  if (want == "cuda" && !cuda)
    cfg.fail("device", "CUDA is not available (this libtorch is built for the CPU, or no GPU is visible)");
  if (want == "cpu" || !cuda) return c10::Device(c10::kCPU);
  const int count = int(torch::cuda::device_count());
  if (local_rank >= count)
    cfg.fail("device", "local rank " + std::to_string(local_rank) + " needs a GPU of its own, this node has " +
                           std::to_string(count));
  return c10::Device(c10::kCUDA, c10::DeviceIndex(local_rank));
}

c10::Device device_of(const torch::nn::Module& model) {
  auto params = model.parameters();
  return params.empty() ? c10::Device(c10::kCPU) : params.front().device();
}

}  // namespace aim
