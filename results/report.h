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
#include "results/found_runs.h"

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
  std::vector<std::string> ungrouped;  // keys that never make rows of their own (--search: the searched keys)
  bool paper_columns = false;         // md: only kPaperMetrics and their differences (aimrun report's default)
};

// The columns of the paper's tables: what `aimrun report` prints by default in markdown, so
// that the quickstart's table fits a 120-column terminal (--columns all: every column; csv,
// LaTeX and HTML always keep every column).
extern const std::vector<std::string> kPaperMetrics;

// Writes the table to `out` and the problems to `problems`; returns false when some run
// could not be included (the report is partial).
bool write_report(const std::vector<FoundRun>& runs, const ReportOptions& options, std::ostream& out,
                  std::ostream& problems);

}  // namespace aim::results
