#include "results/paired.h"

#include <algorithm>
#include <set>

#include "core/strings.h"

namespace aim::results {

namespace {

// Seeds of one row when each is known and occurs once (else empty: the row cannot pair).
std::map<std::string, double> by_seed(const std::vector<RunValue>& values) {
  std::map<std::string, double> out;
  for (const auto& v : values)
    if (v.seed.empty() || !out.emplace(v.seed, v.value).second) return {};
  return out;
}

std::string describe(const Grouping& g, const RunGroup& row) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < g.keys.size(); ++i)
    if (!row.key[i].empty()) parts.push_back(g.keys[i] + "=" + row.key[i]);
  return join(parts, ", ");
}

// The baseline row for `row`: the baseline method's row that agrees on every other key that
// both have (a key absent from one of them, such as a masking setting of a vanilla run,
// does not count); the one that agrees on the most keys, or none when two tie.
long find_baseline(const Grouping& g, size_t row, const std::string& baseline, int mi) {
  long best = -1;
  int best_shared = -1;
  bool tie = false;
  for (size_t b = 0; b < g.groups.size(); ++b) {
    const auto& kb = g.groups[b].key;
    const auto& kr = g.groups[row].key;
    if (b == row || kb[mi] != baseline) continue;
    int shared = 0;
    bool agrees = true;
    for (size_t i = 0; i < kb.size() && agrees; ++i) {
      if (int(i) == mi || kb[i].empty() || kr[i].empty()) continue;
      agrees = kb[i] == kr[i];
      shared++;
    }
    if (!agrees) continue;
    if (shared > best_shared) {
      best = long(b);
      best_shared = shared;
      tie = false;
    } else if (shared == best_shared) {
      tie = true;
    }
  }
  return tie ? -2 : best;
}

}  // namespace

TTest compare_values(const std::vector<RunValue>& method, const std::vector<RunValue>& baseline) {
  auto a = by_seed(method), b = by_seed(baseline);
  bool pairs = !a.empty() && a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) { return x.first == y.first; });
  std::vector<double> va, vb;
  if (pairs) {
    for (const auto& [seed, v] : a) va.push_back(100 * v);
    for (const auto& [seed, v] : b) vb.push_back(100 * v);
    return paired_t(va, vb);
  }
  for (const auto& v : method) va.push_back(100 * v.value);
  for (const auto& v : baseline) vb.push_back(100 * v.value);
  return welch_t(va, vb);
}

BaselineComparison compare_with_baseline(const Grouping& g, const std::string& baseline) {
  BaselineComparison out;
  out.baseline = baseline;
  int mi = g.method_index();
  if (mi < 0) {
    out.notes.push_back("no comparison with " + baseline + ": method.name is not a grouping key");
    return out;
  }
  bool any_baseline = false;
  for (const auto& row : g.groups) any_baseline = any_baseline || row.key[mi] == baseline;
  if (!any_baseline) {
    out.notes.push_back("no comparison: no " + baseline + " runs here (--baseline)");
    return out;
  }
  for (size_t r = 0; r < g.groups.size(); ++r) {
    if (g.groups[r].key[mi] == baseline) continue;
    long b = find_baseline(g, r, baseline, mi);
    if (b < 0) {
      out.notes.push_back(describe(g, g.groups[r]) + ": " +
                          (b == -2 ? "more than one " + baseline + " row fits; none compared" : "no " + baseline + " row with these settings"));
      continue;
    }
    out.baseline_of[r] = size_t(b);
    for (const auto& m : g.metrics) {
      auto ma = g.groups[r].values.find(m), mb = g.groups[size_t(b)].values.find(m);
      if (ma == g.groups[r].values.end() || mb == g.groups[size_t(b)].values.end()) continue;
      out.differences.push_back({r, size_t(b), m, compare_values(ma->second, mb->second)});
    }
  }
  return out;
}

}  // namespace aim::results
