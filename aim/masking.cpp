#include "aim/masking.h"

#include <torch/torch.h>

#include <cmath>

namespace aim::model {

namespace nn = torch::nn;

MaskingOptions masking_options(const Config& cfg, const std::string& method) {
  MaskingOptions o;
  o.stages = cfg.get_int("method.stages");
  o.target = cfg.get_float("method.target");
  o.lambda = cfg.get_float("method.lambda");
  o.anneal_fraction = cfg.get_float("method.anneal_fraction");
  o.temperature = cfg.get_float("method.temperature");
  o.width = cfg.is_null("method.width") ? 0 : cfg.get_int("method.width");
  o.mask_width = cfg.is_null("method.mask_width") ? 0 : cfg.get_int("method.mask_width");
  o.mask_blocks = cfg.get_int("method.mask_blocks");
  o.deep_supervision = cfg.is_null("method.deep_supervision") ? method == "aim" : cfg.get_bool("method.deep_supervision");
  o.area_per_sample = cfg.get_string("method.area_loss") == "sample";
  o.keep_bias = cfg.get_float("method.keep_bias");
  return o;
}

double annealed_target(double target, double fraction, int64_t epoch, int64_t epochs) {
  const int64_t window = int64_t(std::llround(fraction * double(epochs)));
  if (window <= 1) return epoch < window ? 1.0 : target;  // too short to anneal: 1.0 then target
  double t = std::min(1.0, double(epoch) / double(window - 1));
  return 1.0 - (1.0 - target) * t;
}

namespace {
nn::Sequential conv_bn_relu(int64_t in, int64_t out, int64_t k) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2).bias(false)), nn::BatchNorm2d(out),
                        nn::ReLU(nn::ReLUOptions(true)));
}
}  // namespace

MaskEstimatorImpl::MaskEstimatorImpl(int64_t in_channels, int64_t hidden, int64_t blocks, double keep_bias) {
  stem_ = register_module("stem", conv_bn_relu(in_channels, hidden, 3));
  for (int64_t i = 0; i < blocks; ++i) {
    auto b = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(hidden, hidden, 3).padding(1).bias(false)),
                            nn::BatchNorm2d(hidden), nn::ReLU(nn::ReLUOptions(true)),
                            nn::Conv2d(nn::Conv2dOptions(hidden, hidden, 3).padding(1).bias(false)),
                            nn::BatchNorm2d(hidden));
    blocks_.push_back(register_module("block" + std::to_string(i), b));
  }
  context_ = register_module("context", nn::Conv2d(nn::Conv2dOptions(hidden, hidden, 1)));
  logits_ = register_module("logits", nn::Conv2d(nn::Conv2dOptions(hidden, 2, 1)));
  torch::NoGradGuard no_grad;
  logits_->bias[0].fill_(keep_bias);
  logits_->bias[1].fill_(0.0);
}

torch::Tensor MaskEstimatorImpl::forward(const torch::Tensor& x) {
  auto h = stem_->forward(x);
  for (auto& b : blocks_) h = torch::relu(h + b->forward(h));
  h = torch::relu(h + context_->forward(h.mean({2, 3}, /*keepdim=*/true)));
  return logits_->forward(h);
}

torch::Tensor binary_mask(const torch::Tensor& logits, double temperature, bool training) {
  if (!training) return (logits.select(1, 0) >= logits.select(1, 1)).unsqueeze(1).to(logits.dtype());
  // Gumbel(0,1) noise; the clamps keep log() finite.
  auto u = torch::rand_like(logits).clamp(1e-10, 1.0 - 1e-7);
  auto gumbel = -torch::log(-torch::log(u));
  auto soft = torch::softmax((logits + gumbel) / temperature, 1);
  auto hard = torch::zeros_like(soft).scatter_(1, soft.argmax(1, true), 1.0);
  auto straight_through = hard - soft.detach() + soft;
  return straight_through.narrow(1, 0, 1);
}

torch::Tensor area_loss(const std::vector<torch::Tensor>& masks, double tau, bool per_sample) {
  torch::Tensor total;
  for (const auto& m : masks) {
    auto r = m.mean({1, 2, 3});  // [B] each sample's active fraction
    auto term = per_sample ? (r - tau).pow(2).mean() : (r.mean() - tau).pow(2);
    total = total.defined() ? total + term : term;
  }
  return total;
}

LossTerms masking_loss(const ModelOutput& out, const torch::Tensor& labels, double tau, const MaskingOptions& o,
                       bool deep_supervision) {
  namespace F = torch::nn::functional;
  LossTerms t;
  auto ce = F::cross_entropy(out.logits, labels);
  torch::Tensor aux = torch::zeros({}, ce.options());
  if (deep_supervision)
    for (size_t k = 0; k + 1 < out.stage_logits.size(); ++k) aux = aux + F::cross_entropy(out.stage_logits[k], labels);
  auto area = area_loss(out.masks, tau, o.area_per_sample);
  t.total = ce + aux + o.lambda * area;
  t.parts["ce"] = ce.detach();
  t.parts["ce_deep_supervision"] = aux.detach();
  t.parts["area"] = area.detach();
  return t;
}

}  // namespace aim::model
