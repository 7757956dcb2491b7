#pragma once
// Collective operations between the ranks of one run, behind one interface (like
// Horovod's common/): the trainer never knows whether it talks to MPI, NCCL or nobody.
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>

namespace aim::comm {

// An operation in flight; wait() returns when its result is in the tensor.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};

// The collective watchdog: a collective, or a wait for one, that takes longer than `seconds`
// calls `on_timeout` with what it waited for and for how long (another rank is stuck or
// dead), from the thread that waits. `on_timeout` must end the job (it does not return).
// seconds <= 0: wait forever.
struct Watchdog {
  double seconds = 0;
  std::string setting;  // the key that sets `seconds`, for messages ("train.collective_timeout")
  std::function<void(const std::string& what, double waited_s)> on_timeout;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual void set_watchdog(Watchdog w) { watchdog_ = std::move(w); }
  const Watchdog& watchdog() const { return watchdog_; }
  virtual std::string backend() const = 0;  // "local", "mpi", "nccl"
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;  // rank among the processes of this node
  virtual int local_size() const = 0;

  // Sums `t` over all ranks, in place; every rank gets the result.
  virtual void allreduce_sum(at::Tensor& t) = 0;
  // Starts the sum and returns at once; `t` must stay alive and untouched until wait().
  virtual std::unique_ptr<Work> allreduce_sum_async(at::Tensor t) = 0;
  // The sum, then divided by the world size: every element times 1/N as a value of t's
  // dtype (the same numbers as allreduce_sum then t.mul_(1.0 / N)). This default divides in
  // wait(); the MPI communicator divides on its thread right after the sum, so a gradient
  // bucket's division overlaps the backward pass as its sum does.
  virtual std::unique_ptr<Work> allreduce_average_async(at::Tensor t);
  virtual void broadcast(at::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Takes every rank of the job down (used when one rank fails, so none hangs).
  [[noreturn]] virtual void abort(int exit_code) = 0;

 protected:
  Watchdog watchdog_;
};

// A world of one: every collective is the identity.
std::unique_ptr<Communicator> make_local_communicator();

}  // namespace aim::comm
