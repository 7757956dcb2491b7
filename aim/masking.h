#pragma once
// What the masking methods share: the mask estimator M_l, binary masks by hard Gumbel-softmax
// with straight-through gradients, the area loss and its annealed target.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "aim/model.h"
#include "core/config.h"

namespace aim::model {

struct MaskingOptions {
  int64_t stages = 2;             // K: how many of the last backbone stages are masked
  double target = 0.25;           // final target active fraction tau
  double lambda = 6.0;            // weight of the area loss
  double anneal_fraction = 0.5;   // tau goes linearly from 1.0 to target over this part of training
  double temperature = 1.0;       // Gumbel-softmax temperature
  int64_t width = 0;              // AIM's common top-down width (0: auto)
  int64_t mask_width = 0;         // hidden width of the mask estimator (0: auto)
  int64_t mask_blocks = 1;        // residual blocks in the mask estimator
  bool deep_supervision = true;   // a classifier and cross-entropy per masked stage (AIM: true, bottom-up: false)
  bool area_per_sample = false;   // area loss: mean_b (r_b - tau)^2 instead of (mean_b r_b - tau)^2
  double keep_bias = 2.0;         // initial keep-minus-drop logit: masks start mostly open
};

// `method` fills the defaults that depend on it (method.deep_supervision: ~).
MaskingOptions masking_options(const Config& cfg, const std::string& method);

// Target active fraction in `epoch` (0-based) of `epochs`: 1.0 in epoch 0, falling linearly to
// `target` at the last epoch of the annealing window (the first round(fraction * epochs)
// epochs), then held.
double annealed_target(double target, double fraction, int64_t epoch, int64_t epochs);

// M_l: 3x3 conv, residual blocks, a global-pooling branch that adds image-level context to
// every location, and a 1x1 conv to two logits per location (keep, drop).
class MaskEstimatorImpl : public torch::nn::Module {
 public:
  MaskEstimatorImpl(int64_t in_channels, int64_t hidden, int64_t blocks, double keep_bias);
  torch::Tensor forward(const torch::Tensor& x);  // [B,2,h,w]

 private:
  torch::nn::Sequential stem_{nullptr};
  std::vector<torch::nn::Sequential> blocks_;
  torch::nn::Conv2d context_{nullptr}, logits_{nullptr};
};
TORCH_MODULE(MaskEstimator);

// Binary mask [B,1,h,w] from keep/drop logits [B,2,h,w]. Training: hard Gumbel-softmax
// sample, straight-through gradients of the soft sample. Evaluation: argmax, no noise.
torch::Tensor binary_mask(const torch::Tensor& logits, double temperature, bool training);

// Batch (the paper's): sum_l (r_l - tau)^2, r_l = the batch mean of each sample's active
// fraction r_{l,b} of mask l. Per sample: sum_l mean_b (r_{l,b} - tau)^2, which holds every
// sample's mask to the target instead of only their average.
torch::Tensor area_loss(const std::vector<torch::Tensor>& masks, double tau, bool per_sample = false);

// The loss of both masking methods: cross-entropy of the decision (out.logits), plus with
// `deep_supervision` the cross-entropy of every other stage's logits (out.stage_logits but
// the last, which is the decision), plus lambda x area_loss at target `tau`. Parts: ce,
// ce_deep_supervision (0 without it), area.
LossTerms masking_loss(const ModelOutput& out, const torch::Tensor& labels, double tau, const MaskingOptions& options,
                       bool deep_supervision);

}  // namespace aim::model
