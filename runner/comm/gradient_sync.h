#pragma once
// Data-parallel gradient averaging, as PyTorch DDP and Horovod do it. Each parameter's
// gradient lives in a flat bucket (reverse parameter order, the order backward produces
// them; the first bucket small so communication starts early; runner/comm/bucket_plan.h
// decides which gradients share one, from their sizes alone). A hook after each gradient's
// accumulation copies the step's first gradient into the bucket and makes .grad the
// bucket's view (later micro-batches accumulate straight into it: no zeroing pass); when a
// bucket is complete its allreduce is launched, while the rest of the backward pass goes
// on. Buckets are launched strictly in bucket order, so every rank issues the same
// collectives in the same order. In a step of one micro-batch each gradient is divided by
// the world size as it is copied into its bucket (as DDP's reducer: one pass where copying
// then dividing the sum takes two, the division of the last bucket left after backward);
// with several micro-batches each bucket is divided once its sum is complete (on the MPI
// communication thread, right after the sum). The scale is 1/world as a float either way:
// for a world size that is a power of two both give the same bits (scaling by 2^-k is
// exact, barring values near the float minimum), otherwise they may differ in the last bit.
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "runner/comm/communicator.h"

namespace torch::autograd {
struct Node;
}

namespace aim::comm {

class GradientSync {
 public:
  // Caps in MiB (bucket_plan.h): bucket_mb for the buckets in the middle, first_bucket_mb
  // for the first; last_bucket_mb for the last: 0 derives it from the model, negative: none.
  GradientSync(std::vector<at::Tensor> parameters, Communicator& comm, double bucket_mb, double first_bucket_mb,
               double last_bucket_mb = 0);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void begin_step();  // before the first backward() of an optimiser step
  // Gradient accumulation (as DDP's no_sync): while on, backward() only accumulates into
  // the buckets and nothing is launched; turn it off before the last micro-batch's
  // backward(), whose hooks then launch every bucket with the accumulated sums.
  void accumulate_only(bool on) { accumulate_only_ = on; }
  // After backward(): launches the buckets still waiting (parameters that got no gradient
  // count as zero), waits for all; .grad of every parameter then holds the average.
  void finish_step();

  size_t num_buckets() const { return buckets_.size(); }
  double last_bucket_cap_mib() const { return last_cap_mib_; }  // the last bucket's cap in use (<= 0: none)
  double wait_seconds() const { return wait_seconds_; }  // time finish_step() spent waiting, summed

 private:
  struct Slot {
    size_t bucket;
    int64_t offset, numel;
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> params;
    size_t ready = 0;
    std::unique_ptr<Work> work;
  };
  void hook(size_t param);  // hooks on_gradient to the parameter's gradient accumulator
  void on_gradient(size_t param);
  void launch_ready();
  at::Tensor view_of(size_t param);  // the parameter's slot in its bucket, shaped as the parameter
  void store(size_t param);          // .grad into the slot (copied, or zeros if none), then .grad = the slot

  std::vector<at::Tensor> params_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // the hooked autograd nodes, kept alive
  std::vector<Slot> slots_;
  std::vector<bool> got_;     // per parameter: its gradient counted for launching in this step
  std::vector<bool> stored_;  // per parameter: .grad is its slot in the bucket, holding this step's sum
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  bool accumulate_only_ = false;
  bool step_started_ = false;   // a gradient of this step has arrived
  bool scale_on_copy_ = false;  // this step's buckets are divided as gradients are copied in
  at::Tensor scale_;            // 1 / world size, a 0-dim float tensor
  Communicator& comm_;
  double wait_seconds_ = 0;
  double last_cap_mib_ = 0;
};

}  // namespace aim::comm
