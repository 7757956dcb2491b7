#include "runner/sweep/search_rungs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>

#include "core/strings.h"
#include "results/run_compute.h"
#include "results/run_groups.h"
#include "runner/rung_result.h"

namespace aim {

namespace search_rungs {

bool searched(const SearchSpec& spec, const std::string& key) {
  for (const auto& a : spec.axes)
    if (std::find(a.keys.begin(), a.keys.end(), key) != a.keys.end()) return true;
  return false;
}

// The axis values of a run: its grid's (the group) or its searched ones (the candidate).
std::string axes_text(const SearchSpec& spec, const SweepRun& run, bool searched_keys) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : run.axes)
    if (searched(spec, k) == searched_keys) parts.push_back(k + "=" + v);
  return join(parts, ", ");
}

// 0: a score, 1: NaN, 2: diverged (-inf); ranked in this order.
int score_class(double v) { return std::isnan(v) ? 1 : std::isinf(v) && v < 0 ? 2 : 0; }

bool better(const Scored& a, const Scored& b) {
  const int ca = score_class(a.score), cb = score_class(b.score);
  if (ca != cb) return ca < cb;
  if (ca == 0 && a.score != b.score) return a.score > b.score;
  return a.run_id < b.run_id;
}

std::string score_text(double v) {
  if (std::isinf(v)) return "diverged";
  if (std::isnan(v)) return "nan";
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(4);
  o << v;
  return o.str();
}

// The metric of a group: the spec's, or val worst-group where its results have one, else val acc.
std::string group_metric(const SearchSpec& spec, const RungOutcome& first_reached) {
  if (!spec.metric.empty()) return spec.metric;
  return first_reached.metrics.count("val worst-group") ? "val worst-group" : "val acc";
}

// One rung of one group: the outcomes of its candidates; false (with g.waiting) while it is
// not decided.
bool score_rung(SearchGroup& g, const SearchState& s, size_t k,
                const std::function<RungOutcome(size_t, size_t)>& outcome, std::map<size_t, RungOutcome>& seen,
                std::vector<Scored>& scored) {
  size_t pending = 0, running = 0;
  std::string failed;
  for (size_t i : g.at_rung[k]) {
    RungOutcome o = outcome(i, k);
    const std::string id = s.all_runs[i].run_id;
    if (o.state == RungOutcome::State::Reached) {
      if (g.metric.empty()) g.metric = group_metric(s.spec, o);
      auto m = o.metrics.find(g.metric);
      if (m == o.metrics.end() && failed.empty())
        failed = "run " + id + " has no '" + g.metric + "' at epoch " + std::to_string(s.spec.rungs[k]) +
                 " (its dataset has no validation split, or no groups)";
      if (m != o.metrics.end()) scored.push_back({i, id, m->second});
    } else if (o.state == RungOutcome::State::Diverged) {
      scored.push_back({i, id, -std::numeric_limits<double>::infinity()});
    } else if (o.state == RungOutcome::State::Failed) {
      if (failed.empty()) failed = "run " + id + " failed: " + o.detail;
    } else {
      ++(o.state == RungOutcome::State::Running ? running : pending);
    }
    seen[i] = std::move(o);
  }
  if (!failed.empty())
    g.waiting = failed;
  else if (pending + running)
    g.waiting = std::to_string(pending) + " pending and " + std::to_string(running) + " running run(s) of rung " +
                std::to_string(k + 1);
  return g.waiting.empty();
}

// A run that is complete but has no rung file of `epoch` (trained straight through, in
// another sweep or before the rungs changed): its validation curve's point at that epoch,
// the same evaluation of the same weights as a rung's (eval_schedule.h: `during`).
RungOutcome from_val_curve(const RunPaths& paths, int64_t epoch) {
  RungOutcome out;
  out.state = RungOutcome::State::Failed;
  const auto st = inspect_run_folder(paths, ResultDepth::Full);
  const auto& rec = st.record;
  auto curve = rec.eval_curves.find("val");
  if (st.state == RunState::Done && curve != rec.eval_curves.end()) {
    const auto& c = curve->second;
    for (size_t i = 0; i < c.epoch.size(); ++i) {
      if (c.epoch[i] != epoch) continue;
      out.state = RungOutcome::State::Reached;
      out.metrics["val acc"] = c.accuracy[i];
      if (i < c.worst_group_accuracy.size() && !std::isnan(c.worst_group_accuracy[i]))
        out.metrics["val worst-group"] = c.worst_group_accuracy[i];
      return out;
    }
  }
  out.detail = "complete, without a rung result or a validation point at epoch " + std::to_string(epoch) +
               " (trained straight past the rung with train.eval_every not dividing it)";
  return out;
}

}  // namespace search_rungs

std::vector<Scored> rank_candidates(std::vector<Scored> scored) {
  std::sort(scored.begin(), scored.end(), search_rungs::better);
  return scored;
}

std::vector<Scored> select_survivors(std::vector<Scored> scored, size_t eta) {
  scored = rank_candidates(std::move(scored));
  scored.resize((scored.size() + eta - 1) / std::max<size_t>(1, eta));
  // A diverged run cannot go on: it is never promoted, even where too few did not diverge.
  while (!scored.empty() && std::isinf(scored.back().score) && scored.back().score < 0) scored.pop_back();
  return scored;
}

int64_t SearchState::budget_of(size_t run) const {
  for (const auto& g : groups)
    for (size_t k = g.at_rung.size(); k-- > 0;)
      if (std::find(g.at_rung[k].begin(), g.at_rung[k].end(), run) != g.at_rung[k].end()) return spec.rungs[k];
  return 0;
}

SearchState search_groups(const SearchSpec& spec, std::vector<SweepRun> all_runs) {
  SearchState s;
  s.spec = spec;
  s.all_runs = std::move(all_runs);
  std::map<std::string, size_t> by_label;
  for (size_t i = 0; i < s.all_runs.size(); ++i) {
    const std::string label = search_rungs::axes_text(spec, s.all_runs[i], false);
    auto [it, fresh] = by_label.emplace(label, s.groups.size());
    if (fresh) s.groups.push_back(SearchGroup{label, {}, spec.metric, {}, {}, 0, "", false, {}});
    s.groups[it->second].runs.push_back(i);
  }
  return s;
}

void play_search(SearchState& s, const std::function<RungOutcome(size_t, size_t)>& outcome) {
  using namespace search_rungs;
  const size_t last = s.spec.rungs.size() - 1;
  std::map<size_t, RungOutcome> seen;  // each run's outcome at its highest rung so far
  s.finished = true;
  for (auto& g : s.groups) {
    g.at_rung = {g.runs};
    g.ranked.clear();
    g.waiting.clear();
    g.finished = false;
    g.winner = Scored{};
    for (size_t k = 0;; ++k) {
      g.rung = k;
      std::vector<Scored> scored;
      if (!score_rung(g, s, k, outcome, seen, scored)) break;
      g.ranked.push_back(rank_candidates(scored));
      const auto survivors = select_survivors(scored, k == last ? scored.size() : s.spec.eta);
      if (k == last || survivors.empty()) {  // the winner, or none where every candidate diverged
        if (!survivors.empty()) g.winner = survivors.front();
        g.finished = true;
        break;
      }
      std::set<size_t> keep;
      for (const auto& c : survivors) keep.insert(c.run);
      std::vector<size_t> next;
      for (size_t i : g.at_rung[k])
        if (keep.count(i)) next.push_back(i);  // in candidate order
      g.at_rung.push_back(next);
    }
    s.finished = s.finished && g.finished;
  }
  // Compute: each run's latest result counts once (a rung result holds the run's time so far).
  s.seconds = 0;
  double epochs_done = 0;
  for (const auto& [i, o] : seen)
    if (o.state == RungOutcome::State::Reached) {
      s.seconds += o.seconds;
      epochs_done += double(s.budget_of(i));
    }
  s.seconds_full =
      epochs_done > 0 ? s.seconds / epochs_done * double(s.all_runs.size()) * double(s.spec.rungs.back()) : 0;
}

RungOutcome rung_outcome(const Sweep& sweep, const SweepRun& run, int64_t epoch, bool last) {
  RungOutcome out;
  const RunPaths paths{sweep.run_dir(run.run_id)};
  std::string problem;
  if (!last) {
    if (auto r = read_rung_result(paths, epoch, run.run_id, &problem)) {
      out.state = RungOutcome::State::Reached;
      out.metrics = r->metrics;
      out.seconds = r->seconds;
      return out;
    }
  }
  const auto st = inspect_run_folder(paths, last ? ResultDepth::Summary : ResultDepth::State);
  out.detail = st.detail;
  switch (st.state) {
    case RunState::Done:
      if (!last) return search_rungs::from_val_curve(paths, epoch);
      out.state = RungOutcome::State::Reached;
      for (const auto& [k, v] : results::run_metrics(st.record)) out.metrics[k] = v;
      out.seconds = results::run_compute_seconds(st.record);
      return out;
    case RunState::Running:
      out.state = RungOutcome::State::Running;
      return out;
    case RunState::Failed:
      out.state = st.detail.find("loss is not finite") != std::string::npos ? RungOutcome::State::Diverged
                                                                            : RungOutcome::State::Failed;
      return out;
    case RunState::Unreadable:
      out.state = RungOutcome::State::Failed;
      return out;
    default:
      break;
  }
  if (!problem.empty()) out.state = RungOutcome::State::Failed, out.detail = problem;
  return out;
}

namespace search_rungs {

// Where the search left a run, and why it is not to be trained now ("" when it is): it
// reached its rung, or diverged.
std::pair<SearchOutcome, std::string> settled(const SearchState& s, size_t run,
                                              const std::function<RungOutcome(size_t, size_t)>& outcome) {
  for (const auto& g : s.groups) {
    if (std::find(g.runs.begin(), g.runs.end(), run) == g.runs.end()) continue;
    size_t k = g.at_rung.size() - 1;  // its highest rung
    while (k > 0 && std::find(g.at_rung[k].begin(), g.at_rung[k].end(), run) == g.at_rung[k].end()) --k;
    const auto o = outcome(run, k);
    const std::string where = "rung " + std::to_string(k + 1) + " (epoch " + std::to_string(s.spec.rungs[k]) + ")";
    if (o.state == RungOutcome::State::Diverged) return {SearchOutcome::Diverged, "diverged at " + where};
    if (o.state != RungOutcome::State::Reached) return {SearchOutcome::Training, ""};
    const auto m = o.metrics.find(g.metric);
    const std::string score = g.metric + " " + (m == o.metrics.end() ? "-" : score_text(m->second));
    if (k + 1 == s.spec.rungs.size()) {
      if (g.finished && !g.winner.run_id.empty() && g.winner.run == run)
        return {SearchOutcome::Winner, "winner: " + score};
      return {SearchOutcome::NotWinner, "complete, not the winner: " + score};  // or not yet
    }
    if (k < g.ranked.size()) return {SearchOutcome::Stopped, "stopped at " + where + ", not promoted: " + score};
    return {SearchOutcome::Reached, "reached " + where + ": " + score + " (the rung is not decided yet)"};
  }
  return {SearchOutcome::NotSearched, ""};
}

}  // namespace search_rungs

namespace search_rungs {

// A sweep in stages: its runs in stage order, the search's stage being `candidates`, a later
// stage's runs descending from the search (Sweep::stage_pool) those of a decided group's winner.
std::vector<SweepRun> staged_runs(const Sweep& sweep, std::vector<SweepRun> candidates) {
  std::set<std::string> winners;
  for (const auto& g : sweep.search->groups)
    if (g.finished && !g.winner.run_id.empty()) winners.insert(g.winner.run_id);
  std::vector<SweepRun> out;
  std::set<std::string> seen;
  auto add = [&](const SweepRun& r) {
    if (seen.insert(r.run_id).second) out.push_back(r);
  };
  for (const auto& st : sweep.stages) {
    if (st.name == sweep.search->stage) {
      for (const auto& r : candidates) add(r);
      continue;
    }
    for (const auto& r : sweep.runs)
      if (r.stage == st.name && r.root.empty()) add(r);
    for (const auto& r : sweep.stage_pool)
      if (r.stage == st.name && winners.count(r.root)) add(r);
  }
  return out;
}

}  // namespace search_rungs

void apply_search(Sweep& sweep) {
  if (!sweep.search) return;
  auto& s = *sweep.search;
  const std::string stage = s.stage;
  s = search_groups(s.spec, std::move(s.all_runs));
  s.stage = stage;
  const size_t last = s.spec.rungs.size() - 1;
  std::map<std::pair<size_t, size_t>, RungOutcome> memo;  // each folder read once
  auto outcome = [&](size_t i, size_t k) {
    auto key = std::make_pair(i, k);
    auto it = memo.find(key);
    if (it == memo.end()) it = memo.emplace(key, rung_outcome(sweep, s.all_runs[i], s.spec.rungs[k], k == last)).first;
    return it->second;
  };
  play_search(s, outcome);
  std::vector<SweepRun> runs = s.all_runs;
  for (size_t i = 0; i < runs.size(); ++i) {
    const int64_t b = s.budget_of(i);
    runs[i].budget = b < s.spec.rungs.back() ? b : 0;
    std::tie(runs[i].outcome, runs[i].settled) = search_rungs::settled(s, i, outcome);
  }
  sweep.runs = sweep.stages.empty() ? std::move(runs) : search_rungs::staged_runs(sweep, std::move(runs));
}

}  // namespace aim
