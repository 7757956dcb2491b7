#pragma once
// The report's tables from grouped runs: the main table (one row per group: mean +- std per
// metric, the reference numbers and verdicts; in CSV also every difference from the
// baseline, so that one tidy table holds everything) and, for Markdown and LaTeX, the table
// of differences from the baseline with their intervals and p-values, and the captions.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "results/paired.h"
#include "results/table_text.h"
#include "results/verdict.h"

namespace aim::results {

struct ReportData {
  const Grouping& grouping;
  const BaselineComparison& comparison;
  const Reference* reference = nullptr;     // --compare
  std::vector<RowReference> references;    // per group row, with a reference
  std::string format;                      // md, latex, csv
};

struct Table {
  std::vector<std::string> header;
  TableRows rows;
};

Table main_table(const ReportData& d);
Table difference_table(const ReportData& d);  // md, latex

// What the numbers mean: which class the attributions explain, which epoch is scored (and
// the rows selected with group labels), per-stage areas against their targets.
std::vector<std::string> captions(const ReportData& d);

}  // namespace aim::results
