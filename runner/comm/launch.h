#pragma once
// Which ranks this process belongs to, from the launcher's environment.
#include <c10/core/Device.h>

#include <memory>

#include "runner/comm/communicator.h"
#include "runner/comm/launcher_env.h"  // launcher_world_size, launcher_rank

namespace aim::comm {

// MPI when a launcher started several ranks (mpirun -np N, srun --mpi=pmix -n N), otherwise
// a world of one with no MPI at all (a plain `aimrun train` never needs mpirun).
std::unique_ptr<Communicator> make_communicator_from_environment();

// For a run on a GPU: NCCL for CUDA tensors around `cpu` when aimrun was built with NCCL;
// otherwise `cpu` unchanged (CUDA tensors would then fail in MPI, so this is an error for
// several ranks on GPUs without NCCL).
std::unique_ptr<Communicator> for_device(std::unique_ptr<Communicator> cpu, const c10::Device& device);
bool built_with_nccl();

}  // namespace aim::comm
