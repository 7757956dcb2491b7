#include "aim/metrics.h"

#include <torch/torch.h>

namespace aim::model {

namespace F = torch::nn::functional;

at::Tensor energy_pointing_game(const at::Tensor& maps, const at::Tensor& regions, double eps) {
  TORCH_CHECK(maps.dim() == 3 && regions.dim() == 3 && maps.size(0) == regions.size(0),
              "energy_pointing_game: maps [B,h,w] and regions [B,H,W] expected");
  auto m = maps.to(torch::kDouble).unsqueeze(1);
  auto resized = F::interpolate(m, F::InterpolateFuncOptions()
                                       .size(std::vector<int64_t>{regions.size(1), regions.size(2)})
                                       .mode(torch::kBilinear)
                                       .align_corners(false))
                     .squeeze(1)
                     .clamp_min(0.0);
  auto inside = (resized * regions.ne(0).to(torch::kDouble)).sum({1, 2});
  auto total = resized.sum({1, 2});
  return torch::where(total > eps, inside / total.clamp_min(eps), torch::zeros_like(total));
}

at::Tensor mask_margin(const std::vector<at::Tensor>& mask_logits) {
  at::Tensor sum, count;
  for (const auto& l : mask_logits) {
    auto p_keep = torch::softmax(l.detach().to(torch::kFloat), 1).select(1, 0);
    auto s = (2 * p_keep - 1).abs().sum({1, 2});
    auto c = torch::full_like(s, double(p_keep.size(1) * p_keep.size(2)));
    sum = sum.defined() ? sum + s : s;
    count = count.defined() ? count + c : c;
  }
  return sum / count;
}

at::Tensor mask_iou(const at::Tensor& a, const at::Tensor& b) {
  auto x = a.ne(0).flatten(1), y = b.ne(0).flatten(1);
  auto inter = torch::logical_and(x, y).sum(1).to(torch::kFloat);
  auto uni = torch::logical_or(x, y).sum(1).to(torch::kFloat);
  return torch::where(uni > 0, inter / uni.clamp_min(1), torch::ones_like(uni));
}

}  // namespace aim::model
