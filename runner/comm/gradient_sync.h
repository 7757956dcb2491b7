#pragma once
// Data-parallel gradient averaging, as PyTorch DDP and Horovod do it. Each parameter's
// .grad is a view into a flat bucket (reverse parameter order, the order backward produces
// them; the first bucket small so communication starts early), so autograd accumulates
// straight into the bucket and nothing is copied. A hook after each gradient's
// accumulation counts it in; when a bucket is complete its allreduce is launched, while
// the rest of the backward pass goes on. Buckets are launched strictly in bucket order, so
// every rank issues the same collectives in the same order. The sum is divided by the world
// size once it is complete, never before.
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "runner/comm/communicator.h"

namespace aim::comm {

class GradientSync {
 public:
  GradientSync(std::vector<at::Tensor> parameters, Communicator& comm, double bucket_mb, double first_bucket_mb);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void begin_step();  // before the first backward() of an optimiser step
  // Gradient accumulation (as DDP's no_sync): while on, backward() only accumulates into
  // the buckets and nothing is launched; turn it off before the last micro-batch's
  // backward(), whose hooks then launch every bucket with the accumulated sums.
  void accumulate_only(bool on) { accumulate_only_ = on; }
  // After backward(): launches the buckets still waiting (parameters that got no gradient
  // count as zero), waits for all, writes the averaged gradients into .grad.
  void finish_step();

  size_t num_buckets() const { return buckets_.size(); }
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
  void on_gradient(size_t param);
  void launch_ready();
  void bind_gradients();  // .grad of every parameter = its view into a bucket

  std::vector<at::Tensor> params_;
  std::vector<std::shared_ptr<void>> accumulators_;  // keeps the hooked autograd nodes alive
  std::vector<Slot> slots_;
  std::vector<bool> got_;  // per parameter: its gradient arrived in this step
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  bool accumulate_only_ = false;
  Communicator& comm_;
  double wait_seconds_ = 0;
};

}  // namespace aim::comm
