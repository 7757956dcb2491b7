#include "results/report_tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/strings.h"

namespace aim::results {

namespace {

std::string printf_text(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string number_cell(double v, const std::string& format, const char* display = "%+.1f") {
  if (!std::isfinite(v)) return "-";
  return printf_text(format == "csv" ? "%.4f" : display, v);
}

std::string p_cell(double p, const std::string& format) {
  if (!std::isfinite(p)) return "-";
  if (format == "csv") return printf_text("%.6g", p);
  if (p < 0.001) return format == "latex" ? "$<$0.001" : "<0.001";
  return printf_text(p < 0.01 ? "%.3f" : "%.2f", p);
}

std::string mean_std_cell(const std::vector<RunValue>& values, const std::string& format) {
  if (values.empty()) return "-";
  std::vector<double> v;
  for (const auto& x : values) v.push_back(100 * x.value);
  auto t = one_sample(v);
  if (format == "csv") return printf_text("%.4f", t.mean);
  if (v.size() < 2) return printf_text("%.1f", t.mean);
  double s = 0;
  for (double x : v) s += (x - t.mean) * (x - t.mean);
  double sd = std::sqrt(s / double(v.size() - 1));
  char buf[64];
  std::snprintf(buf, sizeof buf, format == "latex" ? "%.1f $\\pm$ %.1f" : "%.1f ± %.1f", t.mean, sd);
  return buf;
}

std::string reference_cell(const ReferenceValue& v, const std::string& format) {
  char buf[64];
  if (format == "csv") std::snprintf(buf, sizeof buf, "%.4f", v.mean);
  else if (!v.std) std::snprintf(buf, sizeof buf, "%.1f", v.mean);
  else if (format == "latex") std::snprintf(buf, sizeof buf, "%.1f $\\pm$ %.1f", v.mean, *v.std);
  else std::snprintf(buf, sizeof buf, "%.1f ± %.1f", v.mean, *v.std);
  return buf;
}

std::string key_header(const std::string& k) {
  return k == "dataset.name" ? "dataset" : k == "method.name" ? "method" : k == "model.backbone" ? "backbone" : k;
}

std::string delta(const std::string& format) { return format == "latex" ? "$\\Delta$ " : "Δ "; }

bool selected_with_groups(const RunGroup& g) { return g.select.count("best_val_worst_group") > 0; }

// Runs of the row whose weights or training loss went NaN or inf (train.stop_on_nan: false).
int nonfinite_runs(const RunGroup& g) {
  int k = 0;
  for (const auto* r : g.runs) k += nonfinite_description(r->record).empty() ? 0 : 1;
  return k;
}

bool any_nonfinite(const Grouping& g) {
  for (const auto& row : g.groups)
    if (nonfinite_runs(row)) return true;
  return false;
}

std::string select_cell(const RunGroup& g) {
  std::vector<std::string> parts;
  for (const auto& [rule, epochs] : g.select) {
    std::string label = rule == "last" ? "last" : rule == "best_val_accuracy" ? "best val acc"
                        : rule == "best_val_worst_group" ? "best val worst-group" : rule;
    double lo = INFINITY, hi = -INFINITY;
    for (double e : epochs)
      if (std::isfinite(e)) lo = std::min(lo, e), hi = std::max(hi, e);
    if (rule != "last" && std::isfinite(lo))
      label += lo == hi ? printf_text(" (epoch %.0f)", lo) : printf_text(" (epochs %.0f", lo) + printf_text("-%.0f)", hi);
    parts.push_back(label);
  }
  return parts.empty() ? "-" : join(parts, "; ");
}

// The key cells of a row; the method marked † in md/latex when selected with group labels.
std::vector<std::string> key_cells(const ReportData& d, const RunGroup& g, bool with_method = true) {
  std::vector<std::string> out;
  int mi = d.grouping.method_index();
  for (size_t i = 0; i < g.key.size(); ++i) {
    if (int(i) == mi && !with_method) continue;
    std::string cell = g.key[i].empty() ? "-" : g.key[i];
    if (int(i) == mi && d.format != "csv" && selected_with_groups(g)) cell += d.format == "latex" ? " $\\dagger$" : " †";
    out.push_back(cell);
  }
  return out;
}

const Difference* find_difference(const ReportData& d, size_t row, const std::string& metric) {
  for (const auto& x : d.comparison.differences)
    if (x.group == row && x.metric == metric) return &x;
  return nullptr;
}

std::vector<std::string> compared_metrics(const ReportData& d) {
  std::set<std::string> any;
  for (const auto& x : d.comparison.differences) any.insert(x.metric);
  std::vector<std::string> out;
  for (const auto& m : d.grouping.metrics)
    if (any.count(m)) out.push_back(m);
  return out;
}

// The reference metric whose report column is `metric`, or "".
std::string reference_metric(const ReportData& d, const std::string& metric) {
  if (!d.reference) return "";
  for (const auto& [name, column] : d.reference->metrics)
    if (column == metric) return name;
  return "";
}

// What main_table's optional columns are: "scored epoch" when any row records eval.select,
// "non-finite runs" only when a run went NaN or inf (tables of finite runs stay as they were),
// and the metrics compared with the baseline (their columns in CSV only).
struct MainColumns {
  bool select = false;
  bool nonfinite = false;
  std::vector<std::string> compared;
};

MainColumns main_columns(const ReportData& d) {
  MainColumns c;
  for (const auto& row : d.grouping.groups) c.select = c.select || !row.select.empty();
  c.nonfinite = any_nonfinite(d.grouping);
  c.compared = compared_metrics(d);
  return c;
}

std::vector<std::string> main_header(const ReportData& d, const MainColumns& c) {
  const auto& g = d.grouping;
  const bool csv = d.format == "csv";
  const std::string& base = d.comparison.baseline;
  std::vector<std::string> h;
  for (const auto& k : g.keys) h.push_back(key_header(k));
  h.push_back("n");
  for (const auto& m : g.metrics) h.push_back(m);
  if (c.select) h.push_back("scored epoch");
  if (c.nonfinite) h.push_back("non-finite runs");
  if (csv) h.push_back("explains");
  if (csv && !c.compared.empty()) {
    h.push_back("baseline");
    for (const auto& m : c.compared)
      for (const char* part : {"", " lo", " hi", " p", " n", " n base", " test"}) h.push_back(m + " - " + base + part);
  }
  if (d.reference)
    for (const auto& [name, column] : d.reference->metrics) {
      for (const auto& x : {"paper " + name, delta(d.format) + name, "verdict " + name}) h.push_back(x);
      if (csv) h.push_back("paper " + name + " - " + base), h.push_back("sign " + name);
    }
  return h;
}

// CSV only: row r's baseline and, per compared metric, its difference from it.
void comparison_cells(const ReportData& d, size_t r, const MainColumns& c, std::vector<std::string>& cells) {
  auto b = d.comparison.baseline_of.find(r);
  cells.push_back(b == d.comparison.baseline_of.end() ? "-" : d.comparison.baseline);
  for (const auto& m : c.compared) {
    const Difference* x = find_difference(d, r, m);
    if (!x) {
      cells.insert(cells.end(), 7, "-");
      continue;
    }
    const auto& s = x->test;
    for (double v : {s.mean, s.lo, s.hi}) cells.push_back(number_cell(v, d.format));
    cells.push_back(p_cell(s.p, d.format));
    cells.push_back(std::to_string(s.n_a));
    cells.push_back(std::to_string(s.n_b));
    cells.push_back(s.paired ? "paired" : "welch");
  }
}

// Row r against the reference: the paper's value, ours minus it, the verdict (and in CSV the
// paper's difference from the baseline and whether its sign agrees with ours).
void reference_cells(const ReportData& d, size_t r, std::vector<std::string>& cells) {
  const bool csv = d.format == "csv";
  auto b = d.comparison.baseline_of.find(r);
  const auto& ref = d.references[r];
  for (const auto& [name, column] : d.reference->metrics) {
    auto v = ref.by_metric.find(name);
    if (v == ref.by_metric.end()) {
      cells.insert(cells.end(), csv ? 5 : 3, "-");
      continue;
    }
    cells.push_back(reference_cell(v->second.reference, d.format));
    bool ours = !v->second.verdict.empty();
    cells.push_back(ours ? number_cell(v->second.ours.mean - v->second.reference.mean, d.format) : "-");
    cells.push_back(ours ? v->second.verdict : "-");
    if (!csv) continue;
    const Difference* x = b == d.comparison.baseline_of.end() ? nullptr : find_difference(d, r, column);
    SignCheck sign;
    if (x) sign = sign_agreement(ref, d.references[b->second], name, x->test);
    cells.push_back(sign.agreement.empty() ? "-" : number_cell(sign.reference_difference, d.format));
    cells.push_back(sign.agreement.empty() ? "-" : sign.agreement);
  }
}

}  // namespace

Table main_table(const ReportData& d) {
  const auto& g = d.grouping;
  const bool csv = d.format == "csv";
  const MainColumns columns = main_columns(d);
  Table t;
  t.header = main_header(d, columns);
  for (size_t r = 0; r < g.groups.size(); ++r) {
    const auto& row = g.groups[r];
    auto cells = key_cells(d, row);
    cells.push_back(std::to_string(row.n()));
    for (const auto& m : g.metrics) {
      auto it = row.values.find(m);
      cells.push_back(it == row.values.end() ? "-" : mean_std_cell(it->second, d.format));
    }
    if (columns.select) cells.push_back(select_cell(row));
    if (columns.nonfinite) {
      const int k = nonfinite_runs(row);
      cells.push_back(csv || k == 0 ? std::to_string(k) : std::to_string(k) + (d.format == "latex" ? " (!)" : " ⚠"));
    }
    if (csv) {
      std::vector<std::string> explains;
      for (const auto& [e, n] : row.explain) explains.push_back(e);
      cells.push_back(join(explains, "/"));
    }
    if (csv && !columns.compared.empty()) comparison_cells(d, r, columns, cells);
    if (d.reference) reference_cells(d, r, cells);
    t.rows.push_back(cells);
  }
  return t;
}

Table difference_table(const ReportData& d) {
  const auto& g = d.grouping;
  Table t;
  int mi = g.method_index();
  for (size_t i = 0; i < g.keys.size(); ++i)
    if (int(i) != mi) t.header.push_back(key_header(g.keys[i]));
  for (const auto& h : {"comparison", "metric", "difference [95% CI]", "p", "n", "test"}) t.header.push_back(h);
  if (d.reference) t.header.push_back("paper difference"), t.header.push_back("sign");
  const std::string minus = d.format == "latex" ? " -- " : " − ";
  for (const auto& x : d.comparison.differences) {
    const auto& row = g.groups[x.group];
    auto cells = key_cells(d, row, false);
    std::string method = row.key[mi] + (d.format != "csv" && selected_with_groups(row) ? (d.format == "latex" ? " $\\dagger$" : " †") : "");
    cells.push_back(method + minus + d.comparison.baseline);
    cells.push_back(x.metric);
    const auto& s = x.test;
    std::string diff = number_cell(s.mean, d.format);
    if (s.defined) diff += " [" + number_cell(s.lo, d.format) + ", " + number_cell(s.hi, d.format) + "]";
    cells.push_back(diff);
    cells.push_back(p_cell(s.p, d.format));
    cells.push_back(s.paired ? std::to_string(s.n_a) : std::to_string(s.n_a) + " vs " + std::to_string(s.n_b));
    cells.push_back(s.paired ? "paired" : "Welch");
    if (d.reference) {
      auto name = reference_metric(d, x.metric);
      SignCheck sign;
      if (!name.empty()) sign = sign_agreement(d.references[x.group], d.references[x.baseline], name, s);
      cells.push_back(sign.agreement.empty() ? "-" : number_cell(sign.reference_difference, d.format));
      cells.push_back(sign.agreement.empty() ? "-" : sign.agreement);
    }
    t.rows.push_back(cells);
  }
  return t;
}

std::vector<std::string> captions(const ReportData& d) {
  std::vector<std::string> out;
  std::map<std::string, int> explain;
  std::map<std::string, int> select;
  bool marked = false, stages = false;
  for (const auto& g : d.grouping.groups) {
    for (const auto& [e, n] : g.explain) explain[e] += n;
    for (const auto& [s, epochs] : g.select) select[s] += int(epochs.size());
    marked = marked || selected_with_groups(g);
    for (const auto& [m, v] : g.values) stages = stages || starts_with(m, "mask area stage ");
  }
  auto what = [](const std::string& e) {
    return e == "true" ? "the true class" : e == "predicted" ? "the predicted class" : "'" + e + "'";
  };
  if (explain.size() == 1) {
    out.push_back("Grad-CAM and Input x Gradient explain " + what(explain.begin()->first) + " (eval.explain: " +
                  explain.begin()->first + ").");
  } else if (!explain.empty()) {
    std::vector<std::string> parts;
    for (const auto& [e, n] : explain) parts.push_back(what(e) + " in " + std::to_string(n) + " runs");
    out.push_back("Grad-CAM and Input x Gradient explain " + join(parts, ", ") + " (eval.explain; runs without it: predicted).");
  }
  if (select.empty()) {
    out.push_back("Scored epoch: the last (these results do not record eval.select).");
  } else {
    std::vector<std::string> parts;
    for (const auto& [s, n] : select) parts.push_back(s + " (" + std::to_string(n) + " runs)");
    out.push_back("Scored epoch (eval.select): " + join(parts, ", ") +
                  "; last = the final epoch, best_val_* = the epoch with the best validation value, kept and "
                  "evaluated at the end (result.h5: selected_epoch).");
  }
  if (marked)
    out.push_back(std::string(d.format == "latex" ? "$\\dagger$" : "†") +
                  " scored at the epoch of best validation worst-group accuracy: chosen with group labels, which "
                  "AIM's premise (no annotation beyond the image label) does not allow.");
  if (any_nonfinite(d.grouping))
    out.push_back(
        "non-finite runs: runs of the row whose weights or training loss went NaN or inf (trained with "
        "train.stop_on_nan: false); they are counted in n and the means, but their numbers are not a trained "
        "model's (listed on stderr).");
  if (stages)
    out.push_back("mask area stage <s>: the test-time active fraction of that stage's mask (argmax, no sampling); "
                  "target stage <s>: the area it was trained towards (the last epoch's annealed target).");
  return out;
}

}  // namespace aim::results
