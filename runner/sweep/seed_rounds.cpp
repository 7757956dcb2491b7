#include "runner/sweep/seed_rounds.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "results/run_compute.h"
#include "results/run_groups.h"

namespace aim {

namespace seed_rounds {

bool method_key(const std::string& key) { return key == "method" || starts_with(key, "method."); }

// The axis values of a run but its seed (the group), and those but the method's and the
// unpaired keys (the match).
std::string axes_text(const SweepRun& run, bool with_method, const std::vector<std::string>& unpaired = {}) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : run.axes) {
    const bool paired =
        with_method || (!method_key(k) && std::find(unpaired.begin(), unpaired.end(), k) == unpaired.end());
    if (k != "seed" && paired) parts.push_back(k + "=" + v);
  }
  return join(parts, ", ");
}

size_t seed_of(const SweepRun& run) {
  for (const auto& [k, v] : run.axes)
    if (k == "seed") return size_t(std::stoul(v));
  throw std::logic_error("adaptive seeds: a run without a seed axis value");
}

std::string format_points(double v) {
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(2);
  o << (v >= 0 ? "+" : "") << v;
  return o.str();
}

}  // namespace seed_rounds

std::string SeedComparison::label() const { return spec.text; }

std::vector<size_t> SeedRounds::active() const {
  std::vector<size_t> out;
  for (const auto& g : groups)
    for (size_t s = 0; s < g.n; ++s) out.push_back(g.runs[s]);
  std::sort(out.begin(), out.end());
  return out;
}

namespace seed_rounds {

// The groups of method `baseline` that agree with group `a` on every axis but the method's
// and the `unpaired` keys.
std::vector<size_t> pairs_of(const SeedRounds& r, size_t a, const std::string& baseline,
                             const std::vector<std::string>& unpaired) {
  const std::string key = axes_text(r.all_runs[r.groups[a].runs[0]], false, unpaired);
  std::vector<size_t> fits;
  for (size_t b = 0; b < r.groups.size(); ++b)
    if (r.groups[b].method == baseline && axes_text(r.all_runs[r.groups[b].runs[0]], false, unpaired) == key)
      fits.push_back(b);
  return fits;
}

}  // namespace seed_rounds

SeedRounds seed_groups(const SeedsSpec& spec, std::vector<SweepRun> all_runs,
                       const std::vector<std::string>& unpaired) {
  using namespace seed_rounds;
  SeedRounds r;
  r.spec = spec;
  r.unpaired = unpaired;
  r.all_runs = std::move(all_runs);
  std::map<std::string, size_t> by_label;
  for (size_t i = 0; i < r.all_runs.size(); ++i) {
    const auto& run = r.all_runs[i];
    const std::string label = axes_text(run, true);
    auto [it, fresh] = by_label.emplace(label, r.groups.size());
    if (fresh) r.groups.push_back({label, run.config.get_string("method.name"), std::vector<size_t>(spec.max), 0});
    r.groups[it->second].runs.at(seed_of(run)) = i;
  }
  for (const auto& d : spec.decide) {
    size_t matched = 0;
    for (size_t a = 0; a < r.groups.size(); ++a) {
      if (r.groups[a].method != d.method) continue;
      auto fits = pairs_of(r, a, d.baseline, {});
      if (fits.size() != 1 && !unpaired.empty()) fits = pairs_of(r, a, d.baseline, unpaired);
      if (fits.size() != 1)
        throw ConfigError(d.where + ": " + spec.path + ".decide: '" + d.text + "': the " + d.method + " runs with " +
                          (r.groups[a].label.empty() ? "no other axes" : r.groups[a].label) + " have " +
                          (fits.empty()
                               ? "no " + d.baseline + " runs with the same other axis values"
                               : std::to_string(fits.size()) + " groups of " + d.baseline + " runs to pair with") +
                          " (a comparison pairs groups that differ only in method.*" +
                          (unpaired.empty() ? std::string() : ", or also in " + join(unpaired, ", ")) + ")");
      SeedComparison c;
      c.spec = d;
      c.a = a;
      c.b = fits[0];
      r.comparisons.push_back(c);
      ++matched;
    }
    if (matched == 0)
      throw ConfigError(d.where + ": " + spec.path + ".decide: '" + d.text + "': no runs of " + d.method);
  }
  for (auto& g : r.groups) g.n = std::min(spec.start, spec.max);
  return r;
}

namespace seed_rounds {

// "" when every run of the current round is done (their results in `done`); else why not.
std::string round_complete(const SeedRounds& r, const std::function<SeedRunResult(size_t)>& result,
                           std::map<size_t, SeedRunResult>& done) {
  size_t pending = 0, running = 0;
  std::string failed;
  for (size_t i : r.active()) {
    if (done.count(i)) continue;
    auto res = result(i);
    if (res.state == RunState::Done) {
      done.emplace(i, std::move(res));
      continue;
    }
    if (res.state == RunState::Failed || res.state == RunState::Unreadable) {
      if (failed.empty()) failed = "run " + r.all_runs[i].run_id + " " + to_string(res.state) + ": " + res.detail;
    } else if (res.state == RunState::Running) {
      ++running;
    } else {
      ++pending;
    }
  }
  if (!failed.empty()) return failed;
  if (pending + running == 0) return "";
  return std::to_string(pending) + " pending and " + std::to_string(running) + " running run(s) of round " +
         std::to_string(r.round);
}

// The differences of one comparison over the seeds both groups have so far; "" or why a
// done run lacks the metric.
std::string differences(SeedComparison& c, const SeedRounds& r, const std::map<size_t, SeedRunResult>& done) {
  const auto& ga = r.groups[c.a];
  const auto& gb = r.groups[c.b];
  c.differences.clear();
  for (size_t s = 0; s < std::min(ga.n, gb.n); ++s) {
    const auto& ra = done.at(ga.runs[s]);
    const auto& rb = done.at(gb.runs[s]);
    auto va = ra.metrics.find(c.spec.metric), vb = rb.metrics.find(c.spec.metric);
    if (va == ra.metrics.end() || vb == rb.metrics.end())
      return "run " + r.all_runs[va == ra.metrics.end() ? ga.runs[s] : gb.runs[s]].run_id + " has no '" +
             c.spec.metric + "' (" + c.spec.where + ")";
    c.differences.push_back(100 * (va->second - vb->second));
  }
  return "";
}

void tally_compute(SeedRounds& r, const std::map<size_t, SeedRunResult>& done) {
  r.seconds_done = r.seconds_at_max = 0;
  r.runs_done = 0;
  for (const auto& g : r.groups) {
    double sum = 0;
    size_t n = 0;
    for (size_t s = 0; s < g.n; ++s)
      if (auto it = done.find(g.runs[s]); it != done.end()) sum += it->second.seconds, ++n;
    r.seconds_done += sum;
    r.runs_done += n;
    if (n) r.seconds_at_max += sum / double(n) * double(r.spec.max);
  }
}

}  // namespace seed_rounds

void play_seed_rounds(SeedRounds& r, const std::function<SeedRunResult(size_t)>& result) {
  using namespace seed_rounds;
  std::map<size_t, SeedRunResult> done;
  results::SequentialOptions o;
  o.alpha = r.spec.alpha;
  o.prior_scale = r.spec.prior_scale;
  o.margin = r.spec.margin;
  o.min_n = r.spec.start;
  while (true) {
    r.waiting = round_complete(r, result, done);
    tally_compute(r, done);
    if (!r.waiting.empty()) return;
    std::vector<bool> open(r.groups.size(), false);
    for (auto& c : r.comparisons) {
      if (auto why = differences(c, r, done); !why.empty()) {
        r.waiting = why;
        return;
      }
      c.decision = results::sequential_decision(c.differences, o);
      if (c.decision.state == results::SequentialState::Open) open[c.a] = open[c.b] = true;
    }
    bool grew = false;
    for (size_t g = 0; g < r.groups.size(); ++g)
      if (open[g] && r.groups[g].n < r.spec.max) {
        r.groups[g].n = std::min(r.spec.max, r.groups[g].n + r.spec.step);
        grew = true;
      }
    if (!grew) {
      r.finished = true;
      return;
    }
    ++r.round;
  }
}

SeedRunResult seed_run_result(const Sweep& sweep, const SweepRun& run) {
  SeedRunResult out;
  auto st = inspect_run_folder(RunPaths{sweep.run_dir(run.run_id)}, ResultDepth::Summary);
  out.state = st.state;
  out.detail = st.detail;
  if (st.state != RunState::Done) return out;
  for (const auto& [k, v] : results::run_metrics(st.record)) out.metrics[k] = v;
  out.seconds = results::run_compute_seconds(st.record);
  return out;
}

namespace seed_rounds {

// A sweep in stages: the earlier stages' runs that a run of `active` starts from (its chain
// of upstream runs), or that no run of the last stage starts from, in their order, then `active`.
std::vector<SweepRun> with_upstream_chains(const SeedRounds& r, std::vector<SweepRun> active) {
  std::map<std::string, const SweepRun*> by_id;
  for (const auto& e : r.earlier) by_id[e.run_id] = &e;
  auto chain = [&](const SweepRun& run, std::set<std::string>& into) {
    for (auto it = by_id.find(run.upstream); it != by_id.end(); it = by_id.find(it->second->upstream))
      if (!into.insert(it->first).second) break;
  };
  std::set<std::string> needed, reached;
  for (const auto& a : active) chain(a, needed);
  for (const auto& a : r.all_runs) chain(a, reached);
  std::vector<SweepRun> out;
  for (const auto& e : r.earlier)
    if (needed.count(e.run_id) || !reached.count(e.run_id)) out.push_back(e);
  out.insert(out.end(), std::make_move_iterator(active.begin()), std::make_move_iterator(active.end()));
  return out;
}

}  // namespace seed_rounds

void apply_seed_rounds(Sweep& sweep) {
  if (!sweep.seeds) return;
  // From round 1 again: the rounds are a function of the run folders alone.
  auto& old = *sweep.seeds;
  auto fresh = std::make_shared<SeedRounds>(seed_groups(old.spec, std::move(old.all_runs), old.unpaired));
  fresh->stage = std::move(old.stage);
  fresh->earlier = std::move(old.earlier);
  sweep.seeds = fresh;
  auto& r = *sweep.seeds;
  play_seed_rounds(r, [&](size_t i) { return seed_run_result(sweep, r.all_runs[i]); });
  std::vector<SweepRun> runs;
  for (size_t i : r.active()) runs.push_back(r.all_runs[i]);
  sweep.runs = r.stage.empty() ? std::move(runs) : seed_rounds::with_upstream_chains(r, std::move(runs));
}

std::string describe_seed_rounds(const SeedRounds& r) {
  using namespace seed_rounds;
  std::ostringstream o;
  if (!r.blocked.empty()) {  // beside a search, before every group has its winner
    o << "adaptive seeds (" << r.spec.where << ") of the search's winners: not started: " << r.blocked << "\n";
    for (const auto& d : r.spec.decide) o << "  " << d.text << ": not yet evaluated\n";
    return o.str();
  }
  o << "adaptive seeds (" << r.spec.where << ")" << (r.after_search ? " of the search's winners" : "") << ": round "
    << r.round << ", start " << r.spec.start << ", step " << r.spec.step << ", max " << r.spec.max << ", margin +-"
    << format_double(r.spec.margin) << " points, alpha " << format_double(r.spec.alpha) << "; "
    << (r.finished          ? "finished"
        : r.waiting.empty() ? "running"
                            : "waiting: " + r.waiting)
    << "\n";
  for (const auto& g : r.groups) o << "  n=" << g.n << "  " << (g.label.empty() ? g.method : g.label) << "\n";
  if (r.after_search)
    o << "  (seed 0 of each group is its winner; a comparison pairs groups by method, not by " << join(r.unpaired, ", ")
      << ")\n";
  for (const auto& c : r.comparisons) {
    const auto& d = c.decision;
    const bool evaluated = !c.differences.empty();
    o << "  " << c.spec.text;
    const auto& la = r.groups[c.a].label;
    if (r.comparisons.size() > r.spec.decide.size() && !la.empty()) o << " [" << la << "]";
    if (!evaluated) {
      o << ": not yet evaluated\n";
      continue;
    }
    o << ": " << (d.state == results::SequentialState::Open ? "open" : "decided " + to_string(d.state))
      << " at n=" << d.n << ", mean " << format_points(d.at.mean) << " [" << format_points(d.at.lo) << ", "
      << format_points(d.at.hi) << "]"
      << (d.state == results::SequentialState::Open && r.groups[c.a].n >= r.spec.max ? " (max seeds)" : "") << "\n";
  }
  const size_t at_max = r.groups.size() * r.spec.max;
  o << "  compute: " << format_duration(r.seconds_done) << " in " << r.runs_done << " done runs (of "
    << r.active().size() << " so far); max seeds for every group (" << at_max << " runs): about "
    << format_duration(r.seconds_at_max);
  if (r.seconds_at_max > 0)
    o << ", " << int(std::lround(100 * (1 - r.seconds_done / r.seconds_at_max))) << "% saved"
      << (r.finished ? "" : " so far");
  o << "\n";
  return o.str();
}

}  // namespace aim
