#pragma once
// A run stopped at a training budget (aimrun train --stop-after-epoch E; a successive-halving
// rung, docs/sweeps.md "Search") leaves, beside the checkpoint of epoch E, <run>/rung-<E>.yaml:
// its validation metrics at that epoch, as the report names them ("val acc", "val
// worst-group"), and its compute so far. Written atomically after the checkpoint, once; the
// run continues from that checkpoint when it is given a larger budget, so the file is the
// only record of the weights of epoch E. The budget is not part of the run's identity.
#include <map>
#include <optional>
#include <string>

#include "results/run_folder.h"

namespace aim {

struct RungResult {
  std::string run_id;
  int64_t epoch = 0;                      // the budget reached
  int64_t epochs = 0;                     // the run's train.epochs (its schedule's horizon)
  std::string split;                      // the validation split evaluated
  std::map<std::string, double> metrics;  // "val acc", "val worst-group" (with groups)
  double seconds = 0;                     // (train + eval seconds) x ranks, so far
};

std::string rung_result_path(const RunPaths& paths, int64_t epoch);

// Written to a temporary name, fsync'd, renamed (core/files.h); throws aim::Error.
void write_rung_result(const RunPaths& paths, const RungResult& r);

// The rung result of `epoch` of run `run_id`: nullopt when there is none; `problem` says why
// a file that is there cannot be used (unreadable, another run's, another epoch's).
std::optional<RungResult> read_rung_result(const RunPaths& paths, int64_t epoch, const std::string& run_id,
                                           std::string* problem = nullptr);

}  // namespace aim
