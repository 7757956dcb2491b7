#include "runner/comm/launch.h"

#include <cstdlib>
#include <string>

#include "runner/comm/mpi_communicator.h"

namespace aim::comm {

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
}  // namespace

int launcher_world_size() {
  // mpirun (Open MPI), srun (Slurm), and PMIx/PMI launchers.
  // SLURM_STEP_NUM_TASKS, not SLURM_NTASKS: only tasks of an srun step are ranks; a batch
  // script running aimrun directly is not.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "PMI_SIZE"}) {
    int n = env_int(name, 0);
    if (n > 0) return n;
  }
  return 1;
}

std::unique_ptr<Communicator> make_communicator_from_environment() {
  if (launcher_world_size() > 1) return make_mpi_communicator();
  return make_local_communicator();
}

}  // namespace aim::comm
