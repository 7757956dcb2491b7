#include "runner/comm/launch.h"

#include <cstdlib>
#include <string>

#include "core/error.h"
#ifdef AIM_WITH_MPI
#include "runner/comm/mpi_communicator.h"
#endif
#ifdef AIM_WITH_NCCL
#include "runner/comm/nccl_communicator.h"
#endif

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

std::unique_ptr<Communicator> make_communicator_from_environment() {
  if (launcher_world_size() > 1) {
#ifdef AIM_WITH_MPI
    return make_mpi_communicator();
#else
    throw Error("started as " + std::to_string(launcher_world_size()) +
                " ranks, but this aimrun was built without MPI (one rank only)");
#endif
  }
  return make_local_communicator();
}

bool built_with_nccl() {
#ifdef AIM_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> for_device(std::unique_ptr<Communicator> cpu, const c10::Device& device) {
  if (!device.is_cuda()) return cpu;
#ifdef AIM_WITH_NCCL
  return make_nccl_communicator(std::move(cpu), device.index());
#else
  if (cpu->world_size() > 1)
    throw Error("several ranks on GPUs need the NCCL communicator: rebuild with -DAIM_WITH_NCCL=ON");
  return cpu;
#endif
}

}  // namespace aim::comm
