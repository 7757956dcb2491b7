#pragma once
// Which ranks this process belongs to, from the launcher's environment.
#include <memory>

#include "runner/comm/communicator.h"

namespace aim::comm {

// A local (world of one) communicator unless a launcher started several ranks.
std::unique_ptr<Communicator> make_communicator_from_environment();

}  // namespace aim::comm
