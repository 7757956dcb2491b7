#include "runner/comm/launcher_env.h"

#include <cstdlib>

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

int launcher_rank() {
  if (int r = env_int("OMPI_COMM_WORLD_RANK", -1); r >= 0) return r;
  if (env_int("SLURM_STEP_NUM_TASKS", 0) > 0) return env_int("SLURM_PROCID", 0);
  return env_int("PMI_RANK", 0);
}

}  // namespace aim::comm
