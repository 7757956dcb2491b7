#pragma once
// Backbones and methods by name. A new method is one file defining its MethodEntry plus
// one line in registry.cpp; likewise for backbones (their BackboneEntry). Each entry
// declares the keys it reads (add_keys); a key applies only when model.backbone or
// method.name names an entry that declared it (runner/registry_keys.h).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aim/model.h"
#include "core/config.h"

namespace aim::model {

struct BackboneEntry {
  std::string name;
  std::string help;
  std::function<void(Schema&)> add_keys;  // keys only this backbone reads (may be empty)
  std::function<std::shared_ptr<Backbone>(const Config&)> make;
};

struct MethodEntry {
  std::string name;
  std::string help;
  std::function<void(Schema&)> add_keys;  // keys only this method reads (may be empty)
  std::function<std::shared_ptr<Model>(const Config&, std::shared_ptr<Backbone>, int64_t num_classes)> make;
};

const std::vector<BackboneEntry>& backbone_registry();
const std::vector<MethodEntry>& method_registry();
// model.backbone and method.name; each entry's own keys are its add_keys (collected by
// runner/schema.cpp).
void add_backbone_key(Schema& schema);
void add_method_key(Schema& schema);
// The model of `cfg`; with `initial_weights`, model.weights (when set) is imported. A model
// about to be loaded from a checkpoint does not need them (nor the file).
std::shared_ptr<Model> make_model(const Config& cfg, int64_t num_classes, bool initial_weights = true);

}  // namespace aim::model
