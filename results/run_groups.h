#pragma once
// The report's rows: complete runs filtered (--where) and grouped (by dataset, method,
// backbone and every other identity key that varies except the seed, or by --group-by),
// with every metric's value per run and seed, so that rows can be summarised (mean +- std)
// and compared seed by seed (results/paired.h).
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "results/found_runs.h"

namespace aim::results {

// One run's value of one metric (a fraction; the report prints percent).
struct RunValue {
  std::string seed;  // the run's seed, as its config writes it ("" when it has none)
  double value = 0;
};

struct RunGroup {
  std::vector<std::string> key;                         // one value per Grouping::keys ("" where absent)
  std::map<std::string, std::string> common;            // config values all its runs share
  std::map<std::string, std::vector<RunValue>> values;  // metric -> finite values, one per run
  std::vector<const FoundRun*> runs;
  std::map<std::string, int> explain;                 // eval.explain as recorded -> runs
  std::map<std::string, std::vector<double>> select;  // eval.select as recorded -> selected epochs
  int n() const { return int(runs.size()); }
};

struct Grouping {
  std::vector<std::string> keys;      // config keys that define a group
  std::vector<std::string> metrics;   // report columns, in display order
  std::vector<RunGroup> groups;       // in display order (baseline method first)
  std::vector<const FoundRun*> done;  // every complete run that passed the filters
  std::vector<std::string> unusable;  // complete runs whose identity cannot be read
  int method_index() const;           // position of method.name in keys, -1 without it
};

// Every metric of one run, as the report names them ("test acc", "val worst-group",
// "EPG gradcam", ...): name -> fraction.
std::vector<std::pair<std::string, double>> run_metrics(const RunRecord& rec);

// Splits "key=value" (--where); throws ConfigError naming the argument otherwise.
std::pair<std::string, std::string> parse_where(const std::string& arg);

// Throws ConfigError when a --where or --group-by key is in no complete run's config (with
// the closest key that is). `ungrouped`: keys that, like the seed, never make rows of their
// own in the default grouping (a search's searched keys: each method's winner is one row).
Grouping group_runs(const std::vector<FoundRun>& runs, const std::vector<std::pair<std::string, std::string>>& where,
                    const std::vector<std::string>& group_by, const std::vector<std::string>& ungrouped = {});

}  // namespace aim::results
