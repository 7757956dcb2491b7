#pragma once
// Attribution methods: where in the image a model's decision came from. One interface,
// several implementations: Grad-CAM at the last backbone stage, Input x Gradient, and for
// masking models their own masks (the merged mask and each stage's).
#include <memory>
#include <string>
#include <vector>

#include "aim/model.h"

namespace aim::model {

// What a forward pass with gradients gives every attribution method, computed once per batch.
struct Explained {
  ModelOutput out;
  torch::Tensor images;          // [B,3,H,W] the input
  torch::Tensor targets;         // [B] the explained class
  torch::Tensor input_grad;      // [B,3,H,W] d score / d input (when requested)
  torch::Tensor last_stage_grad; // [B,C,h,w] d score / d last backbone stage (when requested)
};

class Attribution {
 public:
  virtual ~Attribution() = default;
  virtual std::string name() const = 0;  // "gradcam", "ixg", "mask", "mask_stage_3", ...
  virtual bool needs_gradients() const { return true; }
  // [B,h,w] float map at the method's native resolution; larger = more evidence.
  virtual torch::Tensor explain(const Explained& e) const = 0;
};

// The attributions named in `names` ("gradcam", "ixg", "mask") that apply to `model`;
// "mask" expands to the merged mask and each stage's mask of a masking model and is
// skipped for models without masks. Throws std::invalid_argument for an unknown name.
std::vector<std::unique_ptr<Attribution>> make_attributions(const std::vector<std::string>& names, const Model& model);
const std::vector<std::string>& attribution_names();

// Forward pass with gradients of the target logits (sum over the batch) with respect to the
// input and the last stage. `targets` undefined: the predicted classes.
Explained explain_batch(Model& model, const torch::Tensor& images, torch::Tensor targets, bool need_gradients);

}  // namespace aim::model
