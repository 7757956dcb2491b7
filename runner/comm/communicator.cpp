#include "runner/comm/communicator.h"

#include <torch/torch.h>

namespace aim::comm {

namespace {

// The sum in flight; wait() divides once it has arrived.
class AverageOnWait : public Work {
 public:
  AverageOnWait(std::unique_ptr<Work> sum, at::Tensor t, int world)
      : sum_(std::move(sum)), t_(std::move(t)), world_(world) {}
  void wait() override {
    if (!sum_) return;
    sum_->wait();
    sum_.reset();
    if (world_ > 1) t_.mul_(1.0 / double(world_));
  }

 private:
  std::unique_ptr<Work> sum_;
  at::Tensor t_;
  int world_;
};

}  // namespace

std::unique_ptr<Work> Communicator::allreduce_average_async(at::Tensor t) {
  auto sum = allreduce_sum_async(t);
  return std::make_unique<AverageOnWait>(std::move(sum), std::move(t), world_size());
}

}  // namespace aim::comm
