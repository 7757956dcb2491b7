#include "runner/comm/launch.h"

#include <string>

#include "core/error.h"
#ifdef AIM_WITH_MPI
#include "runner/comm/mpi_communicator.h"
#endif
#ifdef AIM_WITH_NCCL
#include "runner/comm/nccl_communicator.h"
#endif

namespace aim::comm {

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
