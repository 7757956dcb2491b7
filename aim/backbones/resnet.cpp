#include "aim/backbones/resnet.h"

#include <torch/torch.h>

#include "aim/registry.h"
#include "aim/weights.h"

#include <stdexcept>
#include <string>

namespace aim::model {

namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// A residual block; BasicBlock (two 3x3) when `bottleneck` is false, else Bottleneck
// (1x1, 3x3 with the stride, 1x1 expanding by 4). One class keeps the two forward passes
// side by side, which is where a mismatch with torchvision would hide.
class BlockImpl : public nn::Module {
 public:
  BlockImpl(int64_t in, int64_t planes, int64_t stride, bool bottleneck) : bottleneck_(bottleneck) {
    const int64_t out = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv(in, planes, 1, 1));
      bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, stride));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
      conv3_ = register_module("conv3", conv(planes, out, 1, 1));
      bn3_ = register_module("bn3", nn::BatchNorm2d(out));
    } else {
      conv1_ = register_module("conv1", conv(in, planes, 3, stride));
      bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
    }
    if (stride != 1 || in != out) {
      downsample_ = nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out));
      register_module("downsample", downsample_);
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto out = bn1_->forward(conv1_->forward(x)).relu_();
    out = bn2_->forward(conv2_->forward(out));
    if (bottleneck_) out = bn3_->forward(conv3_->forward(torch::relu_(out)));
    out += downsample_ ? downsample_->forward(x) : x;
    return torch::relu_(out);
  }

 private:
  bool bottleneck_;
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Block);

class ResNet : public Backbone {
 public:
  ResNet(const std::vector<int>& blocks, bool bottleneck) {
    conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
    bn1_ = register_module("bn1", nn::BatchNorm2d(64));
    maxpool_ = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
    const int64_t expansion = bottleneck ? 4 : 1;
    int64_t in = 64;
    for (int i = 0; i < 4; ++i) {
      const int64_t planes = int64_t{64} << i;
      nn::Sequential layer;
      for (int b = 0; b < blocks[i]; ++b) {
        layer->push_back(Block(in, planes, b == 0 && i > 0 ? 2 : 1, bottleneck));
        in = planes * expansion;
      }
      layers_.push_back(register_module("layer" + std::to_string(i + 1), layer));
      channels_.push_back(in);
    }
    for (auto& m : modules(false)) {
      if (auto* c = m->as<nn::Conv2d>()) {
        nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
        nn::init::ones_(bn->weight);
        nn::init::zeros_(bn->bias);
      }
    }
  }

  std::vector<int64_t> stage_channels() const override { return channels_; }
  std::vector<int64_t> stage_strides() const override { return {4, 8, 16, 32}; }

  torch::Tensor forward_stage(int i, const torch::Tensor& x) override {
    if (i == 0) return layers_[0]->forward(maxpool_->forward(bn1_->forward(conv1_->forward(x)).relu_()));
    return layers_.at(i)->forward(x);
  }

 private:
  nn::Conv2d conv1_{nullptr};
  nn::BatchNorm2d bn1_{nullptr};
  nn::MaxPool2d maxpool_{nullptr};
  std::vector<nn::Sequential> layers_;
  std::vector<int64_t> channels_;
};

}  // namespace

std::shared_ptr<Backbone> make_resnet(int depth) {
  switch (depth) {
    case 18: return std::make_shared<ResNet>(std::vector<int>{2, 2, 2, 2}, false);
    case 34: return std::make_shared<ResNet>(std::vector<int>{3, 4, 6, 3}, false);
    case 50: return std::make_shared<ResNet>(std::vector<int>{3, 4, 6, 3}, true);
    case 101: return std::make_shared<ResNet>(std::vector<int>{3, 4, 23, 3}, true);
    default: throw std::invalid_argument("resnet depth must be 18, 34, 50 or 101, not " + std::to_string(depth));
  }
}

BackboneEntry resnet_backbone(int depth) {
  return {resnet_keys(depth), [depth](const Config&) { return make_resnet(depth); }};
}

}  // namespace aim::model
