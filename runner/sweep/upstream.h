#pragma once
// The upstream run of a staged sweep's run (the run of an earlier stage it starts from,
// its model.init_from): whether it is done, and the reason written to the downstream run's
// FAILED when it is not (`sweep run`, and an element of a Slurm array that starts before
// its upstream run is done). docs/sweeps.md, "Stages".
#include <string>

#include "results/run_folder.h"

namespace aim {

// "" when the run in `upstream_dir` is done; otherwise why a run that starts from it
// cannot train: "upstream <id> failed: <the first line of its FAILED>", or
// "upstream <id> is not done (<state>[: detail])".
std::string upstream_problem(const std::string& upstream_dir);

// Writes `reason` to the run's FAILED (atomically), so the run counts as failed until it
// trains; its config.yaml and checkpoint are left as they are.
void mark_failed(const RunPaths& run, const std::string& reason);

}  // namespace aim
