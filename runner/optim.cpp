#include "runner/optim.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

namespace aim {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Config& cfg, torch::nn::Module& model) {
  // Biases and normalisation weights (1-d parameters) are not decayed by default.
  std::vector<torch::Tensor> decay, no_decay;
  const bool decay_all = cfg.get_bool("train.decay_norm_and_bias");
  for (auto& p : model.parameters()) {
    if (!p.requires_grad()) continue;
    (decay_all || p.dim() > 1 ? decay : no_decay).push_back(p);
  }
  const double lr = cfg.get_float("train.lr"), wd = cfg.get_float("train.weight_decay");
  const auto name = cfg.get_string("train.optimizer");
  if (name == "sgd") {
    auto opts = torch::optim::SGDOptions(lr).momentum(cfg.get_float("train.momentum")).nesterov(cfg.get_bool("train.nesterov"));
    if (opts.nesterov() && opts.momentum() <= 0) cfg.fail("train.nesterov", "Nesterov momentum needs train.momentum > 0");
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(opts).weight_decay(wd)));
    if (!no_decay.empty())
      groups.emplace_back(no_decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(opts).weight_decay(0)));
    return std::make_unique<torch::optim::SGD>(std::move(groups), opts);
  }
  auto betas = cfg.get_float_list("train.betas");
  if (betas.size() != 2 || betas[0] < 0 || betas[0] >= 1 || betas[1] < 0 || betas[1] >= 1)
    cfg.fail("train.betas", "expected [beta1, beta2], each in [0, 1)");
  auto opts = torch::optim::AdamWOptions(lr).betas({betas[0], betas[1]});
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(opts).weight_decay(wd)));
  if (!no_decay.empty())
    groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(opts).weight_decay(0)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), opts);
}

void release_gradients(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

LrSchedule::LrSchedule(const Config& cfg, int64_t steps_per_epoch)
    : peak_(cfg.get_float("train.lr")),
      min_(cfg.get_float("train.min_lr")),
      warmup_steps_(int64_t(std::llround(cfg.get_float("train.warmup_epochs") * double(steps_per_epoch)))),
      total_steps_(cfg.get_int("train.epochs") * steps_per_epoch),
      cosine_(cfg.get_string("train.schedule") == "cosine") {}

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
