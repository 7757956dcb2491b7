#pragma once
// The upstream run of a staged sweep's run (the run of an earlier stage it starts from,
// its model.init_from): whether it is done, and the reason written to the downstream run's
// FAILED when it is not (`sweep run`, and an element of a Slurm array that starts before
// its upstream run is done). docs/sweeps.md, "Stages".
#include <string>

#include "results/run_folder.h"

namespace aim {

// "" when the run in `upstream_dir` is done and has its weights (checkpoint.pt); otherwise why
// a run that starts from it cannot train: "upstream <id> failed: <the first line of its
// FAILED>", "upstream <id> is complete but has no checkpoint.pt ...", or "upstream <id> is
// not done (<state>[: detail])"; a failed, damaged or weightless upstream with the command
// that trains it again. `needs_repair`: set to whether the upstream needs that command (false
// while it is pending or running, which the sweep itself resolves).
std::string upstream_problem(const std::string& upstream_dir, bool* needs_repair = nullptr);

// Writes `reason` to the run's FAILED (atomically), so the run counts as failed until it
// trains; its config.yaml and checkpoint are left as they are.
void mark_failed(const RunPaths& run, const std::string& reason);

}  // namespace aim
