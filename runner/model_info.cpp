#include "runner/model_info.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

namespace aim {

namespace {

thread_local std::map<std::string, double>* counter = nullptr;

std::vector<int64_t> sizes(const c10::IValue& v) { return v.isTensor() ? v.toTensor().sizes().vec() : std::vector<int64_t>{}; }

std::vector<int64_t> ints(const c10::IValue& v) { return v.isIntList() ? v.toIntVector() : std::vector<int64_t>{}; }

std::unique_ptr<at::ObserverContext> on_op(const at::RecordFunction& fn) {
  if (!counter) return nullptr;
  const std::string name = fn.name();
  auto in = fn.inputs();
  double flops = 0;
  if (name == "aten::convolution" && in.size() >= 9) {
    // convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    auto x = sizes(in[0]), w = sizes(in[1]);
    auto stride = ints(in[3]), pad = ints(in[4]), dil = ints(in[5]);
    if (x.size() == 4 && w.size() == 4 && stride.size() == 2) {
      double out = double(x[0]) * double(w[0]);
      for (int d = 0; d < 2; ++d)
        out *= double((x[2 + d] + 2 * pad[d] - dil[d] * (w[2 + d] - 1) - 1) / stride[d] + 1);
      flops = 2.0 * out * double(w[1] * w[2] * w[3]);  // w[1] is already Cin / groups
    }
  } else if (name == "aten::addmm" && in.size() >= 3) {
    auto a = sizes(in[1]), b = sizes(in[2]);
    if (a.size() == 2 && b.size() == 2) flops = 2.0 * double(a[0] * a[1] * b[1]);
  } else if (name == "aten::mm" && in.size() >= 2) {
    auto a = sizes(in[0]), b = sizes(in[1]);
    if (a.size() == 2 && b.size() == 2) flops = 2.0 * double(a[0] * a[1] * b[1]);
  } else if (name == "aten::bmm" && in.size() >= 2) {
    auto a = sizes(in[0]), b = sizes(in[1]);
    if (a.size() == 3 && b.size() == 3) flops = 2.0 * double(a[0] * a[1] * a[2] * b[2]);
  }
  // Composite operators (linear, matmul, conv2d) reach these leaves, so they are skipped.
  if (flops > 0) (*counter)[name] += flops;
  return nullptr;
}

}  // namespace

ModelCost measure_cost(model::Model& model, int64_t height, int64_t width) {
  ModelCost cost;
  for (const auto& p : model.parameters()) cost.parameters += p.numel();
  for (const auto& p : model.backbone()->parameters()) cost.backbone_parameters += p.numel();
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  std::map<std::string, double> counts;
  const int64_t batch = 2;
  auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  auto images = torch::randn({batch, 3, height, width}, torch::TensorOptions().device(device));
  counter = &counts;
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(on_op).needsInputs(true));
  model.forward(images);
  at::removeCallback(handle);
  counter = nullptr;
  for (const auto& [op, f] : counts) {
    cost.by_operator[op] = f / double(batch);
    cost.forward_flops += f / double(batch);
  }
  model.train(was_training);
  return cost;
}

}  // namespace aim
