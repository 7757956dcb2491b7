#include "results/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/config.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/isolate.h"
#include "core/strings.h"
#include "results/collection.h"
#include "results/paired.h"
#include "results/report_tables.h"
#include "results/run_groups.h"
#include "results/table_text.h"
#include "results/verdict.h"
#include "results/run_file.h"
#include "results/run_summary.h"

namespace fs = std::filesystem;

namespace aim::results {

const std::vector<std::string> kPaperMetrics = {"test acc",    "test worst-group", "ood acc",
                                                "EPG gradcam", "EPG mask",         "mask area"};

namespace {

// Keeps the paper's metrics among g's (in g's order); returns the ones left out. Keeps
// every metric when none of the paper's is there (a custom dataset's own metrics).
std::vector<std::string> keep_paper_metrics(Grouping& g) {
  std::vector<std::string> kept, left;
  for (const auto& m : g.metrics)
    (std::find(kPaperMetrics.begin(), kPaperMetrics.end(), m) != kPaperMetrics.end() ? kept : left).push_back(m);
  if (kept.empty()) return {};
  g.metrics = kept;
  return left;
}

// Takes the keys other than the method whose value is the same in every row out of the
// table; returns them as "key = value" for a line under it.
std::vector<std::string> fold_constant_keys(Grouping& g) {
  std::vector<std::string> folded;
  for (size_t i = g.keys.size(); i-- > 0;) {
    if (int(i) == g.method_index() || g.groups.empty()) continue;
    bool same = true;
    for (const auto& row : g.groups) same = same && row.key[i] == g.groups[0].key[i];
    if (!same) continue;
    folded.insert(folded.begin(), g.keys[i] + " = " + (g.groups[0].key[i].empty() ? "-" : g.groups[0].key[i]));
    g.keys.erase(g.keys.begin() + long(i));
    for (auto& row : g.groups) row.key.erase(row.key.begin() + long(i));
  }
  return folded;
}

const SplitResult* find_split(const RunRecord& r, const std::string& name) {
  for (const auto& s : r.splits)
    if (s.split == name) return &s;
  return nullptr;
}

// The samples whose masks the models were least sure about, over all runs: for a person to
// review (the paper's future work). Mask confidence = logit margin x agreement under
// augmentation (docs/evaluation.md).
void write_least_confident(const std::vector<const FoundRun*>& runs, int count, std::ostream& out) {
  struct Row {
    float confidence, margin, agreement;
    std::string run, method;
    int64_t index, label, pred;
  };
  std::vector<Row> rows;
  for (const auto* r : runs) {
    const SplitResult* s = find_split(r->record, "test");
    if (!s || count <= 0) continue;
    const auto l = least_confident(*s, size_t(count));  // a summary keeps kLeastConfidentKept
    auto method = r->record.text.count("method") ? r->record.text.at("method") : "?";
    for (size_t i = 0; i < l.index.size(); ++i)
      rows.push_back({l.confidence[i], l.margin[i], l.agreement[i], r->record.run_id, method, l.index[i], l.label[i],
                      l.pred[i]});
  }
  if (rows.empty() || count <= 0) return;
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.confidence < b.confidence; });
  rows.resize(std::min(rows.size(), size_t(count)));
  out << "\nLeast confident masks (test split; see <output_dir>/runs/<run>/pictures/test_least_confident.png):\n\n"
      << "| run | method | sample | label | pred | mask confidence | margin | agreement |\n"
      << "|-----|--------|--------|-------|------|-----------------|--------|-----------|\n";
  for (const auto& r : rows) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "| %s | %s | %lld | %lld | %lld | %.3f | %.3f | %.3f |\n", r.run.c_str(),
                  r.method.c_str(), (long long)r.index, (long long)r.label, (long long)r.pred, r.confidence, r.margin,
                  r.agreement);
    out << buf;
  }
}

// Below the table (md; LaTeX as % comments): what the numbers are, the differences from
// the baseline, the reference numbers' verdicts and the reference rows with no runs here.
void write_notes(const ReportData& d, const ReportOptions& options, std::ostream& out) {
  const bool latex = options.format == "latex";
  const std::string lead = latex ? "% " : "";
  // The terminal view (--columns paper) wraps its prose at 100 columns; files keep a line per note.
  auto note = [&](const std::string& text) {
    out << (options.paper_columns ? wrap_text(text, 100, lead) : lead + text) << "\n";
  };
  out << "\n";
  note(
      "In %, mean ± std over seeds (sample std; n = runs per row). EPG: Energy Pointing Game of each "
      "attribution method on the test split (worst-group: its lowest group mean); mask area: active fraction "
      "of the merged mask.");
  for (const auto& c : captions(d)) note(c);
  if (!d.comparison.differences.empty()) {
    out << "\n";
    note("Differences from " + d.comparison.baseline +
         " (--baseline) with the same other settings, in points: the mean difference [its 95% CI, t "
         "distribution], the two-sided p-value of no difference and n. Paired by seed (paired t-test) where "
         "every seed of the two rows pairs, Welch's t-test otherwise (n: runs of each).");
    out << "\n";
    auto t = difference_table(d);
    write_table(t.header, t.rows, options.format, out);
  }
  for (const auto& n : d.comparison.notes) note(n);
  if (!d.reference) return;
  const auto& ref = *d.reference;
  out << "\n";
  note("paper: " + (ref.source.empty() ? options.compare_path : ref.source) +
       " (Δ: our mean minus the paper's, in points; verdict: reproduced = the paper's value inside our 95% "
       "CI, not reproduced = outside it, underpowered = the CI's half-width is over " +
       format_double(options.margin) + " points (--margin) or fewer than 2 runs; sign: whether our difference from " +
       d.comparison.baseline + " has the paper's sign).");
  // Unmatched paper rows of the datasets in this report are worth knowing (a missing
  // setting); the rows of other datasets are only counted.
  std::set<std::string> datasets;
  for (const auto& g : d.grouping.groups)
    if (g.common.count("dataset.name")) datasets.insert(g.common.at("dataset.name"));
  std::set<const ReferenceRow*> matched;
  for (const auto& r : d.references) matched.insert(r.row);
  std::vector<std::string> missing;
  int other = 0;
  for (const auto& r : ref.rows) {
    if (matched.count(&r)) continue;
    auto ds = r.match.find("dataset.name");
    if (ds == r.match.end() || datasets.count(ds->second)) missing.push_back(r.name);
    else other++;
  }
  if (!missing.empty()) note("Paper rows with no runs here: " + join(missing, "; ") + ".");
  if (other) out << lead << other << " paper rows concern datasets not in this report.\n";
}

}  // namespace

bool write_report(const std::vector<FoundRun>& runs, const ReportOptions& options, std::ostream& out,
                  std::ostream& problems) {
  Grouping grouping = group_runs(runs, options.where, options.group_by, options.ungrouped);
  const bool terminal = options.paper_columns && options.format == "md";
  const auto left_out = terminal ? keep_paper_metrics(grouping) : std::vector<std::string>{};
  const auto folded = terminal ? fold_constant_keys(grouping) : std::vector<std::string>{};
  const BaselineComparison comparison = compare_with_baseline(grouping, options.baseline);
  ReportData data{grouping, comparison, options.compare ? &*options.compare : nullptr, {}, options.format};
  if (data.reference) data.references = match_reference(grouping, *data.reference, options.margin);
  const Table table = main_table(data);
  write_table(table.header, table.rows, options.format, out);
  if (!folded.empty()) out << wrap_text("Every row: " + join(folded, ", ") + ".", 100) << "\n";
  if (options.format != "csv" && !grouping.groups.empty()) write_notes(data, options, out);
  if (options.format == "md") write_least_confident(grouping.done, options.least_confident, out);
  if (!left_out.empty())
    out << "\n"
        << wrap_text("The paper's columns; " + std::to_string(left_out.size()) + " more (" + join(left_out, ", ") +
                         ") and their differences with --columns all (csv, LaTeX and HTML have every column).",
                     100)
        << "\n";
  const auto collection_left_out =
      std::count_if(runs.begin(), runs.end(), [](const FoundRun& r) { return r.state == kLeftOut; });
  if (collection_left_out && options.format != "csv")
    out << "\n"
        << (options.format == "latex" ? "% " : "") << collection_left_out
        << " runs were left out of the collection by aimrun collect (its /problems): they are not in this table "
           "(listed on stderr).\n";

  bool complete = true;
  for (const auto& r : runs) {
    if (r.state == "done") continue;
    complete = complete && (r.state == "foreign" || r.state == "duplicate");
    problems << r.state << ": " << r.path << (r.detail.empty() ? "" : " (" + r.detail + ")") << "\n";
  }
  for (const auto& u : grouping.unusable) problems << u << "\n";
  for (const auto* r : grouping.done)  // in the table, flagged: numbers of a run that went NaN or inf
    if (auto what = nonfinite_description(r->record); !what.empty())
      problems << "non-finite: " << r->path << " (" << what
               << "; trained with train.stop_on_nan: false: its numbers are not a trained model's)\n";
  complete = complete && grouping.unusable.empty();
  if (collection_left_out)
    problems << collection_left_out
             << " runs were left out of the collection by aimrun collect (its /problems; `aimrun collect` "
                "again once they are complete puts them in)\n";
  if (grouping.done.empty()) {
    problems << (options.where.empty() ? "no complete runs found\n" : "no complete runs match --where\n");
    complete = false;
  }
  return complete;
}

}  // namespace aim::results
