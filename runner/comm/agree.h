#pragma once
// Decisions one rank makes alone (the run lock, the run folder, the config, the checkpoint,
// the datasets) reach every rank before the next collective: each rank runs its part, then
// all learn whether any rank failed and the first failure's message, and every rank throws
// it (as the same kind of error). So no rank waits forever in a collective for a rank that
// already gave up, and every rank ends with the message.
#include <functional>
#include <string>

#include "core/error.h"
#include "runner/comm/communicator.h"

namespace aim::comm {

// Another process trains this run already: not a failure of the run (no FAILED is written).
class RunBusy : public Error {
 public:
  using Error::Error;
};

// Marks an error that every rank threw together (from run_agreed): no rank waits for
// another, so each can end normally with it; any other error on one rank must abort the job.
class AgreedMark {
 public:
  virtual ~AgreedMark() = default;
};
bool is_agreed(const std::exception& e);

// Runs `part` on this rank (it may do nothing on some ranks), then agrees with all ranks.
void run_agreed(Communicator& comm, const std::function<void()>& part);

// Every rank gets rank `root`'s value.
bool broadcast_flag(Communicator& comm, bool value, int root = 0);
std::string broadcast_text(Communicator& comm, const std::string& text, int root = 0);

}  // namespace aim::comm
