#pragma once
// What a model costs: parameters and floating-point operations per image, counted from the
// operations a forward pass actually executes (every convolution and matrix product seen
// through ATen's RecordFunction callbacks), not from a table.
#include <cstdint>
#include <map>
#include <string>

#include "aim/model.h"

namespace aim {

struct ModelCost {
  int64_t parameters = 0;
  int64_t backbone_parameters = 0;
  double forward_flops = 0;                 // per image; a multiply-add counts 2
  std::map<std::string, double> by_operator; // per image
  // Training per image: forward + backward, the backward of convolutions and matrix
  // products costing twice their forward (the usual 3x rule).
  double training_flops() const { return 3 * forward_flops; }
};

// Runs one forward pass of `model` (eval mode, no gradients) on a batch of 2 images.
ModelCost measure_cost(model::Model& model, int64_t height, int64_t width);

}  // namespace aim
