#pragma once
// One .h5 file read without trusting it: opened and read in a child process first
// (core/isolate.h), so that a file that crashes the HDF5 library, or claims more memory
// than it could hold, comes back "unreadable" with the reason; only files the child read
// completely are read here. docs/reliability.md, "Results".
#include <string>
#include <vector>

#include "results/found_runs.h"

namespace aim::results {

// A result file, or a collection when not `run_folder` (then every run of it): "done",
// "unreadable" (with why) or, outside a run folder, "foreign" (an HDF5 file of somebody
// else's).
std::vector<FoundRun> read_h5_checked(const std::string& path, bool run_folder);

}  // namespace aim::results
