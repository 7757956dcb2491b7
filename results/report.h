#pragma once
// From a folder of runs to the paper's kind of table: runs grouped by dataset, method,
// backbone and every other identity key that varies (except the seed), mean +- std and n
// per metric. Runs that are missing, failed or unreadable are listed, never dropped
// silently.
#include <ostream>
#include <string>
#include <vector>

#include "results/run_record.h"

namespace aim::results {

struct ReportOptions {
  std::string format = "md";   // md, latex, csv
  int least_confident = 5;     // md: list this many samples with the least confident masks (0: none)
};

struct FoundRun {
  std::string path;     // result file, or run folder when there is no result
  std::string state;    // done, failed, running, pending, unreadable, foreign
  std::string detail;
  RunRecord record;     // when done
};

// Every run folder (a folder with config.yaml or result.h5) and every .h5 file below dir.
std::vector<FoundRun> find_runs(const std::string& dir);

// Writes the table to `out` and the problems to `problems`; returns false when some run
// could not be included (the report is partial).
bool write_report(const std::vector<FoundRun>& runs, const ReportOptions& options, std::ostream& out,
                  std::ostream& problems);

}  // namespace aim::results
