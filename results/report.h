#pragma once
// From a folder of runs to the paper's kind of table: runs grouped by dataset, method,
// backbone and every other identity key that varies (except the seed), mean +- std and n
// per metric, each method's difference from a baseline paired by seed (results/paired.h),
// and verdicts against reference numbers (results/verdict.h); docs/report.md. Runs that are
// missing, failed or unreadable are listed, never dropped silently.
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "results/comparison.h"
#include "results/run_record.h"

namespace aim::results {

struct ReportOptions {
  std::string format = "md";   // md, latex, csv
  int least_confident = 5;     // md: list this many samples with the least confident masks (0: none)
  std::optional<Reference> compare;  // numbers to put beside ours (--compare FILE)
  std::string compare_path;
  double margin = 2;                 // --margin: points; a wider 95% CI is "underpowered"
  std::string baseline = "vanilla";  // --baseline: the method every other is compared with
  std::vector<std::pair<std::string, std::string>> where;  // --where key=value: only these runs
  std::vector<std::string> group_by;  // --group-by: these keys instead of the default grouping
};

struct FoundRun {
  std::string path;     // result file, or run folder when there is no result
  std::string state;    // done, failed, running, pending, unreadable, foreign, duplicate
  std::string detail;
  RunRecord record;     // when done
};

// Every run folder (a folder with config.yaml or result.h5), every .h5 file and every run of
// a collection (aimrun collect) below dir; dir may also be a collection file.
std::vector<FoundRun> find_runs(const std::string& dir);

// One .h5 file (a result file, or a collection when not `run_folder`), opened and read in
// a child process first (core/isolate.h): a file that crashes the HDF5 library, or claims
// more memory than it could hold, comes back "unreadable" with the reason, and only files
// the child read completely are read here.
std::vector<FoundRun> read_h5_checked(const std::string& path, bool run_folder);

// The state of one run folder: the one definition that `aimrun train`, `sweep status`,
// `sweep run` and `report` all use (runner/sweep/run_state.h wraps it):
//   done        result.h5 is complete and reads completely (in a child process first)
//   running     another process holds <run>/.lock
//   unreadable  result.h5 is there but damaged (trained again by the next train)
//   failed      <run>/FAILED holds the error of the last attempt
//   pending     none of these (detail: whether a checkpoint will be resumed)
FoundRun inspect_run_folder(const std::string& dir);

// Writes the table to `out` and the problems to `problems`; returns false when some run
// could not be included (the report is partial).
bool write_report(const std::vector<FoundRun>& runs, const ReportOptions& options, std::ostream& out,
                  std::ostream& problems);

}  // namespace aim::results
