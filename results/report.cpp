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

namespace fs = std::filesystem;

namespace aim::results {

namespace {

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
    if (!s || !s->per_sample.count(kMaskConfidence)) continue;
    const auto& c = s->per_sample.at(kMaskConfidence);
    auto method = r->record.text.count("method") ? r->record.text.at("method") : "?";
    for (size_t i = 0; i < c.size(); ++i)
      rows.push_back({c[i], s->per_sample.at(kMaskMargin)[i], s->per_sample.at(kMaskAgreement)[i], r->record.run_id,
                      method, int64_t(i), s->label[i], s->pred[i]});
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
  out << "\n" << lead
      << "In %, mean ± std over seeds (sample std; n = runs per row). EPG: Energy Pointing Game of each "
         "attribution method on the test split (worst-group: its lowest group mean); mask area: active fraction "
         "of the merged mask.\n";
  for (const auto& c : captions(d)) out << lead << c << "\n";
  if (!d.comparison.differences.empty()) {
    out << "\n" << lead << "Differences from " << d.comparison.baseline
        << " (--baseline) with the same other settings, in points: the mean difference [its 95% CI, t "
           "distribution], the two-sided p-value of no difference and n. Paired by seed (paired t-test) where "
           "every seed of the two rows pairs, Welch's t-test otherwise (n: runs of each).\n\n";
    auto t = difference_table(d);
    write_table(t.header, t.rows, options.format, out);
  }
  for (const auto& n : d.comparison.notes) out << lead << n << "\n";
  if (!d.reference) return;
  const auto& ref = *d.reference;
  out << "\n" << lead << "paper: " << (ref.source.empty() ? options.compare_path : ref.source)
      << " (Δ: our mean minus the paper's, in points; verdict: reproduced = the paper's value inside our 95% "
         "CI, not reproduced = outside it, underpowered = the CI's half-width is over "
      << options.margin << " points (--margin) or fewer than 2 runs; sign: whether our difference from "
      << d.comparison.baseline << " has the paper's sign).\n";
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
  if (!missing.empty()) out << lead << "Paper rows with no runs here: " << join(missing, "; ") << ".\n";
  if (other) out << lead << other << " paper rows concern datasets not in this report.\n";
}

// What a child process found in a .h5 file: "done", "collection", or "<state>\n<why>".
std::string classify_h5(const std::string& path, bool run_folder) {
  if (!run_folder && is_collection(path)) {
    runs_in_collection(path);  // every run read, as the caller will
    return "collection";
  }
  try {
    read_run_file(path);
    return "done";
  } catch (const std::exception& e) {
    // Foreign: an HDF5 file of somebody else's; one that does not even open is damaged.
    bool foreign = false;
    try {
      auto file = h5::open_file(path);
      foreign = !run_folder && !h5::has_attr(file, "schema_version");
    } catch (...) {
    }
    return std::string(foreign ? "foreign" : "unreadable") + "\n" + e.what();
  }
}

}  // namespace

std::vector<FoundRun> read_h5_checked(const std::string& path, bool run_folder) {
  auto checked = run_isolated([&] { return classify_h5(path, run_folder); });
  if (!checked.ok) return {{path, "unreadable", checked.output, {}}};
  if (checked.output == "collection") {
    try {
      return runs_in_collection(path);
    } catch (const std::exception& e) {
      return {{path, "unreadable", e.what(), {}}};
    }
  }
  FoundRun f;
  f.path = path;
  if (checked.output == "done") {
    try {  // the same reading the child survived
      f.record = read_run_file(path);
      f.state = "done";
    } catch (const std::exception& e) {
      f.state = "unreadable";
      f.detail = e.what();
    }
  } else {
    auto nl = checked.output.find('\n');
    f.state = checked.output.substr(0, nl);
    f.detail = nl == std::string::npos ? "" : checked.output.substr(nl + 1);
  }
  return {f};
}

std::vector<FoundRun> find_runs(const std::string& dir) {
  std::vector<FoundRun> out;
  if (fs::is_regular_file(dir)) return read_h5_checked(dir, false);
  if (!fs::is_directory(dir)) {
    out.push_back({dir, "unreadable", fs::exists(dir) ? "neither a folder nor a collection (aimrun collect)" : "no such folder", {}});
    return out;
  }
  std::set<std::string> seen_dirs, seen_files;
  std::vector<fs::path> run_dirs, h5_files;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink |
                                                           fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const auto& p = it->path();
    std::error_code ec;
    if (it->is_directory(ec)) {
      if (fs::exists(p / "config.yaml") || fs::exists(p / "result.h5")) {
        auto canon = fs::canonical(p, ec).string();
        if (seen_dirs.insert(canon).second) run_dirs.push_back(p);
      }
    } else if (p.extension() == ".h5" && p.filename() != "result.h5" && p.filename().string()[0] != '.') {
      auto canon = fs::canonical(p, ec).string();
      if (seen_files.insert(canon).second) h5_files.push_back(p);
    }
  }
  std::sort(run_dirs.begin(), run_dirs.end());
  std::sort(h5_files.begin(), h5_files.end());
  for (const auto& d : run_dirs) {
    out.push_back(inspect_run_folder(d.string()));
  }
  for (const auto& p : h5_files)
    for (auto& f : read_h5_checked(p.string(), false)) out.push_back(std::move(f));
  // The same run reached twice (a run folder and a collection holding it) counts once.
  std::map<std::string, std::string> first_path;
  for (auto& f : out) {
    if (f.state != "done") continue;
    auto [it, inserted] = first_path.emplace(f.record.run_id, f.path);
    if (!inserted) {
      f.state = "duplicate";
      f.detail = "the same run as " + it->second;
    }
  }
  return out;
}

FoundRun inspect_run_folder(const std::string& dir) {
  const fs::path d(dir);
  FoundRun unreadable;
  if (fs::exists(d / "result.h5")) {
    auto found = read_h5_checked((d / "result.h5").string(), true);
    if (found.size() == 1 && found[0].state == "done") return found[0];
    unreadable = found.empty() ? FoundRun{(d / "result.h5").string(), "unreadable", "?", {}} : found[0];
    unreadable.state = "unreadable";
  }
  FoundRun f;
  f.path = dir;
  if (is_locked_by_other((d / ".lock").string())) {
    f.state = "running";
  } else if (!unreadable.state.empty()) {
    return unreadable;
  } else if (fs::exists(d / "FAILED")) {
    f.state = "failed";
    try {
      auto t = trim(read_text((d / "FAILED").string()));
      f.detail = t.substr(0, t.find('\n'));
    } catch (...) {
    }
  } else {
    f.state = "pending";
    f.detail = fs::exists(d / "checkpoint.pt") ? "incomplete (has a checkpoint)" : "not started";
  }
  return f;
}

bool write_report(const std::vector<FoundRun>& runs, const ReportOptions& options, std::ostream& out,
                  std::ostream& problems) {
  const Grouping grouping = group_runs(runs, options.where, options.group_by);
  const BaselineComparison comparison = compare_with_baseline(grouping, options.baseline);
  ReportData data{grouping, comparison, options.compare ? &*options.compare : nullptr, {}, options.format};
  if (data.reference) data.references = match_reference(grouping, *data.reference, options.margin);
  const Table table = main_table(data);
  write_table(table.header, table.rows, options.format, out);
  if (options.format != "csv" && !grouping.groups.empty()) write_notes(data, options, out);
  if (options.format == "md") write_least_confident(grouping.done, options.least_confident, out);

  bool complete = true;
  for (const auto& r : runs) {
    if (r.state == "done") continue;
    complete = complete && (r.state == "foreign" || r.state == "duplicate");
    problems << r.state << ": " << r.path << (r.detail.empty() ? "" : " (" + r.detail + ")") << "\n";
  }
  for (const auto& u : grouping.unusable) problems << u << "\n";
  complete = complete && grouping.unusable.empty();
  if (grouping.done.empty()) {
    problems << (options.where.empty() ? "no complete runs found\n" : "no complete runs match --where\n");
    complete = false;
  }
  return complete;
}

}  // namespace aim::results
