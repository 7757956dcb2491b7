#include "runner/model_sync.h"

#include <torch/torch.h>

#include <mutex>

namespace aim {

void broadcast_model(torch::nn::Module& model, comm::Communicator& comm) {
  if (comm.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) comm.broadcast(p, 0);
  for (auto& b : model.buffers()) comm.broadcast(b, 0);
}

void broadcast_buffers(torch::nn::Module& model, comm::Communicator& comm) {
  if (comm.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& b : model.buffers()) comm.broadcast(b, 0);
}

std::vector<at::Tensor> gather_rng_states(comm::Communicator& comm) {
  auto state = at::detail::getDefaultCPUGenerator().get_state();
  auto all = torch::zeros({comm.world_size(), state.numel()}, torch::kUInt8).to(torch::kLong);
  all[comm.rank()].copy_(state.to(torch::kLong));
  comm.allreduce_sum(all);
  std::vector<at::Tensor> out;
  for (int r = 0; r < comm.world_size(); ++r) out.push_back(all[r].to(torch::kUInt8).clone());
  return out;
}

void set_rng_state(const at::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace aim
