#pragma once
// The MPI communicator (CPU tensors). All MPI calls run on one background thread, in the
// order they were submitted (like Horovod's background loop): collectives from the
// trainer's thread and gradient buckets launched from autograd hooks are serialised, so
// every rank issues them in the same order, and a bucket's reduction overlaps the rest of
// the backward pass.
#include <memory>

#include "runner/comm/communicator.h"

namespace aim::comm {

// Initialises MPI (MPI_THREAD_MULTIPLE requested) and finalises it on destruction.
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace aim::comm
