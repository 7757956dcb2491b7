#include "runner/cli/ranks.h"

#include <spdlog/spdlog.h>

#include <c10/util/Exception.h>

#include "core/strings.h"
#include "runner/cli/commands.h"
#include "runner/comm/agree.h"
#include "runner/comm/launch.h"
#include "runner/schema.h"

namespace aim::cli {

namespace {
// The key of every limit here, in the config and in the messages.
const std::string kTimeoutKey = "train.collective_timeout";
}  // namespace

double startup_limit(const std::string& config, const std::vector<std::string>& overrides) {
  try {
    return load_run_config(config, overrides).get_float(kTimeoutKey);
  } catch (const std::exception&) {
    return std::stod(full_schema().find(kTimeoutKey)->default_yaml);
  }
}

std::unique_ptr<comm::Deadline> startup_deadline(double seconds) {
  if (comm::launcher_world_size() <= 1) return nullptr;
  return std::make_unique<comm::Deadline>(seconds, comm::launcher_rank(), "start-up (MPI_Init)", kTimeoutKey);
}

void arm_watchdog(comm::Communicator& comm, const Config& cfg, std::function<void(const std::string& msg)> record) {
  comm::Watchdog w;
  w.seconds = cfg.get_float(kTimeoutKey);
  w.setting = kTimeoutKey;
  w.on_timeout = [&comm, rank = comm.rank(), record = std::move(record)](const std::string& what, double waited) {
    const std::string msg = "rank " + std::to_string(rank) + " waited " + format_duration(waited) + " in " + what +
                            " (" + kTimeoutKey + "): another rank is stuck or dead; ending the job";
    if (record)
      record(msg);
    else
      spdlog::error("{}", msg);
    comm.abort(kExitError);
  };
  comm.set_watchdog(std::move(w));
}

void end_job_if_alone(comm::Communicator& comm, const std::exception& e) {
  if (comm.world_size() <= 1 || comm::is_agreed(e)) return;
  const auto* c = dynamic_cast<const c10::Error*>(&e);
  spdlog::error("rank {}: {}; ending the job", comm.rank(), c ? c->what_without_backtrace() : e.what());
  comm.abort(kExitError);
}

}  // namespace aim::cli
