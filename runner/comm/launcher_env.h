#pragma once
// Which ranks the launcher started, from its environment alone: torch-free, so that aimrun
// (runner/cli/main_light.cpp) knows before exec'ing aimrun-torch whether a `train` is one of
// several ranks (runner/comm/launch.h makes the communicator from it).
namespace aim::comm {

// Ranks the launcher started (OMPI_COMM_WORLD_SIZE, SLURM_STEP_NUM_TASKS, PMI_SIZE), 1 without one.
int launcher_world_size();
// This process's rank as the launcher numbered it (OMPI_COMM_WORLD_RANK, SLURM_PROCID in an
// srun step, PMI_RANK), 0 without one: known before MPI_Init.
int launcher_rank();

}  // namespace aim::comm
