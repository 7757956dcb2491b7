#pragma once
// The backbones and methods as the schema sees them: name, help and the config keys each
// reads, without libtorch (aimrun's schema reads them: docs/architecture.md, "Two
// executables"). Their factories are aim/registry.h's entries, one for each name here in the
// same order (tests/test_registries.cpp, RegistryNames).
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"

namespace aim::model {

struct BackboneKeys {
  std::string name;
  std::string help;
  std::function<void(Schema&)> add_keys;  // keys only this backbone reads (may be empty)
};

struct MethodKeys {
  std::string name;
  std::string help;
  std::function<void(Schema&)> add_keys;  // keys only this method reads (may be empty)
};

const std::vector<BackboneKeys>& backbone_keys_registry();
const std::vector<MethodKeys>& method_keys_registry();

BackboneKeys small_cnn_keys();
BackboneKeys resnet_keys(int depth);  // 18, 34, 50, 101
BackboneKeys convnext_tiny_keys();
MethodKeys vanilla_keys();
MethodKeys bottom_up_keys();
MethodKeys aim_keys();

// model.backbone and method.name; each entry's own keys are its add_keys (collected by
// runner/schema.cpp).
void add_backbone_key(Schema& schema);
void add_method_key(Schema& schema);
// model.weights and model.allow_new_head: every backbone with torchvision weights declares
// them (aim/weights.h reads them).
void add_torchvision_weight_keys(Schema& schema);
// The method.* keys every masking method reads (aim/masking.h reads them).
void add_masking_keys(Schema& schema);

}  // namespace aim::model
