#pragma once
// Optimiser and learning-rate schedule from OptimizerSettings (runner/train_settings.h): SGD
// or AdamW, weight decay on weights only (unless told otherwise), linear warm-up then cosine
// decay, per optimiser step.
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>

#include "runner/train_settings.h"

namespace aim {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& o, torch::nn::Module& model);

// Releases the gradients (PyTorch's zero_grad(set_to_none=True)): the next backward pass
// writes each gradient once instead of adding it to a buffer of zeros.
void release_gradients(torch::optim::Optimizer& opt);

class LrSchedule {
 public:
  LrSchedule(const OptimizerSettings& o, int64_t epochs, int64_t steps_per_epoch);
  double at(int64_t step) const;  // 0-based global step
  void apply(torch::optim::Optimizer& opt, int64_t step) const;

 private:
  double peak_, min_;
  int64_t warmup_steps_, total_steps_;
  bool cosine_;
};

}  // namespace aim
