#include "aim/backbone.h"

namespace aim::model {

std::vector<torch::Tensor> Backbone::forward_stages(torch::Tensor x) {
  std::vector<torch::Tensor> out;
  for (int i = 0; i < 4; ++i) {
    x = forward_stage(i, x);
    out.push_back(x);
  }
  return out;
}

torch::Tensor Backbone::pool(const torch::Tensor& last_stage) { return last_stage.mean({2, 3}); }

}  // namespace aim::model
