// vanilla: the backbone as it is: global average pool of the last stage, a linear layer,
// cross-entropy. The baseline every masking method is compared with.
#include <torch/torch.h>

#include "aim/registry.h"

namespace aim::model {

namespace {

class Vanilla : public Model {
 public:
  Vanilla(std::shared_ptr<Backbone> backbone, int64_t num_classes) : backbone_(std::move(backbone)) {
    register_module("backbone", backbone_);
    head_ = register_module("head", torch::nn::Linear(backbone_->stage_channels().back(), num_classes));
  }

  ModelOutput forward(const torch::Tensor& images) override {
    ModelOutput out;
    out.last_stage = backbone_->forward_stages(images).back();
    out.decision_map = out.last_stage;
    out.logits = head_->forward(backbone_->pool(out.last_stage));
    return out;
  }

  LossTerms loss(const ModelOutput& out, const torch::Tensor& labels, const Progress&) override {
    LossTerms t;
    t.total = torch::nn::functional::cross_entropy(out.logits, labels);
    t.parts["ce"] = t.total.detach();
    return t;
  }

  std::vector<std::string> loss_parts() const override { return {"ce"}; }
  std::shared_ptr<Backbone> backbone() const override { return backbone_; }

 private:
  std::shared_ptr<Backbone> backbone_;
  torch::nn::Linear head_{nullptr};
};

}  // namespace

MethodEntry vanilla_method() {
  return {vanilla_keys(),
          [](const Config&, std::shared_ptr<Backbone> backbone, int64_t num_classes) -> std::shared_ptr<Model> {
            return std::make_shared<Vanilla>(std::move(backbone), num_classes);
          }};
}

}  // namespace aim::model
