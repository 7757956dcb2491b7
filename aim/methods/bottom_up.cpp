// bottom_up: the paper's ablation. Each of the last K backbone stages predicts a binary mask
// from its own output and is masked before it feeds the next stage (or the decision); the
// same area loss as AIM. Decision: the backbone's pooling of the masked last stage + linear.
// With method.deep_supervision (as AIM's) every other masked stage has its own classifier
// (global average pool + linear) and cross-entropy on its masked output.
#include <torch/torch.h>

#include "aim/masking.h"
#include "aim/methods/aim.h"
#include "aim/registry.h"

namespace aim::model {

namespace F = torch::nn::functional;

namespace {

class BottomUp : public Model {
 public:
  BottomUp(std::shared_ptr<Backbone> backbone, int64_t num_classes, MaskingOptions options)
      : backbone_(std::move(backbone)), options_(options), first_stage_(4 - int(options.stages)) {
    register_module("backbone", backbone_);
    const auto channels = backbone_->stage_channels();
    for (int l = first_stage_; l < 4; ++l) {
      int64_t hidden = options_.mask_width > 0 ? options_.mask_width : std::max<int64_t>(16, channels[l] / 2);
      estimators_[l] = register_module("mask" + std::to_string(l),
                                       MaskEstimator(channels[l], hidden, options_.mask_blocks, options_.keep_bias));
      if (options_.deep_supervision && l < 3)
        side_[l] = register_module("classifier" + std::to_string(l), torch::nn::Linear(channels[l], num_classes));
    }
    head_ = register_module("head", torch::nn::Linear(channels.back(), num_classes));
  }

  ModelOutput forward(const torch::Tensor& images) override {
    ModelOutput out;
    torch::Tensor x = images;
    std::vector<torch::Tensor> masks, logits, side_logits;
    std::vector<int> stages;
    for (int l = 0; l < 4; ++l) {
      x = backbone_->forward_stage(l, x);
      if (l < first_stage_) continue;
      auto lg = estimators_[l]->forward(x);
      auto m = binary_mask(lg, options_.temperature, is_training());
      x = x * m;
      if (!side_[l].is_empty()) side_logits.push_back(side_[l]->forward(x.mean({2, 3})));
      masks.push_back(m);
      logits.push_back(lg);
      stages.push_back(l);
    }
    out.last_stage = x;  // the backbone's last stage, after its own mask
    out.decision_map = x;
    out.logits = head_->forward(backbone_->pool(x));
    // Coarsest first, like AIM: the deep-supervision logits, then the decision.
    out.stage_logits.assign(side_logits.rbegin(), side_logits.rend());
    out.stage_logits.push_back(out.logits);
    // Coarsest first, like AIM.
    out.masks.assign(masks.rbegin(), masks.rend());
    out.mask_logits.assign(logits.rbegin(), logits.rend());
    out.mask_stages.assign(stages.rbegin(), stages.rend());
    // A location reaches the decision only through every mask on its path.
    out.merged_mask = merge_masks(out.masks, /*union_of_masks=*/false);
    return out;
  }

  LossTerms loss(const ModelOutput& out, const torch::Tensor& labels, const Progress& progress) override {
    return masking_loss(out, labels, area_targets(progress).front(), options_, options_.deep_supervision);
  }

  std::vector<int> mask_stages() const override {
    std::vector<int> out;
    for (int l = 3; l >= first_stage_; --l) out.push_back(l);
    return out;
  }
  std::vector<double> area_targets(const Progress& p) const override {
    return std::vector<double>(size_t(options_.stages),
                               annealed_target(options_.target, options_.anneal_fraction, p.epoch, p.epochs));
  }
  std::vector<std::string> loss_parts() const override { return {"ce", "ce_deep_supervision", "area"}; }
  std::shared_ptr<Backbone> backbone() const override { return backbone_; }

 private:
  std::shared_ptr<Backbone> backbone_;
  MaskingOptions options_;
  int first_stage_;
  MaskEstimator estimators_[4] = {nullptr, nullptr, nullptr, nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Linear side_[4] = {nullptr, nullptr, nullptr, nullptr};  // deep supervision, stages < 3
};

}  // namespace

MethodEntry bottom_up_method() {
  return {bottom_up_keys(),
          [](const Config& cfg, std::shared_ptr<Backbone> backbone, int64_t num_classes) -> std::shared_ptr<Model> {
            return std::make_shared<BottomUp>(std::move(backbone), num_classes, masking_options(cfg, "bottom_up"));
          }};
}

}  // namespace aim::model
