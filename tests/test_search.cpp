// Successive halving (sweep.search): the survivors of a rung (ties by run id), the rungs
// played on synthetic outcomes (no training), the key's checks (file:line, exit 2), run
// identity, and a tiny search trained end to end whose winner is bit-identical to the same
// run trained straight through.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <signal.h>

#include "core/error.h"
#include "core/files.h"
#include "run_compare.h"
#include "runner/rung_result.h"
#include "runner/sweep/search_report.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"
#include "sweep_test.h"
#include "test_util.h"

using namespace aim;

namespace {

// A run on the built-in dataset small enough for a few seconds per epoch.
std::string tiny_config(const std::string& out, int epochs) {
  return "output_dir: " + out +
         "\n"
         "dataset: {train_size: 500, val_size: 200, test_size: 200}\n"
         "model: {width: 4}\n"
         "train: {epochs: " +
         std::to_string(epochs) +
         ", batch_size: 64, log_every: 0}\n"
         "eval: {attributions: [gradcam], keep_maps: 0, pictures: 0}\n";
}

const std::string kGrid = "sweep:\n  name: halving\n  grid:\n    method: [{name: vanilla}, {name: aim}]\n";

std::string error_of(const test::TempDir& dir, const std::string& text, int epochs = 4) {
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), epochs) + text);
  try {
    load_sweep(spec, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

Scored sc(size_t run, const std::string& id, double score) { return {run, id, score}; }

std::vector<std::string> ids(const std::vector<Scored>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.run_id);
  return out;
}

size_t sessions_of(const std::string& run_dir) {
  std::ifstream in(run_dir + "/sessions.jsonl");
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find("\"event\": \"start\"") != std::string::npos;
  return n;
}

// `sweep plan`, `run` and `status` of `spec` end with exit 2 naming `where` (file:line and
// key), and nothing is written under <dir>/out.
void expect_commands_refuse(const test::TempDir& dir, const std::string& spec, const std::string& where) {
  for (const std::string cmd : {"plan", "run", "status"}) {
    auto r = test::run_command(test::aimrun() + " sweep " + cmd + " " + spec);
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find(where), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

}  // namespace

TEST(SearchRungs, SurvivorsAreTheBestCeilNOverEtaWithTiesBrokenByRunId) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  std::vector<Scored> v = {sc(0, "e", 0.5),  sc(1, "d", 0.7), sc(2, "b", 0.7), sc(3, "a", nan),
                           sc(4, "c", -inf), sc(5, "f", 0.6), sc(6, "g", 0.1)};
  // 7 candidates, eta 2: ceil(7/2) = 4; the two 0.7s by run id, NaN and diverged last.
  EXPECT_EQ(ids(select_survivors(v, 2)), (std::vector<std::string>{"b", "d", "f", "e"}));
  EXPECT_EQ(ids(select_survivors(v, 3)), (std::vector<std::string>{"b", "d", "f"}));
  EXPECT_EQ(ids(select_survivors(v, 7)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids(rank_candidates(v)), (std::vector<std::string>{"b", "d", "f", "e", "g", "a", "c"}));
  // A diverged run is never promoted, even where it would be among the best ceil(n/eta).
  EXPECT_EQ(ids(select_survivors(v, 1)), (std::vector<std::string>{"b", "d", "f", "e", "g", "a"}));
  EXPECT_EQ(ids(select_survivors({sc(0, "a", -inf), sc(1, "b", 0.1)}, 1)), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(select_survivors({sc(0, "a", -inf), sc(1, "b", -inf)}, 2).empty());
  // NaN before diverged whatever the run ids; a diverged run is dropped even behind a NaN.
  EXPECT_EQ(ids(rank_candidates({sc(0, "a", -inf), sc(1, "b", nan), sc(2, "c", 0.2)})),
            (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(ids(select_survivors({sc(0, "a", -inf), sc(1, "b", nan), sc(2, "c", 0.2)}, 1)),
            (std::vector<std::string>{"c", "b"}));
  // The order of the input does not matter.
  std::reverse(v.begin(), v.end());
  EXPECT_EQ(ids(select_survivors(v, 2)), (std::vector<std::string>{"b", "d", "f", "e"}));
}

// Two groups (kGrid) of five learning rates, rungs of 1, 3 and 9 epochs, eta 2, ranked by
// val acc: the search whose outcomes the two tests below make up.
std::string five_rates_in_three_rungs(const test::TempDir& dir) {
  return dir.write("s.yaml", tiny_config(dir.file("out"), 9) + kGrid +
                                 "  search:\n    axes: {train.lr: [0.1, 0.05, 0.03, 0.02, 0.01]}\n"
                                 "    rungs: [1, 3, 9]\n    eta: 2\n    metric: val acc\n");
}

// Synthetic outcomes of that search: candidate c = i % 5 of group i / 5 at rung k scores
// {0.3, 0.8, 0.6, 0.8, 0.2}[c] + 0.01 k c in val acc (rung 2 favours c=3 over c=1); c=4
// diverges; aim's c=1 is pending at rung 2 (k = 1).
RungOutcome five_rates_outcome(size_t i, size_t k) {
  static const std::vector<double> score = {0.3, 0.8, 0.6, 0.8, 0.2};
  RungOutcome o;
  const size_t c = i % 5, group = i / 5;
  if (group == 1 && k == 1 && c == 1) return o;  // pending
  if (c == 4) {
    o.state = RungOutcome::State::Diverged;
    return o;
  }
  o.state = RungOutcome::State::Reached;
  o.metrics["val acc"] = score[c] + 0.01 * double(k) * double(c);
  o.seconds = 1;
  return o;
}

TEST(SearchRungs, RungsArePlayedFromOutcomesAloneAndPromoteOnlyWholeRungs) {
  test::TempDir dir;
  auto spec = five_rates_in_three_rungs(dir);
  auto sweep = load_sweep(spec, {});
  ASSERT_TRUE(sweep.search);
  auto& s = *sweep.search;
  ASSERT_EQ(s.groups.size(), 2u);
  ASSERT_EQ(s.all_runs.size(), 10u);
  // Nothing trained: every candidate trains to rung 1, epoch 1.
  for (const auto& r : sweep.runs) EXPECT_EQ(r.budget, 1) << r.run_id;
  // Synthetic outcomes (five_rates_outcome); rung 2 of aim not complete.
  const auto outcome = five_rates_outcome;
  for (int pass = 0; pass < 2; ++pass) {  // played twice: the same decisions (no state kept)
    play_search(s, outcome);
    const auto& v = s.groups[0];  // vanilla: finished
    ASSERT_EQ(v.at_rung.size(), 3u);
    EXPECT_EQ(v.at_rung[0].size(), 5u);
    // ceil(5/2) = 3 of rung 1: c=1 and c=3 tie at 0.8 (the smaller run id first), then c=2.
    EXPECT_EQ(v.at_rung[1], (std::vector<size_t>{1, 2, 3}));
    EXPECT_EQ(v.ranked[0].back().run, 4u);  // the diverged candidate ranks last
    // ceil(3/2) = 2 of rung 2: c=3 (0.83), c=2 (0.62) ... c=1 (0.81)
    EXPECT_EQ(v.at_rung[2], (std::vector<size_t>{1, 3}));
    EXPECT_TRUE(v.finished);
    EXPECT_EQ(v.winner.run, 3u);  // 0.8 + 0.06 at rung 3
    const auto& a = s.groups[1];  // aim: rung 2 waits for c=1
    EXPECT_FALSE(a.finished);
    EXPECT_EQ(a.at_rung.size(), 2u);
    EXPECT_NE(a.waiting.find("1 pending and 0 running run(s) of rung 2"), std::string::npos) << a.waiting;
    EXPECT_EQ(s.budget_of(5 + 3), 3);
    EXPECT_EQ(s.budget_of(5 + 0), 1);
    EXPECT_EQ(s.budget_of(3), 9);
    EXPECT_FALSE(s.finished);
  }
  // Without `metric:` a group ranks by val worst-group where its results have it, else val acc.
  SearchSpec unset = s.spec;
  unset.metric.clear();
  for (const bool groups : {true, false}) {
    SearchState d = search_groups(unset, s.all_runs);
    play_search(d, [&](size_t i, size_t k) {
      RungOutcome o = outcome(i, k);
      if (groups) o.metrics["val worst-group"] = o.metrics["val acc"];
      return o;
    });
    EXPECT_EQ(d.groups[0].metric, groups ? "val worst-group" : "val acc");
  }
  // A failure that is not a divergence holds its group at its rung.
  auto failing = [&](size_t i, size_t k) {
    RungOutcome o = outcome(i, k);
    if (i == 2 && k == 0) o.state = RungOutcome::State::Failed, o.detail = "disk full";
    return o;
  };
  play_search(s, failing);
  EXPECT_EQ(s.groups[0].at_rung.size(), 1u);
  EXPECT_NE(s.groups[0].waiting.find("failed: disk full"), std::string::npos) << s.groups[0].waiting;
}

// Each candidate's place in the search as a type (what `aimrun report --search` decides by)
// beside the text `sweep status` shows, on the synthetic outcomes of the test above
// (five_rates_outcome).
TEST(SearchRungs, EveryCandidateHasATypedOutcomeBesideItsText) {
  test::TempDir dir;
  auto spec = five_rates_in_three_rungs(dir);
  auto sweep = load_sweep(spec, {});
  ASSERT_TRUE(sweep.search);
  auto& s = *sweep.search;
  const auto outcome = five_rates_outcome;
  play_search(s, outcome);
  using O = SearchOutcome;
  // vanilla: c=0 stopped at rung 1, c=2 at rung 2, c=1 complete but beaten by c=3, c=4 diverged;
  // aim: c=1 pending at rung 2 (to be trained), c=2 and c=3 at a rung not decided yet.
  const std::vector<O> want = {O::Stopped, O::NotWinner, O::Stopped, O::Winner,  O::Diverged,
                               O::Stopped, O::Training,  O::Reached, O::Reached, O::Diverged};
  const std::vector<std::string> text = {"stopped at rung 1 (epoch 1), not promoted: val acc 0.3000",
                                         "complete, not the winner: val acc 0.8200",
                                         "stopped at rung 2 (epoch 3), not promoted: val acc 0.6200",
                                         "winner: val acc 0.8600",
                                         "diverged at rung 1 (epoch 1)",
                                         "stopped at rung 1 (epoch 1), not promoted: val acc 0.3000",
                                         "",
                                         "reached rung 2 (epoch 3): val acc 0.6200 (the rung is not decided yet)",
                                         "reached rung 2 (epoch 3): val acc 0.8300 (the rung is not decided yet)",
                                         "diverged at rung 1 (epoch 1)"};
  for (size_t i = 0; i < want.size(); ++i) {
    const auto [o, t] = search_rungs::settled(s, i, outcome);
    EXPECT_EQ(int(o), int(want[i])) << i;
    EXPECT_EQ(t, text[i]) << i;
  }
  EXPECT_EQ(int(search_rungs::settled(s, 10, outcome).first), int(O::NotSearched));
}

TEST(SearchSpec, CandidatesAreTheSameForEveryMethodAndTheirIdsDoNotDependOnTheRung) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), 4) + kGrid +
                                      "  search:\n    axes:\n      train.lr: [0.1, 0.01]\n"
                                      "      train.weight_decay: {low: 1.0e-5, high: 1.0e-3, samples: 3, log: true}\n"
                                      "    rungs: [1, 2, 4]\n");
  auto sweep = load_sweep(spec, {});
  ASSERT_TRUE(sweep.search);
  const auto& s = *sweep.search;
  ASSERT_EQ(s.groups.size(), 2u);
  ASSERT_EQ(s.groups[0].runs.size(), 6u);
  ASSERT_EQ(s.groups[1].runs.size(), 6u);
  std::vector<std::string> values[2];
  for (size_t g = 0; g < 2; ++g)
    for (size_t i : s.groups[g].runs) {
      std::string v;
      for (const auto& [k, x] : s.all_runs[i].axes)
        if (k != "method") v += k + "=" + x + ";";
      values[g].push_back(v);
      EXPECT_EQ(s.all_runs[i].config.get_int("train.epochs"), 4);
    }
  EXPECT_EQ(values[0], values[1]);
  // The sampled weight decays: 3 distinct values inside the range, the same at every load.
  std::set<double> wd;
  for (size_t i : s.groups[0].runs) wd.insert(s.all_runs[i].config.get_float("train.weight_decay"));
  EXPECT_EQ(wd.size(), 3u);
  for (double x : wd) EXPECT_TRUE(x >= 1e-5 && x <= 1e-3) << x;
  EXPECT_EQ(load_sweep(spec, {}).search->all_runs[1].run_id, s.all_runs[1].run_id);
  // Another seed, other values.
  auto other = dir.write("o.yaml", tiny_config(dir.file("out"), 4) + kGrid +
                                       "  search:\n    axes:\n      train.lr: [0.1, 0.01]\n"
                                       "      train.weight_decay: {low: 1.0e-5, high: 1.0e-3, samples: 3, log: true}\n"
                                       "    rungs: [1, 2, 4]\n    seed: 7\n");
  EXPECT_NE(load_sweep(other, {}).search->all_runs[0].run_id, s.all_runs[0].run_id);
  // A candidate's id is the id of the same run in a plain grid (train.epochs = the last rung).
  auto plain = dir.write("p.yaml", tiny_config(dir.file("out"), 4) +
                                       "sweep:\n  name: p\n  grid:\n    method: [{name: vanilla}]\n"
                                       "    train.lr: [0.1]\n    train.weight_decay: [" +
                                       s.all_runs[0].axes[2].second + "]\n");
  EXPECT_EQ(load_sweep(plain, {}).runs[0].run_id, s.all_runs[0].run_id);
  // The log range's values, recomputed: low * (high/low)^u for u from mt19937_64 as documented.
  EXPECT_EQ(range_value(1e-5, 1e-3, true, 0.0), "1e-05");
  EXPECT_EQ(range_value(1e-5, 1e-3, true, 0.5), "0.0001");
  EXPECT_EQ(range_value(1, 3, false, 0.25), "1.5");
}

TEST(SearchSpec, BadSearchesAreConfigErrorsWithFileAndLine) {
  test::TempDir dir;
  // sweep.search is line 10 (6 of config, 3 of grid); its mapping, where errors about it point, line 11.
  const std::string head = kGrid + "  search:\n";
  struct Case {
    std::string body, expect;
    int epochs = 4;
  };
  const std::vector<Case> cases = {
      {"    axes: {train.lr: 0.1}\n    rungs: [1, 2, 4]\n",
       "s.yaml:11: sweep.search.axes.train.lr: expected a non-empty list of values or a range"},
      {"    axes: {train.lr: []}\n    rungs: [1, 2, 4]\n", "sweep.search.axes.train.lr: expected a non-empty list"},
      {"    axes: {train.lr: {low: 0.1, hihg: 1, samples: 2}}\n    rungs: [1, 2, 4]\n",
       "s.yaml:11: sweep.search.axes.train.lr.hihg: unknown key in a range (did you mean 'high'?)"},
      {"    axes: {train.lr: {low: 0.1, high: 0.01, samples: 2}}\n    rungs: [1, 2, 4]\n",
       "s.yaml:11: sweep.search.axes.train.lr: low (0.1) must be below high (0.01)"},
      {"    axes: {train.lr: {low: 0, high: 1, samples: 2, log: true}}\n    rungs: [1, 2, 4]\n",
       "a log range needs low above 0"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2, 4]\n    eta: 1\n",
       "s.yaml:13: sweep.search.eta: 1 is out of range (2 to 1000)"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 3, 2, 4]\n",
       "s.yaml:12: sweep.search.rungs: the rungs must increase: 2 after 3"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2, 8]\n",
       "s.yaml:12: sweep.search.rungs: the rung 8 is beyond train.epochs (4)"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2]\n",
       "s.yaml:12: sweep.search.rungs: the last rung (2) must be train.epochs (4)"},
      {"    axes: {train.lr: [0.1]}\n    rungs: []\n", "s.yaml:12: sweep.search.rungs: expected a list of epochs"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2.5, 4]\n", "sweep.search.rungs: expected a whole number"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2, 4]\n    metric: test worst-group\n",
       "s.yaml:13: sweep.search.metric: 'test worst-group' is a metric of held-out data"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2, 4]\n    metric: ood acc\n", "is a metric of held-out data"},
      {"    axes: {train.lr: [0.1]}\n    rungs: [1, 2, 4]\n    metric: val acuracy\n",
       "s.yaml:13: sweep.search.metric: unknown metric 'val acuracy' (expected val acc or val worst-group"},
      {"    axes: {train.lr: [0.1]}\n    rugns: [1, 2, 4]\n",
       "s.yaml:12: sweep.search.rugns: unknown key (did you mean 'rungs'?)"},
      {"    axes: {method: [{name: vanilla}]}\n    rungs: [1, 2, 4]\n",
       "s.yaml:11: sweep.search.axes.method: searched and an axis of the grid too"},
      {"    axes: {train.lr: [0.1]}\n", "s.yaml:11: sweep.search: axes and rungs are required"},
  };
  for (const auto& c : cases) {
    auto e = error_of(dir, head + c.body, c.epochs);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "expected: " << c.expect << "\ngot: " << e;
  }
  // A value of a search axis that no run can take is the run's config error.
  auto e = error_of(dir, head + "    axes: {train.lr: [fast]}\n    rungs: [1, 2, 4]\n");
  EXPECT_NE(e.find("train.lr"), std::string::npos) << e;
  // At the top of a sweep in stages: it belongs to one stage (tests/test_stage_search.cpp).
  e = error_of(dir,
               "sweep:\n  stages:\n    - {name: a, grid: {seed: [0]}}\n  search: {axes: {train.lr: [0.1]}, "
               "rungs: [4]}\n");
  EXPECT_NE(e.find("s.yaml:9: sweep.search: in a sweep in stages a search belongs to one stage"), std::string::npos)
      << e;
  // Through the commands: exit 2 before anything runs or is written.
  auto spec = dir.write("bad.yaml", tiny_config(dir.file("out"), 4) + head +
                                        "    axes: {train.lr: [0.1]}\n    rungs: [1, 2, 4]\n    eta: 1\n");
  expect_commands_refuse(dir, spec, "bad.yaml:13: sweep.search.eta");
  // On Slurm: tests/test_slurm_search.cpp.
}

TEST(SearchRun, KilledAndRunAgainPromotesOnceContinuesFromCheckpointsAndTheWinnerEqualsAStraightRun) {
  // 2 methods x 3 learning rates, rungs 1, 2, 4, eta 2: per method 3 runs to epoch 1, 2 go on
  // to epoch 2, 1 to epoch 4. A killed search is stood in for by rung 1 of one candidate
  // trained by hand first; `sweep run` goes on from there.
  test::TempDir dir;
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), 4) + kGrid +
                                      "  search:\n    axes: {train.lr: [0.1, 0.03, 0.01]}\n"
                                      "    rungs: [1, 2, 4]\n    eta: 2\n    metric: val acc\n");
  auto sweep = load_sweep(spec, {});
  const std::string first = sweep.runs[0].run_id;
  {
    auto cfg = dir.write("first.yaml", sweep.runs[0].config.to_yaml());
    auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --stop-after-epoch 1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_TRUE(read_rung_result(RunPaths{sweep.run_dir(first)}, 1, first));
    EXPECT_FALSE(std::filesystem::exists(sweep.run_dir(first) + "/result.h5"));
  }
  // A `sweep run` killed (SIGKILL, with the training process it started) once the second
  // candidate has its rung 1, and started again.
  const std::string second = sweep.runs[1].run_id, third = sweep.runs[2].run_id;
  {
    auto bg = test::run_command("OMP_NUM_THREADS=1 setsid " + test::aimrun() + " sweep run " + spec + " > " +
                                dir.file("killed.log") + " 2>&1 & echo $!");
    const pid_t pid = pid_t(std::stol(bg.output));
    for (int i = 0; i < 2400 && !read_rung_result(RunPaths{sweep.run_dir(second)}, 1, second); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(read_rung_result(RunPaths{sweep.run_dir(second)}, 1, second)) << read_text(dir.file("killed.log"));
    ::kill(-pid, SIGKILL);
    for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(read_rung_result(RunPaths{sweep.run_dir(third)}, 1, third)) << read_text(dir.file("killed.log"));
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("search finished"), std::string::npos) << r.output;
  sweep = load_sweep(spec, {});
  const auto& s = *sweep.search;
  ASSERT_TRUE(s.finished);
  for (const auto& g : s.groups) {
    ASSERT_EQ(g.at_rung.size(), 3u);
    EXPECT_EQ(g.at_rung[1].size(), 2u);
    EXPECT_EQ(g.at_rung[2].size(), 1u);
    EXPECT_EQ(g.metric, "val acc");
    // The survivors of rung 1 are its best two by the metric, read back from the rung files.
    std::vector<Scored> scored;
    for (size_t i : g.runs) {
      auto rr = read_rung_result(RunPaths{sweep.run_dir(s.all_runs[i].run_id)}, 1, s.all_runs[i].run_id);
      ASSERT_TRUE(rr);
      scored.push_back({i, s.all_runs[i].run_id, rr->metrics.at("val acc")});
      EXPECT_TRUE(rr->metrics.count("val worst-group"));  // the built-in dataset has groups
    }
    std::set<size_t> best;
    for (const auto& c : select_survivors(scored, 2)) best.insert(c.run);
    EXPECT_EQ(std::set<size_t>(g.at_rung[1].begin(), g.at_rung[1].end()), best);
    // Sessions: 1 for a candidate stopped at rung 1, 2 at rung 2, 3 for the winner (one more
    // for the run the kill may have reached after its session started); each epoch completed
    // once: no run promoted twice, no epoch trained again.
    for (size_t i : g.runs) {
      const auto& id = s.all_runs[i].run_id;
      const size_t rungs = i == g.winner.run ? 3 : std::count(g.at_rung[1].begin(), g.at_rung[1].end(), i) ? 2 : 1;
      const size_t n = sessions_of(sweep.run_dir(id));
      EXPECT_TRUE(n == rungs || (id == third && n == rungs + 1)) << id << ": " << n << " sessions";
      const std::string log = read_text(sweep.run_dir(id) + "/train.log");
      const int64_t reached = i == g.winner.run ? 4 : rungs;
      for (int64_t e = 1; e <= 4; ++e) {
        const std::string done = "epoch " + std::to_string(e) + "/4 done";
        size_t count = 0;
        for (size_t at = log.find(done); at != std::string::npos; at = log.find(done, at + 1)) ++count;
        EXPECT_EQ(count, e <= reached ? 1u : 0u) << id << ": " << done;
      }
    }
  }
  // The winners file's zip, as the axes of an adaptive-seed sweep of its own: its seed-0 runs
  // are the winners (the same configs and ids), done already.
  const auto winners = YAML::LoadFile(dir.file("out/halving/search-winners.yaml"));
  ASSERT_TRUE(winners["zip"]) << read_text(dir.file("out/halving/search-winners.yaml"));
  ASSERT_EQ(winners["groups"].size(), 2u);
  EXPECT_EQ(winners["groups"][0]["winner"].as<std::string>(), s.groups[0].winner.run_id);
  YAML::Node doc = YAML::Load(tiny_config(dir.file("out"), 4));
  doc["sweep"]["name"] = "winners";
  doc["sweep"]["zip"] = winners["zip"];
  doc["sweep"]["seeds"] = YAML::Load("{start: 2, max: 3, decide: ['aim - vanilla: val acc']}");
  auto seeds = dir.write("seeds.yaml", YAML::Dump(doc));
  auto seeded = load_sweep(seeds, {});
  ASSERT_EQ(seeded.runs.size(), 4u);
  std::set<std::string> seed0, winner_ids = {s.groups[0].winner.run_id, s.groups[1].winner.run_id};
  for (const auto& run : seeded.runs)
    if (test::axis(run, "seed") == "0") seed0.insert(run.run_id);
  EXPECT_EQ(seed0, winner_ids);
  // The winner of vanilla, trained straight to 4 epochs elsewhere: bit-identical.
  const auto& winner = s.all_runs[s.groups[0].winner.run];
  auto cfg = dir.write("winner.yaml", winner.config.to_yaml());
  auto straight = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg +
                                    " output_dir=" + dir.file("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  test::expect_same_results(sweep.run_dir(winner.run_id) + "/result.h5",
                            dir.file("straight/runs/" + winner.run_id + "/result.h5"));
  // Its rung results are the straight run's validation at epochs 1 and 2 (the same weights).
  const auto curve =
      results::read_run_file(dir.file("straight/runs/" + winner.run_id + "/result.h5")).eval_curves.at("val");
  ASSERT_GE(curve.epoch.size(), 2u);
  for (int64_t e : {1, 2}) {
    auto rr = read_rung_result(RunPaths{sweep.run_dir(winner.run_id)}, e, winner.run_id);
    ASSERT_TRUE(rr);
    EXPECT_EQ(curve.epoch[size_t(e - 1)], e);
    EXPECT_EQ(rr->metrics.at("val acc"), curve.accuracy[size_t(e - 1)]) << e;
    EXPECT_EQ(rr->metrics.at("val worst-group"), curve.worst_group_accuracy[size_t(e - 1)]) << e;
    EXPECT_EQ(rr->epochs, 4);
  }
  // Again: nothing trained, the same winners; plan and status show the rungs.
  auto again = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("0 trained, 6 skipped"), std::string::npos) << again.output;
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("rung 2 (epoch 2): 2 candidate(s); decided"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("winner: " + winner.run_id), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("stopped at rung 1 (epoch 1), not promoted"), std::string::npos) << plan.output;
  // The report prints the search (the metric and split that selected, the rungs, the
  // winners) before its table; the candidates stopped at a rung are its outcome, not runs
  // left incomplete: exit 0. Without --search they are incomplete (exit 3).
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/halving") + " --search " + spec);
  EXPECT_EQ(report.exit_code, 0) << report.output;
  for (const std::string& part :
       std::vector<std::string>{"metric val acc (validation split; test data are never read to select)",
                                "winner: " + winner.run_id, "not in the table", "| vanilla"})
    EXPECT_NE(report.output.find(part), std::string::npos) << part << "\n" << report.output;
  EXPECT_LT(report.output.find("winner: " + winner.run_id), report.output.find("| vanilla")) << report.output;
  // One row per method, its winner's, whatever learning rate won: aim is compared with vanilla.
  EXPECT_NE(report.output.find("| aim − vanilla"), std::string::npos) << report.output;
  EXPECT_EQ(report.output.find("no vanilla row with these settings"), std::string::npos) << report.output;
  auto plain = test::run_command(test::aimrun() + " report " + dir.file("out/halving"));
  EXPECT_EQ(plain.exit_code, 3) << plain.output;
  // A sweep run or submitted with output_dir=X is reported from X/<sweep> with the same file:
  // its search is read from X, not from the file's own output_dir (here moved away), so the
  // rungs above the table are those of the runs in it.
  std::filesystem::rename(dir.file("out"), dir.file("moved"));
  auto moved = test::run_command(test::aimrun() + " report " + dir.file("moved/halving") + " --search " + spec);
  EXPECT_EQ(moved.exit_code, 0) << moved.output;
  EXPECT_NE(moved.output.find("winner: " + winner.run_id), std::string::npos) << moved.output;
}

TEST(SearchRun, ADivergedCandidateRanksLastIsNeverPromotedAndIsNotTrainedAgain) {
  // AIM with train.lr 1e6: its loss is not finite in epoch 1 (train.stop_on_nan), a FAILED run.
  test::TempDir dir;
  auto spec =
      dir.write("s.yaml", tiny_config(dir.file("out"), 2) +
                              "sweep:\n  name: div\n  grid:\n    method: [{name: aim}]\n"
                              "  search:\n    axes: {train.lr: [1.0e+6, 0.1]}\n    rungs: [1, 2]\n    eta: 2\n");
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto sweep = load_sweep(spec, {});
  const auto& g = sweep.search->groups.at(0);
  ASSERT_TRUE(g.finished);
  const auto& diverged = sweep.search->all_runs[g.runs[0]];
  const auto& good = sweep.search->all_runs[g.runs[1]];
  EXPECT_EQ(g.winner.run_id, good.run_id);
  ASSERT_EQ(g.ranked.at(0).size(), 2u);
  EXPECT_EQ(g.ranked[0].back().run_id, diverged.run_id);
  EXPECT_TRUE(std::isinf(g.ranked[0].back().score));
  EXPECT_NE(read_text(sweep.run_dir(diverged.run_id) + "/FAILED").find("loss is not finite"), std::string::npos);
  EXPECT_EQ(sweep.runs[0].settled, "diverged at rung 1 (epoch 1)");
  EXPECT_EQ(int(sweep.runs[0].outcome), int(SearchOutcome::Diverged));
  EXPECT_EQ(int(sweep.runs[1].outcome), int(SearchOutcome::Winner));
  auto again = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(sessions_of(sweep.run_dir(diverged.run_id)), 1u);
  EXPECT_EQ(sessions_of(sweep.run_dir(good.run_id)), 2u);
}

TEST(SearchRun, ARunTrainedStraightThroughIsRankedByItsValidationCurveNotTrainedAgain) {
  // The candidate train.lr=0.0001 trained to its 2 epochs first (as by another sweep that
  // shares it): rung 1 reads its validation curve at epoch 1; it is not trained again. (At
  // that rate it learns little in an epoch: it loses to 0.1 and is a done run the search
  // stopped, which the report leaves out.)
  test::TempDir dir;
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), 2) +
                                      "sweep:\n  name: shared\n  grid:\n    method: [{name: vanilla}]\n"
                                      "  search:\n    axes: {train.lr: [0.0001, 0.1]}\n    rungs: [1, 2]\n"
                                      "    eta: 2\n    metric: val acc\n");
  auto sweep = load_sweep(spec, {});
  const std::string straight = sweep.runs[0].run_id;
  auto cfg = dir.write("straight.yaml", sweep.runs[0].config.to_yaml());
  auto t = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg);
  ASSERT_EQ(t.exit_code, 0) << t.output;
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  sweep = load_sweep(spec, {});
  const auto& g = sweep.search->groups.at(0);
  ASSERT_TRUE(g.finished) << describe_search(*sweep.search);
  EXPECT_EQ(sessions_of(sweep.run_dir(straight)), 1u);
  EXPECT_FALSE(std::filesystem::exists(sweep.run_dir(straight) + "/rung-1.yaml"));
  const auto curve = results::read_run_file(sweep.run_dir(straight) + "/result.h5").eval_curves.at("val");
  ASSERT_EQ(curve.epoch.at(0), 1);
  bool found = false;
  for (const auto& c : g.ranked.at(0))
    if (c.run_id == straight) {
      found = true;
      EXPECT_EQ(c.score, curve.accuracy[0]);
    }
  EXPECT_TRUE(found);
  EXPECT_NE(g.winner.run_id, straight) << describe_search(*sweep.search);
  // The report of the search has one row, the winner's (n 1), whichever candidate won: the
  // straight run, done but stopped at rung 1 when it lost there, is not in it.
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/shared") + " --search " + spec);
  EXPECT_EQ(report.exit_code, 0) << report.output;
  size_t rows = 0;
  std::istringstream lines(report.output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("| vanilla ", 0) == 0) {
      ++rows;
      const auto cells = split(line, '|');
      ASSERT_GE(cells.size(), 3u) << line;
      EXPECT_EQ(trim(cells[2]), "1") << line << "\n" << report.output;
    }
  EXPECT_EQ(rows, 1u) << report.output;
}

// A search edited after rungs have run (a candidate added, then eta raised) is planned again
// from the run folders: a candidate's id does not depend on the others, so every rung file
// and checkpoint still valid is used as it is. No epoch of any run is trained twice, the
// rung files written before the edit are unchanged, and the decisions are those of the
// edited search (the survivors of rung 1 are the best ceil(n / eta) of all its candidates).
TEST(SearchRun, AnEditedSearchIsPlannedAgainWithoutTrainingAnyEpochTwice) {
  test::TempDir dir;
  const std::string head =
      tiny_config(dir.file("out"), 3) + "sweep:\n  name: edited\n  grid:\n    method: [{name: vanilla}]\n  search:\n";
  auto spec = dir.write("s.yaml", head +
                                      "    axes: {train.lr: [0.1, 0.03]}\n    rungs: [1, 2, 3]\n"
                                      "    eta: 2\n    metric: val acc\n");
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto sweep = load_sweep(spec, {});
  ASSERT_TRUE(sweep.search->finished);
  std::map<std::string, std::string> rung_files;  // written before the edit: file -> text
  for (const auto& run : sweep.runs)
    for (const auto& e : std::filesystem::directory_iterator(sweep.run_dir(run.run_id)))
      if (e.path().filename().string().rfind("rung-", 0) == 0) rung_files[e.path().string()] = read_text(e.path());
  ASSERT_GE(rung_files.size(), 3u);  // both at rung 1, the survivor at rung 2
  for (const std::string& edit :
       std::vector<std::string>{"    axes: {train.lr: [0.1, 0.03, 0.01]}\n    rungs: [1, 2, 3]\n    eta: 2\n",
                                "    axes: {train.lr: [0.1, 0.03, 0.01]}\n    rungs: [1, 2, 3]\n    eta: 3\n"}) {
    spec = dir.write("s.yaml", head + edit + "    metric: val acc\n");
    r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
    ASSERT_EQ(r.exit_code, 0) << edit << r.output;
    sweep = load_sweep(spec, {});
    const auto& s = *sweep.search;
    ASSERT_TRUE(s.finished) << describe_search(s);
    const auto& g = s.groups.at(0);
    ASSERT_EQ(g.runs.size(), 3u);
    std::vector<Scored> scored;  // rung 1 of every candidate, read back
    for (size_t i : g.runs) {
      const auto& id = s.all_runs[i].run_id;
      auto rr = read_rung_result(RunPaths{sweep.run_dir(id)}, 1, id);
      if (rr)
        scored.push_back({i, id, rr->metrics.at("val acc")});
      else  // complete before any rung file (no rung needed it): its validation curve
        scored.push_back(
            {i, id, results::read_run_file(sweep.run_dir(id) + "/result.h5").eval_curves.at("val").accuracy.at(0)});
    }
    const size_t eta = edit.find("eta: 3") != std::string::npos ? 3 : 2;
    std::set<size_t> best;
    for (const auto& c : select_survivors(scored, eta)) best.insert(c.run);
    EXPECT_EQ(std::set<size_t>(g.at_rung[1].begin(), g.at_rung[1].end()), best) << describe_search(s);
    for (const auto& run : sweep.runs) {  // every epoch of every run trained once at most
      const std::string log = read_text(sweep.run_dir(run.run_id) + "/train.log");
      for (int e = 1; e <= 3; ++e) {
        const std::string done = "epoch " + std::to_string(e) + "/3 done";
        size_t count = 0;
        for (size_t at = log.find(done); at != std::string::npos; at = log.find(done, at + 1)) ++count;
        EXPECT_LE(count, 1u) << run.run_id << ": " << done << " after the edit\n" << edit;
      }
    }
  }
  for (const auto& [file, text] : rung_files) EXPECT_EQ(read_text(file), text) << file;
}

// sweep.search beside sweep.seeds (runner/sweep/search_seeds.h): the search first, then the
// adaptive seeds of its winners.
namespace {

const std::string kSearchSeeds =
    "  search:\n    axes: {train.lr: [0.1, 0.03]}\n    rungs: [1, 2]\n    eta: 2\n    metric: val acc\n"
    "  seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n";

size_t epochs_done(const std::string& run_dir, int64_t e, int64_t of) {
  const std::string log = read_text(run_dir + "/train.log");
  const std::string done = "epoch " + std::to_string(e) + "/" + std::to_string(of) + " done";
  size_t count = 0;
  for (size_t at = log.find(done); at != std::string::npos; at = log.find(done, at + 1)) ++count;
  return count;
}

std::vector<std::pair<std::string, std::string>> without_seed(const Config& c) {
  auto items = c.items();
  items.erase(std::remove_if(items.begin(), items.end(), [](const auto& kv) { return kv.first == "seed"; }),
              items.end());
  return items;
}

}  // namespace

TEST(SearchSeeds, BadCombinationsAreConfigErrorsWithFileAndLine) {
  test::TempDir dir;
  const std::string seeds = "  seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n";
  // A searched seed: the seeds are sweep.seeds' (the search runs at seed 0).
  auto e = error_of(dir, kGrid + "  search:\n    axes: {train.lr: [0.1], seed: [0, 1]}\n    rungs: [4]\n" + seeds);
  EXPECT_NE(e.find("s.yaml:11: sweep.search.axes.seed: a searched seed beside sweep.seeds ("), std::string::npos) << e;
  EXPECT_NE(e.find("s.yaml:13), which gives the seeds"), std::string::npos) << e;
  // A seed axis of the grid, as for sweep.seeds alone.
  e = error_of(dir, kGrid + "    seed: [0, 1]\n  search: {axes: {train.lr: [0.1]}, rungs: [4]}\n" + seeds);
  EXPECT_NE(e.find("s.yaml:10: sweep: a seed axis beside sweep.seeds"), std::string::npos) << e;
  // A comparison that cannot pair (two vanilla groups for one aim group), whatever the winners.
  e = error_of(dir,
               "sweep:\n  name: both\n  zip:\n    - {method: [{name: vanilla}, {name: vanilla}, {name: aim}], "
               "model.width: [4, 8, 16]}\n  search: {axes: {train.lr: [0.1, 0.03]}, rungs: [4]}\n  seeds:\n"
               "    start: 2\n    max: 3\n    decide: ['aim - vanilla: val acc']\n");
  EXPECT_NE(e.find("s.yaml:14: sweep.seeds.decide: 'aim - vanilla: val acc': the aim runs with"), std::string::npos)
      << e;
  EXPECT_NE(e.find("2 groups of vanilla runs to pair with"), std::string::npos) << e;
  EXPECT_NE(e.find("or also in model.width, train.lr)"), std::string::npos) << e;  // the keys it need not pair on
  // A method that no run has; a rung beyond train.epochs: as without the other key.
  e = error_of(dir, kGrid + "  search: {axes: {train.lr: [0.1]}, rungs: [4]}\n" +
                        "  seeds: {start: 2, max: 3, decide: ['aim - bottom_up: val acc']}\n");
  EXPECT_NE(e.find("s.yaml:11: sweep.seeds.decide: 'aim - bottom_up: val acc': no run of the sweep has method"),
            std::string::npos)
      << e;
  // Through the commands: exit 2 before anything runs or is written.
  auto spec =
      dir.write("bad.yaml", tiny_config(dir.file("out"), 4) + kGrid +
                                "  search:\n    axes: {train.lr: [0.1], seed: [0, 1]}\n    rungs: [4]\n" + seeds);
  expect_commands_refuse(dir, spec, "bad.yaml:11: sweep.search.axes.seed");
}

TEST(SearchSeeds, AComparisonDoesNotPairOnKeysZippedWithTheMethod) {
  // The zip of search-winners.yaml: each method with its own learning rate. The comparison
  // pairs the two groups (by method); the learning rates differ.
  test::TempDir dir;
  auto spec = dir.write("z.yaml", tiny_config(dir.file("out"), 2) +
                                      "sweep:\n  name: winners\n  zip:\n    - method: [{name: vanilla}, {name: aim}]\n"
                                      "      train.lr: [0.1, 0.03]\n"
                                      "  seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n");
  const auto sweep = load_sweep(spec, {});
  ASSERT_TRUE(sweep.seeds);
  const auto& r = *sweep.seeds;
  ASSERT_EQ(r.groups.size(), 2u);
  ASSERT_EQ(r.comparisons.size(), 1u);
  EXPECT_EQ(r.groups[r.comparisons[0].a].method, "aim");
  EXPECT_EQ(r.groups[r.comparisons[0].b].method, "vanilla");
  EXPECT_EQ(sweep.runs.size(), 4u);  // round 1: seeds 0 and 1 of each
}

TEST(SearchSeeds, WinnersWithDifferentSearchedValuesArePairedByMethod) {
  // vanilla's winner at train.lr 0.1, aim's at 0.03 (as the rounds would get them): one
  // comparison, aim's group against vanilla's; paired on train.lr too they do not pair.
  test::TempDir dir;
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), 2) + kGrid + kSearchSeeds);
  const auto sweep = load_sweep(spec, {});
  std::vector<SweepRun> winners;
  for (const auto& r : sweep.seed_pool) {
    const auto lr = r.config.get_float("train.lr");
    if (r.config.get_string("method.name") == (lr > 0.05 ? "vanilla" : "aim")) winners.push_back(r);
  }
  ASSERT_EQ(winners.size(), 6u);
  const auto rounds = seed_groups(sweep.seeds->spec, winners, sweep.seeds->unpaired);
  ASSERT_EQ(rounds.comparisons.size(), 1u);
  EXPECT_EQ(rounds.groups[rounds.comparisons[0].a].label, "method={name: aim}, train.lr=0.03");
  EXPECT_EQ(rounds.groups[rounds.comparisons[0].b].label, "method={name: vanilla}, train.lr=0.1");
  EXPECT_THROW(seed_groups(sweep.seeds->spec, winners, {}), ConfigError);
}

TEST(SearchSeeds, AGroupWithoutAWinnerLeavesTheSeedsUnstarted) {
  // Every candidate diverges (train.lr 1e6, train.stop_on_nan): the search ends without
  // winners, an outcome (exit 0); no seed run is made, and plan says why.
  test::TempDir dir;
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), 2) + kGrid +
                                      "  search: {axes: {train.lr: [1.0e+6]}, rungs: [1, 2], eta: 2}\n"
                                      "  seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n");
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no seeds: group method={name: vanilla} has no winner"), std::string::npos) << r.output;
  const auto sweep = load_sweep(spec, {});
  ASSERT_TRUE(sweep.search->finished);
  EXPECT_EQ(sweep.runs.size(), 2u);  // the two candidates, no seed run
  EXPECT_NE(sweep.seeds->blocked.find("has no winner"), std::string::npos) << sweep.seeds->blocked;
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.file("out/runs")), {}), 2);
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_NE(plan.output.find("of the search's winners: not started: group method={name: vanilla} has no winner"),
            std::string::npos)
      << plan.output;
}

TEST(SearchSeeds, OneSweepRunPlaysTheRungsThenTheWinnersSeedsAsTwoSweepsWould) {
  // 2 methods x 2 learning rates, rungs 1 and 2, eta 2; then seeds {start 2, max 3} of each
  // method's winner. Nothing is decided before 3 seeds, so round 2 gives both a third seed.
  test::TempDir dir;
  auto spec = dir.write("s.yaml", tiny_config(dir.file("out"), 2) + kGrid + kSearchSeeds);
  const auto before = load_sweep(spec, {});
  ASSERT_TRUE(before.search && before.seeds);
  EXPECT_EQ(before.runs.size(), 4u);        // the candidates, at seed 0
  EXPECT_EQ(before.seed_pool.size(), 12u);  // every candidate at every seed
  EXPECT_NE(before.seeds->blocked.find("the search is not finished"), std::string::npos);
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("rung 1 (epoch 1): 2 candidate(s); waiting"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("of the search's winners: not started: the search is not finished"), std::string::npos)
      << plan.output;

  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(r.output.find("search finished"), r.output.find("round 2: finished")) << r.output;
  const auto sweep = load_sweep(spec, {});
  const auto& s = *sweep.search;
  const auto& rounds = *sweep.seeds;
  ASSERT_TRUE(s.finished);
  ASSERT_TRUE(rounds.blocked.empty()) << rounds.blocked;
  EXPECT_TRUE(rounds.finished);
  EXPECT_EQ(rounds.round, 2u);
  ASSERT_EQ(rounds.groups.size(), 2u);
  ASSERT_EQ(rounds.comparisons.size(), 1u);
  EXPECT_EQ(rounds.comparisons[0].differences.size(), 3u);
  ASSERT_EQ(rounds.all_runs.size(), 6u);  // the winners' seeds only: no stopped candidate is a seed
  std::set<std::string> candidates;
  for (const auto& c : s.all_runs) candidates.insert(c.run_id);
  for (size_t gi = 0; gi < 2; ++gi) {
    const auto& winner = s.all_runs[s.groups[gi].winner.run];
    const auto& g = rounds.groups[gi];
    EXPECT_EQ(g.n, 3u);
    EXPECT_EQ(rounds.all_runs[g.runs[0]].run_id, winner.run_id);  // seed 0 is the winner itself
    for (size_t k = 1; k < 3; ++k) {
      const auto& run = rounds.all_runs[g.runs[k]];
      EXPECT_FALSE(candidates.count(run.run_id)) << run.run_id;
      EXPECT_EQ(run.config.get_int("seed"), int64_t(k));
      EXPECT_EQ(without_seed(run.config), without_seed(winner.config)) << run.run_id;  // the winner's config
      EXPECT_TRUE(std::filesystem::exists(sweep.run_dir(run.run_id) + "/result.h5")) << run.run_id;
    }
  }
  // Nothing trained twice: every run that exists trained each of its epochs once; a stopped
  // candidate only epoch 1.
  size_t folders = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("out/runs"))) {
    ++folders;
    const std::string id = e.path().filename().string();
    const bool stopped = candidates.count(id) && id != s.groups[0].winner.run_id && id != s.groups[1].winner.run_id;
    EXPECT_EQ(epochs_done(e.path().string(), 1, 2), 1u) << id;
    EXPECT_EQ(epochs_done(e.path().string(), 2, 2), stopped ? 0u : 1u) << id;
  }
  EXPECT_EQ(folders, 8u);  // 4 candidates, 2 more seeds of each winner

  // The two-file workaround: the winners' zip and the same sweep.seeds in a sweep of its own
  // over the same runs: the same runs, the same decisions, nothing to train.
  const auto winners = YAML::LoadFile(dir.file("out/halving/search-winners.yaml"));
  ASSERT_TRUE(winners["zip"]);
  YAML::Node doc = YAML::Load(tiny_config(dir.file("out"), 2));
  doc["sweep"]["name"] = "winners";
  doc["sweep"]["zip"] = winners["zip"];
  doc["sweep"]["seeds"] = YAML::Load("{start: 2, max: 3, decide: ['aim - vanilla: val acc']}");
  const auto two_spec = dir.write("seeds.yaml", YAML::Dump(doc));
  const auto two = load_sweep(two_spec, {});
  ASSERT_TRUE(two.seeds);
  const auto& t = *two.seeds;
  ASSERT_EQ(t.groups.size(), 2u);
  for (size_t gi = 0; gi < 2; ++gi) {
    EXPECT_EQ(t.groups[gi].n, rounds.groups[gi].n);
    for (size_t k = 0; k < 3; ++k)
      EXPECT_EQ(t.all_runs[t.groups[gi].runs[k]].run_id, rounds.all_runs[rounds.groups[gi].runs[k]].run_id);
  }
  EXPECT_EQ(t.round, rounds.round);
  EXPECT_TRUE(t.finished);
  ASSERT_EQ(t.comparisons.size(), 1u);
  EXPECT_EQ(t.comparisons[0].differences, rounds.comparisons[0].differences);
  EXPECT_EQ(t.comparisons[0].decision.state, rounds.comparisons[0].decision.state);
  EXPECT_EQ(t.comparisons[0].decision.n, rounds.comparisons[0].decision.n);
  auto again = test::run_command(test::aimrun() + " sweep run " + two_spec);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("0 trained, 6 skipped"), std::string::npos) << again.output;

  // Plan, status and report show both parts; a second `sweep run` trains nothing.
  auto rerun = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("0 trained, 8 skipped"), std::string::npos) << rerun.output;
  for (const std::string cmd : {"plan", "status"}) {
    auto out = test::run_command(test::aimrun() + " sweep " + cmd + " " + spec);
    EXPECT_EQ(out.exit_code, 0) << out.output;
    EXPECT_NE(out.output.find("winner: " + s.groups[0].winner.run_id), std::string::npos) << out.output;
    EXPECT_NE(out.output.find("of the search's winners: round 2"), std::string::npos) << out.output;
    EXPECT_NE(out.output.find("seed 0 of each group is its winner"), std::string::npos) << out.output;
    EXPECT_NE(out.output.find("aim - vanilla: val acc: "), std::string::npos) << out.output;
  }
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/halving") + " --search " + spec +
                                  " --seeds " + spec);
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_LT(report.output.find("winner: " + s.groups[0].winner.run_id), report.output.find("round 2")) << report.output;
}
