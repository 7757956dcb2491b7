#pragma once
// Which ranks this process belongs to, from the launcher's environment.
#include <c10/core/Device.h>

#include <memory>

#include "runner/comm/communicator.h"

namespace aim::comm {

// Ranks the launcher started (OMPI_COMM_WORLD_SIZE, SLURM_STEP_NUM_TASKS, PMI_SIZE), 1 without one.
int launcher_world_size();
// This process's rank as the launcher numbered it (OMPI_COMM_WORLD_RANK, SLURM_PROCID in an
// srun step, PMI_RANK), 0 without one: known before MPI_Init.
int launcher_rank();

// MPI when a launcher started several ranks (mpirun -np N, srun --mpi=pmix -n N), otherwise
// a world of one with no MPI at all (a plain `aimrun train` never needs mpirun).
std::unique_ptr<Communicator> make_communicator_from_environment();

// For a run on a GPU: NCCL for CUDA tensors around `cpu` when aimrun was built with NCCL;
// otherwise `cpu` unchanged (CUDA tensors would then fail in MPI, so this is an error for
// several ranks on GPUs without NCCL).
std::unique_ptr<Communicator> for_device(std::unique_ptr<Communicator> cpu, const c10::Device& device);
bool built_with_nccl();

}  // namespace aim::comm
