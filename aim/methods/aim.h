#pragma once
// AIM: a top-down pathway over the last K backbone stages (like an FPN). At each stage l,
// S_l = lateral(x_l) + upsampled S_{l+1}; a mask estimator M_l(S_l) gives a binary mask B_l
// per location; the transformed features T_l(S_l) are kept only where B_l = 1, and the
// coarser stage's sparse output is added (nearest upsampling):
//     O_l = T_l(S_l) * B_l + up(O_{l+1})
// Every feature reaching a classifier passed through a mask. The decision is made from the
// finest O alone (global average pool + linear); with deep supervision each O_l has its own
// classifier and cross-entropy. Loss: sum_l CE(f_l(O_l), y) + lambda * sum_l (r_l - tau)^2.
#include <memory>
#include <vector>

#include "aim/masking.h"
#include "aim/model.h"

namespace aim::model {

class AimModel : public Model {
 public:
  AimModel(std::shared_ptr<Backbone> backbone, int64_t num_classes, MaskingOptions options);

  ModelOutput forward(const torch::Tensor& images) override;
  LossTerms loss(const ModelOutput& out, const torch::Tensor& labels, const Progress& progress) override;
  std::vector<int> mask_stages() const override;
  std::vector<double> area_targets(const Progress& progress) const override;
  std::vector<std::string> loss_parts() const override;
  std::shared_ptr<Backbone> backbone() const override { return backbone_; }

  // The only path from features to logits: per-stage logits (coarsest first; the last is the
  // decision) from the gated features T_l(S_l) and the masks B_l. Public so that tests can
  // hold the masks fixed and change the features. `finest` (when given) receives the finest O,
  // the map the decision pools.
  std::vector<torch::Tensor> decide(const std::vector<torch::Tensor>& features,
                                    const std::vector<torch::Tensor>& masks, torch::Tensor* finest = nullptr);
  const MaskingOptions& options() const { return options_; }

 private:
  std::shared_ptr<Backbone> backbone_;
  MaskingOptions options_;
  int first_stage_;  // 4 - K
  std::vector<torch::nn::Conv2d> lateral_;
  std::vector<MaskEstimator> estimators_;
  std::vector<torch::nn::Sequential> transforms_;
  std::vector<torch::nn::Linear> classifiers_;  // coarsest first
};

// [B,1,h,w] masks (coarsest first) merged at the finest one's resolution: a location is
// used when any stage keeps it (union, AIM) or when every stage keeps it (bottom-up).
torch::Tensor merge_masks(const std::vector<torch::Tensor>& masks, bool union_of_masks);

}  // namespace aim::model
