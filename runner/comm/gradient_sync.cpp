#include "runner/comm/gradient_sync.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>

namespace aim::comm {

GradientSync::GradientSync(std::vector<at::Tensor> parameters, Communicator& comm, double bucket_mb,
                           double first_bucket_mb)
    : comm_(comm) {
  for (auto& p : parameters)
    if (p.requires_grad()) params_.push_back(p);
  slots_.resize(params_.size());
  // Reverse parameter order: the last layers' gradients are ready first.
  std::vector<std::vector<size_t>> members(1);
  std::vector<int64_t> sizes(1, 0);
  std::vector<at::ScalarType> types(1, params_.empty() ? at::kFloat : params_.back().scalar_type());
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    const double cap_mb = members.size() == 1 ? first_bucket_mb : bucket_mb;
    const int64_t bytes = (sizes.back() + p.numel()) * int64_t(p.element_size());
    bool full = !members.back().empty() && (double(bytes) > cap_mb * 1024 * 1024 || p.scalar_type() != types.back());
    if (full) {
      members.emplace_back();
      sizes.push_back(0);
      types.push_back(p.scalar_type());
    }
    slots_[k] = {members.size() - 1, sizes.back(), p.numel()};
    members.back().push_back(k);
    sizes.back() += p.numel();
  }
  for (size_t b = 0; b < members.size(); ++b) {
    if (members[b].empty()) continue;
    Bucket bucket;
    bucket.params = members[b];
    bucket.flat = torch::zeros({sizes[b]}, params_[members[b].front()].options().requires_grad(false));
    buckets_.push_back(std::move(bucket));
  }
  got_.assign(params_.size(), false);
  bind_gradients();
  // A post hook on each parameter's gradient accumulator (what DDP's reducer uses): it runs
  // after the gradient is in .grad, i.e. in the bucket.
  for (size_t k = 0; k < params_.size(); ++k) {
    auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
    acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          on_gradient(k);
          return outputs;
        }));
    accumulators_.push_back(acc);
  }
}

void GradientSync::bind_gradients() {
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& s = slots_[k];
    auto view = buckets_[s.bucket].flat.narrow(0, s.offset, s.numel).view(params_[k].sizes());
    auto& g = params_[k].mutable_grad();
    if (!g.defined() || !g.is_alias_of(view)) g = view;
  }
}

GradientSync::~GradientSync() {
  for (auto& b : buckets_)
    if (b.work) b.work->wait();
}

void GradientSync::begin_step() {
  // An optimiser's zero_grad() may have set .grad to None: bind the views again.
  bind_gradients();
  for (auto& b : buckets_) {
    b.flat.zero_();
    b.ready = 0;
    b.work.reset();
  }
  got_.assign(params_.size(), false);
  next_launch_ = 0;
  accumulate_only_ = false;
}

void GradientSync::on_gradient(size_t k) {
  if (accumulate_only_) return;
  auto& b = buckets_[slots_[k].bucket];
  if (!got_[k]) {
    got_[k] = true;
    b.ready++;
  }
  launch_ready();
}

void GradientSync::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].ready == buckets_[next_launch_].params.size()) {
    auto& b = buckets_[next_launch_++];
    b.work = comm_.allreduce_sum_async(b.flat);
  }
}

void GradientSync::finish_step() {
  accumulate_only_ = false;
  // Parameters that took no part in this backward pass contribute zeros (their slots were
  // zeroed in begin_step), on every rank.
  for (size_t bi = next_launch_; bi < buckets_.size(); ++bi) {
    auto& b = buckets_[bi];
    for (size_t k : b.params) {
      if (got_[k]) continue;
      got_[k] = true;
      b.ready++;
    }
  }
  launch_ready();
  auto t0 = std::chrono::steady_clock::now();
  for (auto& b : buckets_) b.work->wait();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Average in place, once per bucket: the .grad views see the result.
  torch::NoGradGuard no_grad;
  const double inv = 1.0 / double(comm_.world_size());
  for (auto& b : buckets_) b.flat.mul_(inv);
}

}  // namespace aim::comm
