#include "aim/attribution.h"

#include <torch/torch.h>

#include <stdexcept>

namespace aim::model {

namespace {

// Grad-CAM (Selvaraju et al. 2017): channel weights = spatial mean of the gradient, map =
// ReLU(sum_c weight_c * A_c). `gradcam` reads the map the final classifier pools (where each
// model decides), `gradcam_backbone` the last backbone stage (the same map for vanilla).
torch::Tensor grad_cam(const torch::Tensor& map, const torch::Tensor& grad) {
  auto weights = grad.mean({2, 3}, /*keepdim=*/true);
  return torch::relu((weights * map.detach()).sum(1));
}

class GradCam : public Attribution {
 public:
  explicit GradCam(bool backbone) : backbone_(backbone) {}
  std::string name() const override { return backbone_ ? "gradcam_backbone" : "gradcam"; }
  torch::Tensor explain(const Explained& e) const override {
    return backbone_ ? grad_cam(e.out.last_stage, e.last_stage_grad) : grad_cam(e.out.decision_map, e.decision_grad);
  }

 private:
  bool backbone_;
};

// Input x Gradient, summed over colour channels (signed; the pointing game takes the
// positive part).
class InputTimesGradient : public Attribution {
 public:
  std::string name() const override { return "ixg"; }
  torch::Tensor explain(const Explained& e) const override { return (e.images.detach() * e.input_grad).sum(1); }
};

// A masking model's own mask: the merged one (stage < 0) or one stage's.
class OwnMask : public Attribution {
 public:
  explicit OwnMask(int stage) : stage_(stage) {}
  std::string name() const override { return stage_ < 0 ? "mask" : "mask_stage_" + std::to_string(stage_); }
  bool needs_gradients() const override { return false; }
  torch::Tensor explain(const Explained& e) const override {
    if (stage_ < 0) return e.out.merged_mask.detach().squeeze(1);
    for (size_t k = 0; k < e.out.mask_stages.size(); ++k)
      if (e.out.mask_stages[k] == stage_) return e.out.masks[k].detach().squeeze(1);
    throw std::logic_error("no mask at stage " + std::to_string(stage_));
  }

 private:
  int stage_;
};

}  // namespace

std::vector<std::unique_ptr<Attribution>> make_attributions(const std::vector<std::string>& names, const Model& model) {
  std::vector<std::unique_ptr<Attribution>> out;
  for (const auto& n : names) {
    if (n == "gradcam" || n == "gradcam_backbone") out.push_back(std::make_unique<GradCam>(n == "gradcam_backbone"));
    else if (n == "ixg") out.push_back(std::make_unique<InputTimesGradient>());
    else if (n == "mask") {
      if (!model.has_masks()) continue;
      out.push_back(std::make_unique<OwnMask>(-1));
      for (int s : model.mask_stages()) out.push_back(std::make_unique<OwnMask>(s));
    } else {
      throw std::invalid_argument("unknown attribution method '" + n + "'");
    }
  }
  return out;
}

Explained explain_batch(Model& model, const torch::Tensor& images, torch::Tensor targets, bool need_gradients) {
  Explained e;
  torch::AutoGradMode grad_mode(need_gradients);
  e.images = need_gradients ? images.detach().requires_grad_(true) : images;
  e.out = model.forward(e.images);
  if (!e.out.decision_map.defined()) e.out.decision_map = e.out.last_stage;
  e.targets = targets.defined() ? targets : e.out.logits.argmax(1);
  if (need_gradients) {
    auto score = e.out.logits.gather(1, e.targets.unsqueeze(1)).sum();
    // The decision map is the last stage itself for vanilla: one gradient serves both.
    const bool same = e.out.decision_map.is_same(e.out.last_stage);
    std::vector<torch::Tensor> inputs = {e.images, e.out.last_stage};
    if (!same) inputs.push_back(e.out.decision_map);
    auto grads = torch::autograd::grad({score}, inputs, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                       /*allow_unused=*/true);
    auto or_zeros = [](const torch::Tensor& g, const torch::Tensor& like) { return g.defined() ? g : torch::zeros_like(like); };
    e.input_grad = grads[0];
    e.last_stage_grad = or_zeros(grads[1], e.out.last_stage);
    e.decision_grad = same ? e.last_stage_grad : or_zeros(grads[2], e.out.decision_map);
  }
  return e;
}

}  // namespace aim::model
