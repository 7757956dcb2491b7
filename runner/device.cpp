#include "runner/device.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

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

// The autocast API changed in PyTorch 2.4 (per device type); both are supported so that the
// same code builds against Debian's libtorch 1.13 and a current CUDA libtorch.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define AIM_AUTOCAST_PER_DEVICE 1
#endif

AutocastScope::AutocastScope(const c10::Device& device, bool bf16) : active_(bf16), type_(device.type()) {
  if (!active_) return;
#ifdef AIM_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_dtype(type_, at::kBFloat16);
  at::autocast::set_autocast_enabled(type_, true);
#else
  if (type_ == c10::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#ifdef AIM_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(type_, false);
#else
  if (type_ == c10::kCUDA)
    at::autocast::set_enabled(false);
  else
    at::autocast::set_cpu_enabled(false);
#endif
}

void to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

int default_threads(int local_size) {
  // A launcher or batch script that says how many threads a process gets is obeyed
  // (Slurm jobs from `aimrun sweep submit` set it to --cpus-per-task).
  if (const char* v = std::getenv("OMP_NUM_THREADS"); v && std::atoi(v) > 0) return std::atoi(v);
  cpu_set_t set;
  int cores = int(std::thread::hardware_concurrency());
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  // A launcher that binds ranks gives each its own cores; one that does not leaves every
  // rank the whole machine, to be shared.
  int machine = int(std::thread::hardware_concurrency());
  if (local_size > 1 && cores >= machine) cores /= local_size;
  return std::max(1, cores);
}

int run_threads(const Config& cfg, int local_size) {
  const auto threads = cfg.get_int("threads");
  return threads > 0 ? int(threads) : default_threads(local_size);
}

}  // namespace aim
