#pragma once
// Attribution methods: where in the image a model's decision came from. One interface,
// several implementations: Grad-CAM on the map the final classifier pools (`gradcam`) and at
// the last backbone stage (`gradcam_backbone`), Input x Gradient, and for masking models their
// own masks (the merged mask and each stage's).
#include <memory>
#include <string>
#include <vector>

#include "aim/attribution_names.h"
#include "aim/model.h"

namespace aim::model {

// What a forward pass with gradients gives every attribution method, computed once per batch.
struct Explained {
  ModelOutput out;
  torch::Tensor images;          // [B,3,H,W] the input
  torch::Tensor targets;         // [B] the explained class
  torch::Tensor input_grad;      // [B,3,H,W] d score / d input (when requested)
  torch::Tensor last_stage_grad; // [B,C,h,w] d score / d last backbone stage (when requested)
  torch::Tensor decision_grad;   // d score / d ModelOutput::decision_map (when requested)
};

class Attribution {
 public:
  virtual ~Attribution() = default;
  virtual std::string name() const = 0;  // "gradcam", "gradcam_backbone", "ixg", "mask", "mask_stage_3", ...
  virtual bool needs_gradients() const { return true; }
  // [B,h,w] float map at the method's native resolution; larger = more evidence.
  virtual torch::Tensor explain(const Explained& e) const = 0;
};

// The attributions named in `names` ("gradcam", "gradcam_backbone", "ixg", "mask") that apply to `model`;
// "mask" expands to the merged mask and each stage's mask of a masking model and is
// skipped for models without masks. Throws std::invalid_argument for an unknown name.
std::vector<std::unique_ptr<Attribution>> make_attributions(const std::vector<std::string>& names, const Model& model);

// Forward pass with gradients of the target logits (sum over the batch) with respect to the
// input, the last stage and the decision map. `targets` undefined: the predicted classes.
Explained explain_batch(Model& model, const torch::Tensor& images, torch::Tensor targets, bool need_gradients);

}  // namespace aim::model
