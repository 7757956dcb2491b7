#pragma once
// ResNet-18/34/50/101 exactly as torchvision builds them (v1.5: the stride of a Bottleneck
// sits on its 3x3 convolution), without the final `fc`, which belongs to the model's head.
// Module names equal torchvision's state_dict keys (conv1, bn1, layer1.0.conv1, ...).
#include <memory>

#include "aim/backbone.h"

namespace aim::model {

// depth: 18, 34 (BasicBlock) or 50, 101 (Bottleneck); throws std::invalid_argument otherwise.
std::shared_ptr<Backbone> make_resnet(int depth);

}  // namespace aim::model
