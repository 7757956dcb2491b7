#pragma once
// A small four-stage CNN for the built-in dataset and for tests: fast on a CPU, with the
// same stage structure (strides 2, 4, 8, 16) as the ResNets.
#include <memory>
#include <string>

#include "aim/backbone.h"

namespace aim::model {

struct SmallCnnOptions {
  int64_t width = 16;              // channels of stage 0; doubled at each later stage
  std::string norm = "batch";      // "batch", "group" or "none"
};

std::shared_ptr<Backbone> make_small_cnn(const SmallCnnOptions& options);

}  // namespace aim::model
