#pragma once
// ConvNeXt-Tiny exactly as torchvision 0.14's convnext_tiny, without the final linear layer
// (classifier.2, the model's head). Module names equal torchvision's state_dict keys
// (features.0.0, features.1.0.block.3, ...); its classifier.0 LayerNorm lives in the
// backbone and is applied by pool().
#include <memory>

#include "aim/backbone.h"

namespace aim::model {

struct ConvNextOptions {
  // Stochastic depth: the drop probability of block k of the 18 rises linearly from 0 to
  // this at the last block; training only. torchvision's default is 0.1.
  double drop_path = 0.0;
};

std::shared_ptr<Backbone> make_convnext_tiny(const ConvNextOptions& options);

}  // namespace aim::model
