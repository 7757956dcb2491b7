#pragma once
// What is below a folder the report, `aimrun collect` and the HTML page are given: run
// folders (complete or not), result files, collections and their runs, and .h5 files that
// are not runs. Nothing is dropped silently: every place found is listed with its state.
#include <string>
#include <vector>

#include "results/run_folder.h"
#include "results/run_record.h"

namespace aim::results {

// The state of a run a collection names in its /problems: `aimrun collect` left it out.
inline constexpr const char* kLeftOut = "left-out";

struct FoundRun {
  std::string path;   // result file, or run folder when there is no result
  std::string state;  // a run folder's state (results/run_folder.h), or foreign, duplicate
  std::string detail;
  RunRecord record;  // when done
  // A done run read from result.h5 because its summary was missing or failed a check: why.
  std::string summary_problem{};
  bool summary_missing = false;
  bool bound_to_summary = false;  // results/run_folder.h
};

// Every run folder (results/run_folder.h: a folder with config.yaml or result.h5), every
// .h5 file and every run of a collection (aimrun collect) below dir; dir may also be a
// collection file. A run reached twice (its folder and a collection) is a "duplicate" the
// second time.
// Run folders are read at `depth` (results/run_folder.h): their summaries by default.
std::vector<FoundRun> find_runs(const std::string& dir, ResultDepth depth = ResultDepth::Summary);

// One line for stderr about the done runs read without a valid summary ("" when none):
// how many, why (the first few named), and the command that writes their summaries.
std::string summary_problems(const std::vector<FoundRun>& runs);

}  // namespace aim::results
