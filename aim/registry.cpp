#include "aim/registry.h"

#include "aim/backbones/convnext.h"
#include "aim/backbones/resnet.h"
#include "aim/backbones/small_cnn.h"
#include "aim/weights.h"
#include "core/error.h"

namespace aim::model {

MethodEntry vanilla_method();
MethodEntry bottom_up_method();
MethodEntry aim_method();

namespace {

std::shared_ptr<Backbone> small_cnn(const Config& cfg) {
  return make_small_cnn({cfg.get_int("model.width"), cfg.get_string("model.norm")});
}

std::function<std::shared_ptr<Backbone>(const Config&)> resnet(int depth) {
  return [depth](const Config&) { return make_resnet(depth); };
}

std::shared_ptr<Backbone> convnext_tiny(const Config& cfg) {
  return make_convnext_tiny({cfg.get_float("model.drop_path")});
}

// Backbones with torchvision counterparts: the keys about torchvision weights apply to them.
const std::vector<std::string> kTorchvisionBackbones = {"resnet18", "resnet34", "resnet50", "resnet101",
                                                        "convnext_tiny"};

}  // namespace

const std::vector<BackboneEntry>& backbone_registry() {
  static const std::vector<BackboneEntry> entries = {
      {"small_cnn", "four conv stages (widths w, 2w, 4w, 8w), fast on CPUs", small_cnn},
      {"resnet18", "torchvision's ResNet-18 (BasicBlock), stages of 64..512 channels", resnet(18)},
      {"resnet34", "torchvision's ResNet-34 (BasicBlock), stages of 64..512 channels", resnet(34)},
      {"resnet50", "torchvision's ResNet-50 (v1.5 Bottleneck), stages of 256..2048 channels", resnet(50)},
      {"resnet101", "torchvision's ResNet-101 (v1.5 Bottleneck), stages of 256..2048 channels", resnet(101)},
      {"convnext_tiny", "torchvision's ConvNeXt-Tiny, stages of 96..768 channels", convnext_tiny},
  };
  return entries;
}

const std::vector<MethodEntry>& method_registry() {
  static const std::vector<MethodEntry> entries = {
      vanilla_method(),
      bottom_up_method(),
      aim_method(),
  };
  return entries;
}

void add_model_keys(Schema& s) {
  std::vector<std::string> backbones, methods;
  for (const auto& e : backbone_registry()) backbones.push_back(e.name);
  for (const auto& e : method_registry()) methods.push_back(e.name);
  s.add(KeySpec("model.backbone", ValueType::String, "small_cnn", "the bottom-up network").one_of(backbones));
  s.add(KeySpec("model.width", ValueType::Int, "16", "small_cnn: channels of the first stage (doubled per stage)").range(1.0, 4096.0).only_when("model.backbone", {"small_cnn"}));
  s.add(KeySpec("model.norm", ValueType::String, "batch", "small_cnn: normalisation layers").one_of({"batch", "group", "none"}).only_when("model.backbone", {"small_cnn"}));
  s.add(KeySpec("model.drop_path", ValueType::Float, "0.0",
                "convnext: stochastic depth, rising linearly from 0 to this at the last block (torchvision: 0.1)")
            .range(0.0, std::nullopt).below(1.0)
            .only_when("model.backbone", {"convnext_tiny"}));
  s.add(KeySpec("model.weights", ValueType::String, "~",
                "HDF5 file of torchvision weights to start from (scripts/export_torchvision_weights.py); ~: random "
                "initialisation")
            .only_when("model.backbone", kTorchvisionBackbones)
            .existing_path());
  s.add(KeySpec("model.allow_new_head", ValueType::Bool, "false",
                "with model.weights: a head of another shape (number of classes) is freshly initialised instead of an "
                "error")
            .only_when("model.backbone", kTorchvisionBackbones));
  s.add(KeySpec("method.name", ValueType::String, "vanilla", "how the stages become a decision, and the loss").one_of(methods));
  for (const auto& e : method_registry())
    if (e.add_keys) e.add_keys(s);
}

std::shared_ptr<Model> make_model(const Config& cfg, int64_t num_classes, bool initial_weights) {
  std::shared_ptr<Backbone> backbone;
  const auto bname = cfg.get_string("model.backbone");
  for (const auto& e : backbone_registry())
    if (e.name == bname) backbone = e.make(cfg);
  if (!backbone) cfg.fail("model.backbone", "unknown backbone '" + bname + "'");
  const auto mname = cfg.get_string("method.name");
  std::shared_ptr<Model> model;
  for (const auto& e : method_registry())
    if (e.name == mname) model = e.make(cfg, backbone, num_classes);
  if (!model) cfg.fail("method.name", "unknown method '" + mname + "'");
  if (initial_weights && !cfg.is_null("model.weights")) {
    if (!cfg.applies("model.weights")) cfg.fail("model.weights", "backbone '" + bname + "' has no torchvision weights");
    try {
      load_torchvision_weights(*model, cfg.get_string("model.weights"), cfg.get_bool("model.allow_new_head"));
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      cfg.fail("model.weights", e.what());
    }
  }
  return model;
}

}  // namespace aim::model
