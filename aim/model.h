#pragma once
// A model = a backbone plus a method (vanilla, AIM, bottom-up masking, ...). Methods
// differ in how they turn the backbone's stages into a decision and in their loss, so
// that is the interface; everything else (training, evaluation, attribution) is shared.
#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aim/backbone.h"

namespace aim::model {

struct ModelOutput {
  torch::Tensor logits;  // [B,C] the decision
  // Masking methods: one entry per masked stage, ordered from coarsest to finest.
  std::vector<int> mask_stages;               // backbone stage index of each mask
  std::vector<torch::Tensor> masks;           // [B,1,h,w] binary {0,1} (straight-through in training)
  std::vector<torch::Tensor> mask_logits;     // [B,2,h,w] keep/drop logits
  std::vector<torch::Tensor> stage_logits;    // deep-supervision logits per masked stage
  torch::Tensor merged_mask;                  // [B,1,h,w] where the decision may look, at the finest masked stage
  std::vector<torch::Tensor> masked_features; // AIM: T_l(S_l), the features each mask gates (coarsest first)
  torch::Tensor last_stage;                   // last backbone stage (gradcam_backbone reads it)
  // The map the final classifier pools (gradcam reads it): vanilla = last_stage, bottom-up =
  // its masked last stage, AIM = the merged sparse map O at the finest masked stage.
  torch::Tensor decision_map;
};

struct LossTerms {
  torch::Tensor total;
  std::map<std::string, torch::Tensor> parts;  // "ce", "area", ... (detached, for logging)
};

// Where training stands, for schedules inside the loss (the annealed mask target).
struct Progress {
  int64_t epoch = 0;   // 0-based
  int64_t epochs = 1;
};

class Model : public torch::nn::Module {
 public:
  virtual ModelOutput forward(const torch::Tensor& images) = 0;
  virtual LossTerms loss(const ModelOutput& out, const torch::Tensor& labels, const Progress& progress) = 0;
  virtual bool has_masks() const { return !mask_stages().empty(); }
  // Backbone stage of each mask the model outputs, coarsest first (empty: no masks).
  virtual std::vector<int> mask_stages() const { return {}; }
  // Target active fraction of each mask at this point of training (empty when no masks).
  virtual std::vector<double> area_targets(const Progress&) const { return {}; }
  virtual std::shared_ptr<Backbone> backbone() const = 0;
  // The names of the parts loss() reports (LossTerms::parts), the same at every step: the
  // trainer sums them per epoch in a layout every rank knows before the first step.
  virtual std::vector<std::string> loss_parts() const = 0;
};

}  // namespace aim::model
