#include "results/verdict.h"

#include <cmath>

namespace aim::results {

std::string verdict_of(const TTest& ours, double reference, double margin) {
  if (!ours.defined) return "underpowered";
  if ((ours.hi - ours.lo) / 2 > margin) return "underpowered";
  return reference >= ours.lo && reference <= ours.hi ? "reproduced" : "not reproduced";
}

std::vector<RowReference> match_reference(const Grouping& g, const Reference& ref, double margin) {
  std::vector<RowReference> out(g.groups.size());
  for (size_t i = 0; i < g.groups.size(); ++i) {
    for (const auto& r : ref.rows)
      if (row_matches(r, g.groups[i].common)) {
        out[i].row = &r;
        break;
      }
    if (!out[i].row) continue;
    for (const auto& [name, column] : ref.metrics) {
      auto v = out[i].row->values.find(name);
      if (v == out[i].row->values.end()) continue;
      Verdict verdict;
      verdict.reference = v->second;
      auto ours = g.groups[i].values.find(column);
      if (ours != g.groups[i].values.end() && !ours->second.empty()) {
        std::vector<double> points;
        for (const auto& x : ours->second) points.push_back(100 * x.value);
        verdict.ours = one_sample(points);
        if (points.size() == 1) verdict.ours.mean = points[0];
        verdict.verdict = verdict_of(verdict.ours, v->second.mean, margin);
      }
      out[i].by_metric[name] = verdict;
    }
  }
  return out;
}

SignCheck sign_agreement(const RowReference& row, const RowReference& baseline, const std::string& metric,
                         const TTest& ours) {
  SignCheck out;
  auto a = row.by_metric.find(metric), b = baseline.by_metric.find(metric);
  if (a == row.by_metric.end() || b == baseline.by_metric.end() || !std::isfinite(ours.mean)) return out;
  out.reference_difference = a->second.reference.mean - b->second.reference.mean;
  if (out.reference_difference == 0 || ours.mean == 0) out.agreement = "no sign";
  else out.agreement = (out.reference_difference > 0) == (ours.mean > 0) ? "agrees" : "disagrees";
  return out;
}

}  // namespace aim::results
