#include "runner/comm/gradient_sync.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>

#include "runner/comm/bucket_plan.h"

namespace aim::comm {

GradientSync::GradientSync(std::vector<at::Tensor> parameters, Communicator& comm, double bucket_mb,
                           double first_bucket_mb, double last_bucket_mb)
    : comm_(comm) {
  for (auto& p : parameters)
    if (p.requires_grad()) params_.push_back(p);
  slots_.resize(params_.size());
  std::vector<GradientInfo> grads;
  int64_t total = 0;
  for (const auto& p : params_) {
    grads.push_back({p.numel() * int64_t(p.element_size()), int(p.scalar_type())});
    total += grads.back().bytes;
  }
  last_cap_mib_ = comm::last_bucket_cap_mib(last_bucket_mb, total);
  for (const auto& members : plan_buckets(grads, bucket_mb, first_bucket_mb, last_cap_mib_)) {
    int64_t numel = 0;
    for (size_t k : members) {
      slots_[k] = {buckets_.size(), numel, params_[k].numel()};
      numel += params_[k].numel();
    }
    Bucket bucket;
    bucket.params = members;
    bucket.flat = torch::zeros({numel}, params_[members.front()].options().requires_grad(false));
    buckets_.push_back(std::move(bucket));
  }
  // 1/world as a float, as the division after the sum uses (mpi_communicator.cpp).
  scale_ = at::scalar_tensor(double(float(1.0 / double(comm_.world_size()))), at::kFloat);
  got_.assign(params_.size(), false);
  stored_.assign(params_.size(), true);
  for (size_t k = 0; k < params_.size(); ++k) params_[k].mutable_grad() = view_of(k);
  accumulators_.resize(params_.size());
  for (size_t k = 0; k < params_.size(); ++k) hook(k);
}

void GradientSync::hook(size_t k) {
  // A post hook on the parameter's gradient accumulator (what DDP's reducer uses): it runs
  // after the gradient is in .grad, i.e. in the bucket.
  auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
  acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
      [this, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
        on_gradient(k);
        return outputs;
      }));
  accumulators_[k] = std::move(acc);
}

at::Tensor GradientSync::view_of(size_t k) {
  const auto& s = slots_[k];
  return buckets_[s.bucket].flat.narrow(0, s.offset, s.numel).view(params_[k].sizes());
}

void GradientSync::store(size_t k) {
  auto view = view_of(k);
  auto& g = params_[k].mutable_grad();
  if (g.defined() && g.is_alias_of(view)) return;
  if (!g.defined())
    view.zero_();
  else if (scale_on_copy_)
    at::mul_out(view, g, scale_);  // divided while copied: one pass, as DDP's reducer
  else
    view.copy_(g);
  g = view;  // later micro-batches of the step accumulate into the bucket
}

GradientSync::~GradientSync() {
  for (auto& b : buckets_)
    if (b.work) b.work->wait();
}

void GradientSync::begin_step() {
  // No pass over the buckets to zero them: each parameter's .grad is released, autograd
  // puts its first gradient of the step in a fresh tensor, and the hook copies that into
  // the bucket (a copy, where zeroing then accumulating would take two passes).
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
  // Loading weights into the parameters (torch::nn::Module::load, as a resumed run does
  // after this was built) gives them new gradient accumulators, without the hooks: hook
  // those again, or no bucket would launch before finish_step.
  for (size_t k = 0; k < params_.size(); ++k)
    if (torch::autograd::impl::grad_accumulator(params_[k]) != accumulators_[k]) hook(k);
  for (auto& b : buckets_) {
    b.ready = 0;
    b.work.reset();
  }
  got_.assign(params_.size(), false);
  stored_.assign(params_.size(), false);
  next_launch_ = 0;
  accumulate_only_ = false;
  step_started_ = false;
  scale_on_copy_ = false;
}

void GradientSync::on_gradient(size_t k) {
  if (!step_started_) {
    // The step's first gradient: if its backward is also the step's last (one micro-batch),
    // no gradient will be added to the buckets after it is copied in, so the copy can
    // divide by the world size and the allreduce only sums. With several micro-batches
    // later ones add to the buckets, so each bucket is divided after its sum instead.
    step_started_ = true;
    scale_on_copy_ = !accumulate_only_ && comm_.world_size() > 1;
  }
  if (!stored_[k]) {
    store(k);
    stored_[k] = true;
  }
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
    b.work = scale_on_copy_ ? comm_.allreduce_sum_async(b.flat) : comm_.allreduce_average_async(b.flat);
  }
}

void GradientSync::finish_step() {
  accumulate_only_ = false;
  // Parameters that took no part in this step's backward passes contribute zeros, on every
  // rank; their .grad is the zeroed slot.
  for (size_t bi = next_launch_; bi < buckets_.size(); ++bi) {
    auto& b = buckets_[bi];
    for (size_t k : b.params) {
      if (!stored_[k]) {
        torch::NoGradGuard no_grad;
        store(k);
        stored_[k] = true;
      }
      if (got_[k]) continue;
      got_[k] = true;
      b.ready++;
    }
  }
  launch_ready();
  // The averages (sum / world size) land in the buckets, which the .grad views see.
  auto t0 = std::chrono::steady_clock::now();
  for (auto& b : buckets_) b.work->wait();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace aim::comm
