#include "aim/model_keys.h"

#include <string>

namespace aim::model {

namespace model_keys {

void add_aim_keys(Schema& s) {
  add_masking_keys(s);
  s.add(KeySpec("method.width", ValueType::Int, "~",
                "aim: common width of the top-down pathway (~: half the last stage's channels, within [32, 256])")
            .range(1, 4096));
}

}  // namespace model_keys

void add_masking_keys(Schema& s) {
  s.add(KeySpec("method.stages", ValueType::Int, "2",
                "masking methods: K, how many of the last backbone stages are masked (AIM[K, target])")
            .range(1, 3));
  s.add(KeySpec("method.target", ValueType::Float, "0.25",
                "masking methods: final target active fraction of every mask (paper: 0.25 or 0.35)")
            .above(0.0)
            .at_most(1.0));
  s.add(KeySpec("method.lambda", ValueType::Float, "6.0",
                "masking methods: weight of the area loss (paper: 6; 5 and 10 also used)")
            .at_least(0));
  s.add(KeySpec("method.anneal_fraction", ValueType::Float, "0.5",
                "masking methods: the target falls linearly from 1.0 to method.target over this fraction of the epochs "
                "(1.0: all of training, 0.5: the first half), then is held")
            .range(0.0, 1.0));
  s.add(
      KeySpec("method.temperature", ValueType::Float, "1.0", "masking methods: Gumbel-softmax temperature in training")
          .range(1e-3, 1e3));
  s.add(KeySpec("method.mask_width", ValueType::Int, "~",
                "masking methods: hidden width of the mask estimator (~: half its input width, at least 16)")
            .range(1, 4096));
  s.add(KeySpec("method.mask_blocks", ValueType::Int, "1", "masking methods: residual blocks in the mask estimator")
            .range(0, 16));
  s.add(KeySpec("method.deep_supervision", ValueType::Bool, "~",
                "masking methods: a classifier and cross-entropy on every masked stage, not only the final one "
                "(~: true for aim, false for bottom_up)"));
  s.add(
      KeySpec("method.area_loss", ValueType::String, "batch",
              "masking methods: batch: (mean over the batch of each sample's active fraction - target)^2, the paper's; "
              "sample: the mean over samples of (active fraction - target)^2, which holds every sample to the target")
          .one_of({"batch", "sample"}));
  s.add(KeySpec("method.keep_bias", ValueType::Float, "2.0",
                "masking methods: initial keep-minus-drop logit bias (2: masks start ~88% open, like the target 1.0)")
            .range(-20.0, 20.0));
}

void add_torchvision_weight_keys(Schema& s) {
  s.add(KeySpec("model.weights", ValueType::String, "~",
                "HDF5 file of torchvision weights to start from (scripts/export_torchvision_weights.py); ~: random "
                "initialisation")
            .existing_path());
  s.add(KeySpec("model.allow_new_head", ValueType::Bool, "false",
                "with model.weights: a head of another shape (number of classes) is freshly initialised instead of an "
                "error"));
}

BackboneKeys small_cnn_keys() {
  auto add_keys = [](Schema& s) {
    s.add(KeySpec("model.width", ValueType::Int, "16", "small_cnn: channels of the first stage (doubled per stage)")
              .range(1.0, 4096.0));
    s.add(KeySpec("model.norm", ValueType::String, "batch", "small_cnn: normalisation layers")
              .one_of({"batch", "group", "none"}));
  };
  return {"small_cnn", "four conv stages (widths w, 2w, 4w, 8w), fast on CPUs", add_keys};
}

BackboneKeys resnet_keys(int depth) {
  const std::string name = "torchvision's ResNet-" + std::to_string(depth);
  const std::string help = depth < 50 ? name + " (BasicBlock), stages of 64..512 channels"
                                      : name + " (v1.5 Bottleneck), stages of 256..2048 channels";
  return {"resnet" + std::to_string(depth), help, add_torchvision_weight_keys};
}

BackboneKeys convnext_tiny_keys() {
  auto add_keys = [](Schema& s) {
    s.add(KeySpec("model.drop_path", ValueType::Float, "0.0",
                  "convnext: stochastic depth, rising linearly from 0 to this at the last block (torchvision: 0.1)")
              .range(0.0, std::nullopt)
              .below(1.0));
    add_torchvision_weight_keys(s);
  };
  return {"convnext_tiny", "torchvision's ConvNeXt-Tiny, stages of 96..768 channels", add_keys};
}

MethodKeys vanilla_keys() { return {"vanilla", "backbone + global average pool + linear, cross-entropy", nullptr}; }

MethodKeys bottom_up_keys() {
  return {"bottom_up",
          "bottom-up masking: each of the last K stages masks itself, same area loss (the paper's ablation)",
          add_masking_keys};
}

MethodKeys aim_keys() {
  return {"aim", "AIM: top-down masking over the last K stages, decision from the merged sparse map (ICCV 2025)",
          model_keys::add_aim_keys};
}

const std::vector<BackboneKeys>& backbone_keys_registry() {
  static const std::vector<BackboneKeys> entries = {
      small_cnn_keys(), resnet_keys(18), resnet_keys(34), resnet_keys(50), resnet_keys(101), convnext_tiny_keys(),
  };
  return entries;
}

const std::vector<MethodKeys>& method_keys_registry() {
  static const std::vector<MethodKeys> entries = {vanilla_keys(), bottom_up_keys(), aim_keys()};
  return entries;
}

void add_backbone_key(Schema& s) {
  std::vector<std::string> names;
  for (const auto& e : backbone_keys_registry()) names.push_back(e.name);
  s.add(KeySpec("model.backbone", ValueType::String, "small_cnn", "the bottom-up network").one_of(names));
}

void add_method_key(Schema& s) {
  std::vector<std::string> names;
  for (const auto& e : method_keys_registry()) names.push_back(e.name);
  s.add(KeySpec("method.name", ValueType::String, "vanilla", "how the stages become a decision, and the loss")
            .one_of(names));
}

}  // namespace aim::model
