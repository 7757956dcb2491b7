#include "aim/methods/aim.h"

#include <torch/torch.h>

#include "aim/registry.h"

namespace aim::model {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

torch::Tensor upsample_to(const torch::Tensor& x, const torch::Tensor& like) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{like.size(2), like.size(3)})
                               .mode(torch::kNearest));
}

}  // namespace

torch::Tensor merge_masks(const std::vector<torch::Tensor>& masks, bool union_of_masks) {
  torch::Tensor merged = masks.front();
  for (size_t i = 1; i < masks.size(); ++i) {
    auto up = upsample_to(merged, masks[i]);
    merged = union_of_masks ? torch::maximum(up, masks[i]) : up * masks[i];
  }
  return merged;
}

AimModel::AimModel(std::shared_ptr<Backbone> backbone, int64_t num_classes, MaskingOptions options)
    : backbone_(std::move(backbone)), options_(options), first_stage_(4 - int(options.stages)) {
  register_module("backbone", backbone_);
  const auto channels = backbone_->stage_channels();
  const int64_t width = options_.width > 0 ? options_.width : std::clamp<int64_t>(channels.back() / 2, 32, 256);
  const int64_t hidden = options_.mask_width > 0 ? options_.mask_width : std::max<int64_t>(16, width / 2);
  options_.width = width;
  options_.mask_width = hidden;
  // Modules are kept coarsest first, like everything else of the top-down pathway.
  for (int l = 3, k = 0; l >= first_stage_; --l, ++k) {
    auto tag = std::to_string(l);
    lateral_.push_back(register_module("lateral" + tag, nn::Conv2d(nn::Conv2dOptions(channels[l], width, 1))));
    estimators_.push_back(register_module("mask" + tag, MaskEstimator(width, hidden, options_.mask_blocks, options_.keep_bias)));
    transforms_.push_back(register_module(
        "transform" + tag, nn::Sequential(nn::Conv2d(nn::Conv2dOptions(width, width, 3).padding(1).bias(false)),
                                          nn::BatchNorm2d(width), nn::ReLU(nn::ReLUOptions(true)))));
    classifiers_.push_back(register_module("classifier" + tag, nn::Linear(width, num_classes)));
  }
}

ModelOutput AimModel::forward(const torch::Tensor& images) {
  ModelOutput out;
  auto xs = backbone_->forward_stages(images);
  out.last_stage = xs.back();
  torch::Tensor context;  // S_{l+1}
  for (int l = 3, k = 0; l >= first_stage_; --l, ++k) {
    auto s = lateral_[k]->forward(xs[l]);
    if (context.defined()) s = s + upsample_to(context, s);
    auto logits = estimators_[k]->forward(s);
    out.mask_stages.push_back(l);
    out.mask_logits.push_back(logits);
    out.masks.push_back(binary_mask(logits, options_.temperature, is_training()));
    out.masked_features.push_back(transforms_[k]->forward(s));
    context = s;
  }
  out.stage_logits = decide(out.masked_features, out.masks, &out.decision_map);
  out.logits = out.stage_logits.back();
  out.merged_mask = merge_masks(out.masks, /*union_of_masks=*/true);
  return out;
}

std::vector<torch::Tensor> AimModel::decide(const std::vector<torch::Tensor>& features,
                                            const std::vector<torch::Tensor>& masks, torch::Tensor* finest) {
  std::vector<torch::Tensor> logits;
  torch::Tensor sparse;  // O_{l+1}
  for (size_t k = 0; k < features.size(); ++k) {
    auto o = features[k] * masks[k];
    if (sparse.defined()) o = o + upsample_to(sparse, o);
    logits.push_back(classifiers_[k]->forward(o.mean({2, 3})));
    sparse = o;
  }
  if (finest) *finest = sparse;
  return logits;
}

std::vector<int> AimModel::mask_stages() const {
  std::vector<int> out;
  for (int l = 3; l >= first_stage_; --l) out.push_back(l);
  return out;
}

std::vector<std::string> AimModel::loss_parts() const { return {"ce", "ce_deep_supervision", "area"}; }

std::vector<double> AimModel::area_targets(const Progress& p) const {
  return std::vector<double>(size_t(options_.stages),
                             annealed_target(options_.target, options_.anneal_fraction, p.epoch, p.epochs));
}

LossTerms AimModel::loss(const ModelOutput& out, const torch::Tensor& labels, const Progress& progress) {
  return masking_loss(out, labels, area_targets(progress).front(), options_, options_.deep_supervision);
}

namespace {

// The masking keys, and the width of AIM's top-down pathway.
}  // namespace

MethodEntry aim_method() {
  return {aim_keys(),
          [](const Config& cfg, std::shared_ptr<Backbone> backbone, int64_t num_classes) -> std::shared_ptr<Model> {
            return std::make_shared<AimModel>(std::move(backbone), num_classes, masking_options(cfg, "aim"));
          }};
}

}  // namespace aim::model
