#pragma once
// model.init_from's upstream weights copied into a run's model (runner/init_from.h has the
// keys, runner/init_from_check.h the checks of the upstream's files).
#include <string>

#include "aim/model.h"
#include "core/config.h"
#include "runner/init_from_check.h"

namespace aim {

// Copies the upstream's weights into `model` (docs/sweeps.md states the rule: the whole
// backbone, and each other top-level module whose tensors all match by name and shape), and
// fills `digests` when given. Returns a one-line description for the log. Throws ConfigError
// naming model.init_from when the backbones differ, or when the upstream's checkpoint.pt or
// result.h5 is not the upstream run's (another run's file put in its folder).
std::string load_init_from(const Config& cfg, model::Model& model, InitFromDigests* digests = nullptr);

}  // namespace aim
