#include "runner/comm/launch.h"

namespace aim::comm {

std::unique_ptr<Communicator> make_communicator_from_environment() { return make_local_communicator(); }

}  // namespace aim::comm
