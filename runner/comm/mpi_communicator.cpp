#include "runner/comm/mpi_communicator.h"

// The C API only: the deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <c10/core/GradMode.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/error.h"
#include "runner/comm/deadline.h"

namespace aim::comm {

namespace {

MPI_Datatype mpi_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    case at::kBool: return MPI_C_BOOL;
    default: throw std::invalid_argument(std::string("MPI communicator: unsupported dtype ") + c10::toString(t));
  }
}

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw Error(std::string("MPI: ") + what + " failed: " + std::string(msg, len));
  }
}

// An operation on the communication thread. wait() obeys the watchdog: past its limit it
// reports what it waited for (and the watchdog ends the job).
class FutureWork : public Work {
 public:
  FutureWork(std::future<void> f, std::string what, const Watchdog& watchdog)
      : f_(std::move(f)), what_(std::move(what)), watchdog_(watchdog) {}
  void wait() override {
    if (!f_.valid()) return;
    if (watchdog_.seconds > 0 && watchdog_.on_timeout) {
      auto limit = std::chrono::duration<double>(watchdog_.seconds);
      if (f_.wait_for(limit) == std::future_status::timeout) watchdog_.on_timeout(what_, watchdog_.seconds);
    }
    f_.get();  // rethrows an MPI error from the communication thread
  }

 private:
  std::future<void> f_;
  std::string what_;
  const Watchdog& watchdog_;
};

// t *= 1/world, on the communication thread. Float tensors in a plain loop: a torch op here
// could start an OpenMP team of its own on this thread, beside the training threads. The
// factor is a float, as in t.mul_(1.0 / world) on a float tensor: the same values.
void divide(at::Tensor& t, int world) {
  if (world <= 1) return;
  if (t.scalar_type() != at::kFloat) {
    t.mul_(1.0 / double(world));
    return;
  }
  const float factor = float(1.0 / double(world));
  float* p = t.data_ptr<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] *= factor;
}

std::string describe(const char* op, const at::Tensor& t) {
  return std::string(op) + " of " + std::to_string(t.numel()) + " " + c10::toString(t.scalar_type()) + " values";
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
      multiple_ = provided >= MPI_THREAD_MULTIPLE;
      if (provided < MPI_THREAD_SERIALIZED)
        throw Error("MPI: the library provides no thread support (MPI_THREAD_SERIALIZED or better is needed)");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    worker_ = std::thread([this] { loop(); });
  }

  ~MpiCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    worker_.join();
    if (!owns_mpi_) return;
    // MPI_Finalize waits for every rank: one stopped or frozen must not keep this one forever.
    Deadline deadline(watchdog_.seconds, rank_, "MPI_Finalize", watchdog_.setting);
    MPI_Finalize();
  }

  std::string backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }

  void allreduce_sum(at::Tensor& t) override { allreduce_sum_async(t)->wait(); }

  std::unique_ptr<Work> allreduce_sum_async(at::Tensor t) override {
    return submit(describe("MPI_Allreduce", t), [t]() mutable {
      auto c = t.is_contiguous() ? t : t.contiguous();
      check(MPI_Allreduce(MPI_IN_PLACE, c.data_ptr(), int(c.numel()), mpi_type(c.scalar_type()), MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
      if (!c.is_same(t)) t.copy_(c);
    });
  }

  std::unique_ptr<Work> allreduce_average_async(at::Tensor t) override {
    const int world = size_;
    return submit(describe("MPI_Allreduce", t), [t, world]() mutable {
      auto c = t.is_contiguous() ? t : t.contiguous();
      check(MPI_Allreduce(MPI_IN_PLACE, c.data_ptr(), int(c.numel()), mpi_type(c.scalar_type()), MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
      divide(c, world);
      if (!c.is_same(t)) t.copy_(c);
    });
  }
  void broadcast(at::Tensor& t, int root) override {
    at::Tensor target = t;
    submit(describe("MPI_Bcast", t), [target, root]() mutable {
      auto c = target.is_contiguous() ? target : target.contiguous();
      check(MPI_Bcast(c.data_ptr(), int(c.numel()), mpi_type(c.scalar_type()), root, MPI_COMM_WORLD), "MPI_Bcast");
      if (!c.is_same(target)) target.copy_(c);
    })->wait();
  }

  void barrier() override {
    submit("MPI_Barrier", [] { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); })->wait();
  }

  [[noreturn]] void abort(int exit_code) override {
    // MPI_Abort from this thread is allowed with MPI_THREAD_MULTIPLE; otherwise exiting
    // with an error is enough: mpirun and srun --kill-on-bad-exit end the other ranks.
    if (multiple_) MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  std::unique_ptr<Work> submit(std::string what, std::function<void()> task) {
    std::packaged_task<void()> job(std::move(task));
    auto future = job.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return std::make_unique<FutureWork>(std::move(future), std::move(what), watchdog_);
  }

  void loop() {
    // Autograd's mode is per thread: this one only moves data (into parameters too, which
    // an in-place copy with autograd on would refuse).
    c10::AutoGradMode no_grad(false);
    while (true) {
      std::packaged_task<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool owns_mpi_ = false, multiple_ = false;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace aim::comm
