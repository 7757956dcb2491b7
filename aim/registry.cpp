#include "aim/registry.h"

#include "aim/weights.h"
#include "core/error.h"
#include "core/registry_entry.h"

namespace aim::model {

BackboneEntry small_cnn_backbone();
BackboneEntry resnet_backbone(int depth);
BackboneEntry convnext_tiny_backbone();
MethodEntry vanilla_method();
MethodEntry bottom_up_method();
MethodEntry aim_method();

const std::vector<BackboneEntry>& backbone_registry() {
  static const std::vector<BackboneEntry> entries = {
      small_cnn_backbone(), resnet_backbone(18),  resnet_backbone(34),
      resnet_backbone(50),  resnet_backbone(101), convnext_tiny_backbone(),
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

std::shared_ptr<Model> make_model(const Config& cfg, int64_t num_classes, bool initial_weights) {
  const auto& backbone_entry = registry_entry(backbone_registry(), cfg, "model.backbone", "backbone");
  std::shared_ptr<Backbone> backbone = backbone_entry.make(cfg);
  const auto& method = registry_entry(method_registry(), cfg, "method.name", "method");
  std::shared_ptr<Model> model = method.make(cfg, backbone, num_classes);
  if (initial_weights && !cfg.is_null("model.weights")) {
    if (!cfg.applies("model.weights"))
      cfg.fail("model.weights", "backbone '" + backbone_entry.name + "' has no torchvision weights");
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
