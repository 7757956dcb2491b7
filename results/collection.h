#pragma once
// One HDF5 file for a whole sweep: every complete run under a folder, copied (the file is
// self-contained) or externally linked (small; needs the run files next to it). Each run
// sits at /runs/<run_id> with the exact layout of its own result file (docs/hdf5-schema.md),
// so readers of run files read a collection's runs unchanged.
#include <string>
#include <vector>

#include "results/found_runs.h"

namespace aim::results {

constexpr int64_t kCollectionVersion = 1;

struct CollectSummary {
  int runs = 0;                        // runs written to the collection
  std::vector<const FoundRun*> left_out;  // runs that are not complete (also listed in /problems)
  std::vector<std::string> reasons;       // for each of left_out: "state: path (why)"
};

// Writes `out_path` atomically (temporary name, then rename). `link`: external links with
// paths relative to the collection's folder instead of copies.
CollectSummary collect_runs(const std::vector<FoundRun>& runs, const std::string& out_path, bool link);

// True for a file written by collect_runs.
bool is_collection(const std::string& path);
// The runs of a collection, as find_runs reports them ("<file>:/runs/<id>").
std::vector<FoundRun> runs_in_collection(const std::string& path);
// The runs `aimrun collect` left out of it (its /problems), each as a FoundRun of state
// "left-out", path "<file>:/problems" and the entry ("failed: <run> (why)") as detail.
std::vector<FoundRun> left_out_of_collection(const std::string& path);

}  // namespace aim::results
