#pragma once
// A backbone is a bottom-up network of four stages; methods read (and may mask) the output
// of each stage. Implementations mirror torchvision's module names, so torchvision
// state_dicts load into them unchanged.
#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

namespace aim::model {

class Backbone : public torch::nn::Module {
 public:
  virtual std::vector<int64_t> stage_channels() const = 0;
  virtual std::vector<int64_t> stage_strides() const = 0;  // w.r.t. the input image
  // Runs stage i on the previous stage's output; stage 0 includes the stem and takes the image.
  virtual torch::Tensor forward_stage(int i, const torch::Tensor& x) = 0;
  std::vector<torch::Tensor> forward_stages(torch::Tensor x);
  // Last stage -> [B,C] features for a linear classifier. Global average pooling by default;
  // ConvNeXt adds its LayerNorm (torchvision's classifier.0).
  virtual torch::Tensor pool(const torch::Tensor& last_stage);
  // The prefix of torchvision's final linear layer for this architecture ("fc",
  // "classifier.2"): on import, those weights go to the model's `head`, not the backbone.
  virtual std::string torchvision_head() const { return "fc"; }
};

}  // namespace aim::model
