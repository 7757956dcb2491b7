// Adaptive seeds (sweep.seeds): the key's checks (file:line, exit 2), run identity, the
// rounds played on synthetic results (no training), and a tiny sweep run end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"
#include "test_util.h"

using namespace aim;

namespace {

std::string base(const std::string& out, int epochs = 1) { return test::small_run_config(out, epochs); }

const std::string kMethods =
    "sweep:\n  name: adaptive\n  grid:\n    method: [{name: vanilla}, {name: aim}, {name: bottom_up}]\n";

// The ConfigError load_sweep throws for `sweep_tail` under kMethods' grid ("" if none).
std::string error_of(const test::TempDir& dir, const std::string& text) {
  auto spec = dir.write("s.yaml", base(dir.file("out")) + text);
  return test::error_of<ConfigError>([&] { load_sweep(spec, {}); });
}

}  // namespace

TEST(SeedRounds, BadSeedsAreConfigErrorsWithFileAndLine) {
  test::TempDir dir;
  const std::string seeds = "  seeds:\n";  // line 10 of s.yaml (5 lines of base, then sweep, name, grid, method)
  struct Case {
    std::string body, expect;
  };
  const std::vector<Case> cases = {
      {"    strat: 3\n    max: 5\n    decide: ['aim - vanilla: test acc']\n",
       "s.yaml:11: sweep.seeds.strat: unknown key (did you mean 'start'?)"},
      {"    start: 5\n    max: 3\n    decide: ['aim - vanilla: test acc']\n",
       "s.yaml:12: sweep.seeds.max: 3 is below start (5)"},
      {"    start: 3\n    max: 5\n    decide: ['aim vs vanilla']\n",
       "s.yaml:13: sweep.seeds.decide: 'aim vs vanilla': expected"},
      {"    start: 3\n    max: 5\n    decide: ['aim - vanila: test acc']\n",
       "s.yaml:13: sweep.seeds.decide: 'aim - vanila: test acc': no run of the sweep has method 'vanila'"},
      {"    start: 3\n    max: 5\n    decide: ['aim - vanilla: test acuracy']\n", "unknown metric 'test acuracy'"},
      {"    start: 1\n    max: 5\n    decide: ['aim - vanilla: test acc']\n",
       "s.yaml:11: sweep.seeds.start: 1 is out of range"},
      {"    start: 3\n    max: 5\n    step: 0\n    decide: ['aim - vanilla: test acc']\n",
       "sweep.seeds.step: 0 is out of range"},
      {"    start: 3\n    max: 5\n    margin: -1\n    decide: ['aim - vanilla: test acc']\n", "sweep.seeds.margin"},
      {"    start: 3\n    max: 5\n    decide: []\n", "s.yaml:13: sweep.seeds.decide: expected a list"},
      {"    start: 3\n    max: 5\n    decide: ['aim - vanilla: test acc', 'aim - vanilla: test acc']\n",
       "listed twice"},
      {"    start: 3\n    decide: ['aim - vanilla: test acc']\n", "start, max and decide are required"},
  };
  for (const auto& c : cases) {
    auto e = error_of(dir, kMethods + seeds + c.body);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "expected: " << c.expect << "\ngot: " << e;
  }
  // A seed axis beside sweep.seeds, and sweep.seeds in a sweep in stages.
  auto e = error_of(dir, kMethods + "    seed: [0, 1]\n" + seeds +
                             "    start: 2\n    max: 3\n    decide: ['aim - vanilla: test acc']\n");
  EXPECT_NE(e.find("s.yaml:10: sweep: a seed axis beside sweep.seeds"), std::string::npos) << e;
  e = error_of(dir,
               "sweep:\n  stages:\n    - {name: a, grid: {seed: [0]}}\n  seeds: {start: 2, max: 3, decide: ['aim - "
               "vanilla: test acc']}\n");
  EXPECT_NE(e.find("sweep.seeds: in a sweep in stages adaptive seeds belong to the last stage"), std::string::npos)
      << e;
  // Through the command: exit 2 before anything runs.
  auto spec = dir.write("bad.yaml", base(dir.file("out")) + kMethods + seeds +
                                        "    start: 5\n    max: 3\n    decide: ['aim - vanilla: test acc']\n");
  for (const std::string cmd : {"plan", "run", "status"}) {
    auto r = test::run_command(test::aimrun() + " sweep " + cmd + " " + spec);
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("bad.yaml:12: sweep.seeds.max"), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(SeedRounds, EverySeedsRunHasTheIdItHasWithTheSeedsListedUpFront) {
  test::TempDir dir;
  auto adaptive =
      load_sweep(dir.write("a.yaml", base(dir.file("out")) + kMethods +
                                         "  seeds: {start: 2, max: 5, decide: ['aim - vanilla: test acc']}\n"),
                 {});
  auto listed = load_sweep(dir.write("b.yaml", base(dir.file("out")) + kMethods + "    seed: [0, 1, 2, 3, 4]\n"), {});
  ASSERT_TRUE(adaptive.seeds);
  std::set<std::string> all, upfront;
  for (const auto& r : adaptive.seeds->all_runs) all.insert(r.run_id);
  for (const auto& r : listed.runs) upfront.insert(r.run_id);
  EXPECT_EQ(all.size(), 15u);
  EXPECT_EQ(all, upfront);
  // Round 1, nothing run: 2 seeds per method, the runs with seeds 0 and 1 of the full list.
  EXPECT_EQ(adaptive.runs.size(), 6u);
  for (const auto& r : adaptive.runs) {
    EXPECT_TRUE(upfront.count(r.run_id));
    EXPECT_LT(r.config.get_int("seed"), 2);
  }
  EXPECT_EQ(adaptive.seeds->round, 1u);
  EXPECT_FALSE(adaptive.seeds->finished);
}

TEST(SeedRounds, OnlyGroupsWithAnOpenComparisonGetMoreSeedsUpToMax) {
  test::TempDir dir;
  auto sweep = load_sweep(
      dir.write("a.yaml", base(dir.file("out")) + kMethods +
                              "  seeds: {start: 3, max: 6, step: 1, margin: 0.5,\n"
                              "          decide: ['aim - vanilla: test acc', 'bottom_up - vanilla: test acc']}\n"),
      {});
  ASSERT_TRUE(sweep.seeds);
  // Synthetic results: aim 10 points above vanilla (spread 0.5), bottom_up as vanilla with a
  // spread of 3 points (never decided in 6 seeds); 10 s of compute per run.
  auto play = [&](std::function<RunState(const SweepRun&)> state) {
    SeedRounds r = seed_groups(sweep.seeds->spec, sweep.seeds->all_runs);
    play_seed_rounds(r, [&](size_t i) {
      const auto& run = r.all_runs[i];
      SeedRunResult res;
      res.state = state(run);
      const double s = double(run.config.get_int("seed"));
      const std::string m = run.config.get_string("method.name");
      const double noise = std::sin(7.3 * s + (m == "aim" ? 1 : m == "bottom_up" ? 2 : 0));
      res.metrics["test acc"] = m == "aim" ? 0.8 + 0.005 * noise : m == "bottom_up" ? 0.7 + 0.03 * noise : 0.7;
      res.seconds = 10;
      return res;
    });
    return r;
  };
  auto r = play([](const SweepRun&) { return RunState::Done; });
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.waiting.empty()) << r.waiting;
  EXPECT_EQ(r.round, 4u);  // n = 3, 4, 5, 6
  ASSERT_EQ(r.comparisons.size(), 2u);
  EXPECT_EQ(r.comparisons[0].decision.state, results::SequentialState::Different);
  EXPECT_EQ(r.comparisons[0].decision.n, 3u);
  EXPECT_EQ(r.comparisons[1].decision.state, results::SequentialState::Open);
  EXPECT_EQ(r.comparisons[1].decision.n, 6u);
  std::map<std::string, size_t> n;
  for (const auto& g : r.groups) n[g.method] = g.n;
  EXPECT_EQ(n["aim"], 3u);
  EXPECT_EQ(n["vanilla"], 6u);
  EXPECT_EQ(n["bottom_up"], 6u);
  EXPECT_EQ(r.active().size(), 15u);
  EXPECT_DOUBLE_EQ(r.seconds_done, 150);
  EXPECT_DOUBLE_EQ(r.seconds_at_max, 180);
  auto text = describe_seed_rounds(r);
  EXPECT_NE(text.find("aim - vanilla: test acc: decided different at n=3"), std::string::npos) << text;
  EXPECT_NE(text.find("bottom_up - vanilla: test acc: open at n=6"), std::string::npos) << text;
  // A run of round 2 still pending: the rounds stop there, and say so.
  auto waiting = play([](const SweepRun& run) {
    return run.config.get_int("seed") == 3 && run.config.get_string("method.name") == "vanilla" ? RunState::Pending
                                                                                                : RunState::Done;
  });
  EXPECT_FALSE(waiting.finished);
  EXPECT_EQ(waiting.round, 2u);
  EXPECT_NE(waiting.waiting.find("1 pending"), std::string::npos) << waiting.waiting;
  EXPECT_EQ(waiting.active().size(), 3u + 4u + 4u);
}

TEST(SeedRounds, SweepRunPlaysTheRoundsWithRealRuns) {
  // Two methods, 1 epoch each: round 1 (2 seeds) cannot decide (no finite sequence at n = 2),
  // round 2 (3 seeds) decides with a margin of 100 points: equivalent (or different), so the
  // sweep ends with 6 runs of the 8 that max seeds would make.
  test::TempDir dir;
  auto spec =
      dir.write("s.yaml", test::small_run_config(dir.file("out"), 1) +
                              "sweep:\n  name: tiny\n  grid:\n    method: [{name: vanilla}, {name: aim}]\n"
                              "  seeds: {start: 2, max: 4, margin: 100, decide: ['aim - vanilla: test acc']}\n");
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("round 2: finished"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("aim - vanilla: test acc: decided "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" at n=3"), std::string::npos) << r.output;
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("6 done"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("round 2"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("n=3  method={name: aim}"), std::string::npos) << plan.output;
  // The report: the rounds above the table, with the compute spent beside max seeds'.
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/tiny") + " --seeds " + spec);
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("adaptive seeds"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("in 6 done runs (of 6 so far); max seeds for every group (8 runs): about"),
            std::string::npos)
      << report.output;
  EXPECT_NE(report.output.find("% saved"), std::string::npos) << report.output;
  auto plain =
      dir.write("plain.yaml", base(dir.file("out")) + "sweep:\n  name: tiny\n  grid: {method: [{name: vanilla}]}\n");
  auto no_seeds = test::run_command(test::aimrun() + " report " + dir.file("out/tiny") + " --seeds " + plain);
  EXPECT_EQ(no_seeds.exit_code, 2) << no_seeds.output;
  EXPECT_NE(no_seeds.output.find("--seeds: the sweep has no sweep.seeds"), std::string::npos) << no_seeds.output;
  // Again: nothing to train, the same decision.
  auto again = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("0 trained, 6 skipped"), std::string::npos) << again.output;
}
