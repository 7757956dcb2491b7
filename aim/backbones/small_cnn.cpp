#include "aim/backbones/small_cnn.h"

#include <torch/torch.h>

#include "aim/registry.h"

namespace aim::model {

namespace {

torch::nn::AnyModule make_norm(const std::string& kind, int64_t channels) {
  if (kind == "batch") return torch::nn::AnyModule(torch::nn::BatchNorm2d(channels));
  if (kind == "group") return torch::nn::AnyModule(torch::nn::GroupNorm(std::min<int64_t>(8, channels), channels));
  return torch::nn::AnyModule(torch::nn::Identity());
}

torch::nn::Sequential conv_norm_relu(int64_t in, int64_t out, int64_t stride, const std::string& norm) {
  torch::nn::Sequential s;
  s->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(norm == "none")));
  s->push_back(make_norm(norm, out));
  s->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
  return s;
}

class SmallCnn : public Backbone {
 public:
  explicit SmallCnn(const SmallCnnOptions& o) {
    int64_t w = o.width;
    channels_ = {w, 2 * w, 4 * w, 8 * w};
    stages_.push_back(conv_norm_relu(3, w, 2, o.norm));  // stem
    stages_.back()->extend(*conv_norm_relu(w, w, 1, o.norm));
    for (int i = 1; i < 4; ++i) {
      auto s = conv_norm_relu(channels_[i - 1], channels_[i], 2, o.norm);
      s->extend(*conv_norm_relu(channels_[i], channels_[i], 1, o.norm));
      stages_.push_back(s);
    }
    for (int i = 0; i < 4; ++i) register_module("stage" + std::to_string(i), stages_[i]);
    for (auto& m : modules(false))
      if (auto* conv = m->as<torch::nn::Conv2d>())
        torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  }
  std::vector<int64_t> stage_channels() const override { return channels_; }
  std::vector<int64_t> stage_strides() const override { return {2, 4, 8, 16}; }
  torch::Tensor forward_stage(int i, const torch::Tensor& x) override { return stages_.at(i)->forward(x); }

 private:
  std::vector<int64_t> channels_;
  std::vector<torch::nn::Sequential> stages_;
};

}  // namespace

std::shared_ptr<Backbone> make_small_cnn(const SmallCnnOptions& options) {
  if (options.norm != "batch" && options.norm != "group" && options.norm != "none")
    throw std::invalid_argument("small_cnn norm must be batch, group or none");
  return std::make_shared<SmallCnn>(options);
}

BackboneEntry small_cnn_backbone() {
  auto make = [](const Config& cfg) {
    return make_small_cnn({cfg.get_int("model.width"), cfg.get_string("model.norm")});
  };
  return {small_cnn_keys(), make};
}

}  // namespace aim::model
