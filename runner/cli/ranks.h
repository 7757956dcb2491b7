#pragma once
// What the commands that run on several ranks (train, evaluate) share so that no rank waits
// forever: a deadline over the start-up, before any collective watchdog is armed (MPI_Init
// itself waits for every rank), and the rule for an error one rank finds alone.
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "runner/comm/communicator.h"
#include "runner/comm/deadline.h"

namespace aim::cli {

// train.collective_timeout of the config as this rank reads it before any rank agrees on
// it; the key's default when it cannot be read (the agreement reports that error itself).
double startup_limit(const std::string& config, const std::vector<std::string>& overrides);

// For a launch of several ranks: a deadline of `seconds` over the start-up, now in
// MPI_Init (Deadline::now_in names the later phases); none for one rank.
std::unique_ptr<comm::Deadline> startup_deadline(double seconds);

// The collective watchdog for `comm` (train.collective_timeout of `cfg`): a collective that
// waits longer logs which rank waited, in what and for how long, hands that message to
// `record` (train writes FAILED and closes its session), and ends the job.
void arm_watchdog(comm::Communicator& comm, const Config& cfg, std::function<void(const std::string& msg)> record = {});

// An error this rank found alone while other ranks may wait in a collective for it: ends
// the whole job (after the message). An agreed error, or a world of one, returns.
void end_job_if_alone(comm::Communicator& comm, const std::exception& e);

}  // namespace aim::cli
