#include "aim/registry.h"

#include "aim/backbones/small_cnn.h"

namespace aim::model {

MethodEntry vanilla_method();
MethodEntry bottom_up_method();
MethodEntry aim_method();

namespace {

std::shared_ptr<Backbone> small_cnn(const Config& cfg) {
  return make_small_cnn({cfg.get_int("model.width"), cfg.get_string("model.norm")});
}

}  // namespace

const std::vector<BackboneEntry>& backbone_registry() {
  static const std::vector<BackboneEntry> entries = {
      {"small_cnn", "four conv stages (widths w, 2w, 4w, 8w), fast on CPUs", small_cnn},
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
  s.add(KeySpec("method.name", ValueType::String, "vanilla", "how the stages become a decision, and the loss").one_of(methods));
  for (const auto& e : method_registry())
    if (e.add_keys) e.add_keys(s);
}

std::shared_ptr<Model> make_model(const Config& cfg, int64_t num_classes) {
  std::shared_ptr<Backbone> backbone;
  const auto bname = cfg.get_string("model.backbone");
  for (const auto& e : backbone_registry())
    if (e.name == bname) backbone = e.make(cfg);
  if (!backbone) cfg.fail("model.backbone", "unknown backbone '" + bname + "'");
  const auto mname = cfg.get_string("method.name");
  for (const auto& e : method_registry())
    if (e.name == mname) return e.make(cfg, backbone, num_classes);
  cfg.fail("method.name", "unknown method '" + mname + "'");
}

}  // namespace aim::model
