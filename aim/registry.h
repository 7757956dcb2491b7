#pragma once
// Backbones and methods by name. A new method is one file defining its MethodEntry plus
// one line in registry.cpp, and its keys in aim/model_keys.cpp (one line there too);
// likewise for backbones (their BackboneEntry). Each entry
// declares the keys it reads (add_keys); a key applies only when model.backbone or
// method.name names an entry that declared it (runner/registry_keys.h).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aim/model.h"
#include "aim/model_keys.h"
#include "core/config.h"

namespace aim::model {

// An entry of aim/model_keys.h (name, help, add_keys) with its factory.
struct BackboneEntry : BackboneKeys {
  std::function<std::shared_ptr<Backbone>(const Config&)> make;
};

struct MethodEntry : MethodKeys {
  std::function<std::shared_ptr<Model>(const Config&, std::shared_ptr<Backbone>, int64_t num_classes)> make;
};

const std::vector<BackboneEntry>& backbone_registry();
const std::vector<MethodEntry>& method_registry();
// The model of `cfg`; with `initial_weights`, model.weights (when set) is imported. A model
// about to be loaded from a checkpoint does not need them (nor the file).
std::shared_ptr<Model> make_model(const Config& cfg, int64_t num_classes, bool initial_weights = true);

}  // namespace aim::model
