#include "runner/optim.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

namespace aim {

namespace {

// Weights in one group, biases and normalisation weights (1-d parameters) in a second one
// without weight decay (unless o.decay_norm_and_bias).
template <class Options, class Optimizer>
std::unique_ptr<torch::optim::Optimizer> grouped(const OptimizerSettings& o, torch::nn::Module& model,
                                                 const Options& opts) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model.parameters()) {
    if (!p.requires_grad()) continue;
    (o.decay_norm_and_bias || p.dim() > 1 ? decay : no_decay).push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<Options>(Options(opts).weight_decay(o.weight_decay)));
  if (!no_decay.empty()) groups.emplace_back(no_decay, std::make_unique<Options>(Options(opts).weight_decay(0)));
  return std::make_unique<Optimizer>(std::move(groups), opts);
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& o, torch::nn::Module& model) {
  if (o.adamw)
    return grouped<torch::optim::AdamWOptions, torch::optim::AdamW>(
        o, model, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}));
  return grouped<torch::optim::SGDOptions, torch::optim::SGD>(
      o, model, torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov));
}

void release_gradients(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

LrSchedule::LrSchedule(const OptimizerSettings& o, int64_t epochs, int64_t steps_per_epoch)
    : peak_(o.lr),
      min_(o.min_lr),
      warmup_steps_(int64_t(std::llround(o.warmup_epochs * double(steps_per_epoch)))),
      total_steps_(epochs * steps_per_epoch),
      cosine_(o.cosine) {}

double LrSchedule::at(int64_t step) const {
  // Warm-up reaches the peak at the end of its last step (step + 1), never at 0.
  if (step < warmup_steps_) return peak_ * double(step + 1) / double(warmup_steps_);
  if (!cosine_) return peak_;
  int64_t span = std::max<int64_t>(1, total_steps_ - warmup_steps_);
  double t = std::min(1.0, double(step - warmup_steps_) / double(span));
  return min_ + 0.5 * (peak_ - min_) * (1.0 + std::cos(M_PI * t));
}

void LrSchedule::apply(torch::optim::Optimizer& opt, int64_t step) const {
  double lr = at(step);
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

}  // namespace aim
