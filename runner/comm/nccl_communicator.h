#pragma once
// The NCCL communicator: CUDA tensors are reduced with NCCL on a stream of its own, ordered
// after the work already queued on the default stream (so a gradient bucket is reduced
// while backward goes on); CPU tensors (metrics, flags) go through the wrapped CPU
// communicator (MPI, or local for one rank), which also carries the ncclUniqueId from rank 0.
// One communicator per run, one GPU per local rank. Built when CUDA and NCCL are found
// (CMake option AIM_WITH_NCCL).
#include <memory>

#include "runner/comm/communicator.h"

namespace aim::comm {

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> cpu, int cuda_device);

}  // namespace aim::comm
