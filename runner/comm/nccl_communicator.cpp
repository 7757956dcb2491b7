#include "runner/comm/nccl_communicator.h"

#include <ATen/ATen.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"

namespace aim::comm {

namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}

void nccl_check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw Error(std::string("NCCL: ") + what + ": " + ncclGetErrorString(r));
}

ncclDataType_t nccl_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte: return ncclUint8;
    case at::kChar: return ncclInt8;
    default: throw Error(std::string("NCCL communicator: unsupported dtype ") + c10::toString(t));
  }
}

// Device-side completion: wait() makes the default stream wait for the reduction, so the
// kernels queued after it (the optimiser step) see the result; the host never blocks.
class NcclWork : public Work {
 public:
  NcclWork(cudaEvent_t done, ncclComm_t comm) : done_(done), comm_(comm) {}
  ~NcclWork() override { cudaEventDestroy(done_); }
  void wait() override {
    ncclResult_t async = ncclSuccess;
    nccl_check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
    nccl_check(async, "asynchronous error");
    cuda_check(cudaStreamWaitEvent(cudaStreamLegacy, done_, 0), "cudaStreamWaitEvent");
  }

 private:
  cudaEvent_t done_;
  ncclComm_t comm_;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> cpu, int device) : cpu_(std::move(cpu)), device_(device) {
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id;
    if (cpu_->rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    auto bytes = at::empty({int64_t(sizeof(id))}, at::kByte);
    std::memcpy(bytes.data_ptr(), &id, sizeof(id));
    cpu_->broadcast(bytes, 0);
    std::memcpy(&id, bytes.data_ptr(), sizeof(id));
    nccl_check(ncclCommInitRank(&comm_, cpu_->world_size(), id, cpu_->rank()), "ncclCommInitRank");
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~NcclCommunicator() override {
    stop_watch_ = true;
    if (watcher_.joinable()) watcher_.join();
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  // The host never blocks on a collective (NcclWork waits on the device), so a stuck peer
  // shows as collectives that never complete: a thread watches the oldest one in flight and
  // NCCL's asynchronous error, as PyTorch's NCCL watchdog does.
  void set_watchdog(Watchdog w) override {
    cpu_->set_watchdog(w);
    watchdog_ = std::move(w);
    if (watchdog_.seconds > 0 && !watcher_.joinable()) watcher_ = std::thread([this] { watch(); });
  }

  std::string backend() const override { return "nccl"; }
  int rank() const override { return cpu_->rank(); }
  int world_size() const override { return cpu_->world_size(); }
  int local_rank() const override { return cpu_->local_rank(); }
  int local_size() const override { return cpu_->local_size(); }

  void allreduce_sum(at::Tensor& t) override { allreduce_sum_async(t)->wait(); }

  std::unique_ptr<Work> allreduce_sum_async(at::Tensor t) override {
    if (!t.is_cuda()) return cpu_->allreduce_sum_async(t);
    check_contiguous(t);
    return enqueue(
        [&](cudaStream_t s) {
          return ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), nccl_type(t.scalar_type()), ncclSum, comm_, s);
        },
        "ncclAllReduce of " + std::to_string(t.numel()) + " values");
  }

  void broadcast(at::Tensor& t, int root) override {
    if (!t.is_cuda()) return cpu_->broadcast(t, root);
    if (!t.is_contiguous()) {  // e.g. channels-last parameters: through a contiguous copy
      auto c = t.contiguous();
      broadcast(c, root);
      t.copy_(c);
      return;
    }
    check_contiguous(t);
    enqueue([&](cudaStream_t s) {
      return ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), nccl_type(t.scalar_type()), root, comm_, s);
    })->wait();
  }

  void barrier() override {
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    cpu_->barrier();
  }

  [[noreturn]] void abort(int exit_code) override {
    ncclCommAbort(comm_);
    cpu_->abort(exit_code);
    std::_Exit(exit_code);  // not reached: the CPU communicator ends the process
  }

 private:
  static void check_contiguous(const at::Tensor& t) {
    if (!t.is_contiguous()) throw Error("NCCL communicator: tensors must be contiguous");
  }

  struct InFlight {
    cudaEvent_t done;
    std::chrono::steady_clock::time_point start;
    std::string what;
  };

  void track(const std::string& what) {
    cudaEvent_t e;
    if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess) return;
    cudaEventRecord(e, stream_);
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_.push_back({e, std::chrono::steady_clock::now(), what});
  }

  void watch() {
    cudaSetDevice(device_);
    while (!stop_watch_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ncclResult_t async = ncclSuccess;
      if (ncclCommGetAsyncError(comm_, &async) == ncclSuccess && async != ncclSuccess && async != ncclInProgress)
        watchdog_.on_timeout(std::string("NCCL asynchronous error: ") + ncclGetErrorString(async), 0);
      std::lock_guard<std::mutex> lock(mutex_);
      while (!in_flight_.empty() && cudaEventQuery(in_flight_.front().done) == cudaSuccess) {
        cudaEventDestroy(in_flight_.front().done);
        in_flight_.pop_front();
      }
      if (in_flight_.empty()) continue;
      double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - in_flight_.front().start).count();
      if (waited > watchdog_.seconds) watchdog_.on_timeout(in_flight_.front().what, waited);
    }
  }

  template <class F>
  std::unique_ptr<Work> enqueue(F&& op, const std::string& what = "NCCL collective") {
    cudaEvent_t ready, done;
    cuda_check(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreate");
    cuda_check(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
    // The tensor was produced on the default stream: reduce it only after that work.
    cuda_check(cudaEventRecord(ready, cudaStreamLegacy), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(stream_, ready, 0), "cudaStreamWaitEvent");
    nccl_check(op(stream_), "collective");
    cuda_check(cudaEventRecord(done, stream_), "cudaEventRecord");
    cudaEventDestroy(ready);
    if (watcher_.joinable()) track(what);
    return std::make_unique<NcclWork>(done, comm_);
  }

  std::unique_ptr<Communicator> cpu_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::thread watcher_;
  std::atomic<bool> stop_watch_{false};
  std::mutex mutex_;
  std::deque<InFlight> in_flight_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> cpu, int cuda_device) {
  return std::make_unique<NcclCommunicator>(std::move(cpu), cuda_device);
}

}  // namespace aim::comm
