#include "aim/backbones/convnext.h"

#include <torch/torch.h>

#include "aim/registry.h"
#include "aim/weights.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace aim::model {

namespace {

namespace nn = torch::nn;

// torchvision's LayerNorm2d: layer norm over the channels of an NCHW tensor, computed
// channels-last exactly as torchvision does so that the arithmetic (and rounding) matches.
class LayerNorm2dImpl : public nn::Module {
 public:
  explicit LayerNorm2dImpl(int64_t channels) : channels_(channels) {
    weight = register_parameter("weight", torch::ones({channels}));
    bias = register_parameter("bias", torch::zeros({channels}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::layer_norm(x.permute({0, 2, 3, 1}), {channels_}, weight, bias, 1e-6);
    return y.permute({0, 3, 1, 2});
  }
  torch::Tensor weight, bias;

 private:
  int64_t channels_;
};
TORCH_MODULE(LayerNorm2d);

// torchvision.ops.misc.Permute. It has no parameters but occupies an index of CNBlock's
// `block`, so it must exist for block.2, block.3 and block.5 to get their names.
class PermuteImpl : public nn::Module {
 public:
  explicit PermuteImpl(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  torch::Tensor forward(const torch::Tensor& x) { return x.permute(dims_); }

 private:
  std::vector<int64_t> dims_;
};
TORCH_MODULE(Permute);

class CNBlockImpl : public nn::Module {
 public:
  CNBlockImpl(int64_t dim, double drop_prob) : drop_prob_(drop_prob) {
    block_ = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(dim, dim, 7).padding(3).groups(dim)),
                            Permute(std::vector<int64_t>{0, 2, 3, 1}),
                            nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)),
                            nn::Linear(dim, 4 * dim),
                            nn::GELU(),
                            nn::Linear(4 * dim, dim),
                            Permute(std::vector<int64_t>{0, 3, 1, 2}));
    register_module("block", block_);
    layer_scale_ = register_parameter("layer_scale", torch::full({dim, 1, 1}, 1e-6));
  }

  torch::Tensor forward(const torch::Tensor& input) {
    auto result = layer_scale_ * block_->forward(input);
    if (is_training() && drop_prob_ > 0.0) {
      // torchvision's StochasticDepth(p, "row"): one Bernoulli draw per sample from torch's
      // default generator, survivors rescaled so the expectation is unchanged.
      const double survival = 1.0 - drop_prob_;
      std::vector<int64_t> size(result.dim(), 1);
      size[0] = result.size(0);
      auto noise = torch::empty(size, result.options()).bernoulli_(survival);
      if (survival > 0.0) noise.div_(survival);
      result = result * noise;
    }
    return result += input;
  }

 private:
  double drop_prob_;
  nn::Sequential block_{nullptr};
  torch::Tensor layer_scale_;
};
TORCH_MODULE(CNBlock);

// nn.init.trunc_normal_(w, std=0.02) as torch.nn.init implements it (inverse-CDF sampling
// on [-2, 2]); the C++ API has no trunc_normal_.
void trunc_normal_(torch::Tensor& w, double std, double a = -2.0, double b = 2.0) {
  torch::NoGradGuard no_grad;
  auto cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double l = cdf(a / std), u = cdf(b / std);
  w.uniform_(2 * l - 1, 2 * u - 1).erfinv_().mul_(std * std::sqrt(2.0)).clamp_(a, b);
}

class ConvNextTiny : public Backbone {
 public:
  explicit ConvNextTiny(const ConvNextOptions& o) {
    const std::vector<int64_t> dims = {96, 192, 384, 768};
    const std::vector<int> depths = {3, 3, 9, 3};
    const int total_blocks = 18;
    int block_id = 0;
    features_ = register_module("features", nn::ModuleList());
    for (int i = 0; i < 4; ++i) {
      nn::Sequential entry;  // features.0 (stem) or features.2/4/6 (downsampling)
      if (i == 0) {
        entry->push_back(nn::Conv2d(nn::Conv2dOptions(3, dims[0], 4).stride(4)));
        entry->push_back(LayerNorm2d(dims[0]));
      } else {
        entry->push_back(LayerNorm2d(dims[i - 1]));
        entry->push_back(nn::Conv2d(nn::Conv2dOptions(dims[i - 1], dims[i], 2).stride(2)));
      }
      nn::Sequential stage;  // features.1/3/5/7
      for (int b = 0; b < depths[i]; ++b, ++block_id)
        stage->push_back(CNBlock(dims[i], o.drop_path * block_id / (total_blocks - 1.0)));
      features_->push_back(entry);
      features_->push_back(stage);
      stages_.push_back({entry, stage});
    }
    classifier_ = register_module("classifier", nn::ModuleList());
    norm_ = LayerNorm2d(dims.back());
    classifier_->push_back(norm_);

    for (auto& m : modules(false)) {
      if (auto* c = m->as<nn::Conv2d>()) {
        trunc_normal_(c->weight, 0.02);
        nn::init::zeros_(c->bias);
      } else if (auto* l = m->as<nn::Linear>()) {
        trunc_normal_(l->weight, 0.02);
        nn::init::zeros_(l->bias);
      }
    }
  }

  std::vector<int64_t> stage_channels() const override { return {96, 192, 384, 768}; }
  std::vector<int64_t> stage_strides() const override { return {4, 8, 16, 32}; }

  torch::Tensor forward_stage(int i, const torch::Tensor& x) override {
    auto& [entry, stage] = stages_.at(i);
    return stage->forward(entry->forward(x));
  }

  // torchvision: avgpool, classifier.0 (LayerNorm2d), classifier.1 (Flatten).
  torch::Tensor pool(const torch::Tensor& last_stage) override {
    return norm_->forward(last_stage.mean({2, 3}, /*keepdim=*/true)).flatten(1);
  }

  std::string torchvision_head() const override { return "classifier.2"; }

 private:
  nn::ModuleList features_{nullptr}, classifier_{nullptr};
  std::vector<std::pair<nn::Sequential, nn::Sequential>> stages_;
  LayerNorm2d norm_{nullptr};
};

}  // namespace

std::shared_ptr<Backbone> make_convnext_tiny(const ConvNextOptions& options) {
  if (!(options.drop_path >= 0.0 && options.drop_path <= 1.0))
    throw std::invalid_argument("convnext drop_path must lie in [0, 1]");
  return std::make_shared<ConvNextTiny>(options);
}

BackboneEntry convnext_tiny_backbone() {
  auto make = [](const Config& cfg) { return make_convnext_tiny({cfg.get_float("model.drop_path")}); };
  return {convnext_tiny_keys(), make};
}

}  // namespace aim::model
