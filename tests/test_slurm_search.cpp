// A successive-halving search on Slurm (sweep.search; runner/sweep/slurm_rounds.h): one
// `sweep submit` queues rung 1 (one array, each element with its rung's budget from the
// budget list) and a round job after it; each round job decides the rungs again from the run
// folders and queues the next rung's array and round job, until every group has its winner.
// Checked against `sweep run` of the same spec locally: the same winners, the same rung
// scores and results bit for bit. A divergence is an outcome of the search; any other
// failure ends the chain naming the run.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <tuple>

#include "core/files.h"
#include "core/strings.h"
#include "results/run_file.h"
#include "run_compare.h"
#include "runner/rung_result.h"
#include "runner/session_ledger.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"
#include "runner/sweep/upstream.h"
#include "slurm_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

class SlurmSearch : public test::SlurmTest {};

// 2 methods x 3 learning rates, rungs 1 and 2, eta 2, on 500 images of width 4 (about a
// second an epoch). train.lr 1e6 diverges (train.stop_on_nan): AIM's in epoch 1, so it is
// never promoted; vanilla's in epoch 2, after it was promoted: it ranks last at the last rung.
// The runs of these tests: 500 images of width 4, 2 epochs, one attribution, into <dir>/out.
std::string tiny_runs(const test::TempDir& dir) {
  return "output_dir: " + dir.file("out") +
         "\n"
         "dataset: {train_size: 500, val_size: 200, test_size: 200}\n"
         "model: {width: 4}\n"
         "train: {epochs: 2, batch_size: 64, log_every: 0}\n"
         "eval: {attributions: [gradcam], keep_maps: 0, pictures: 0}\n";
}

std::string search_spec(const test::TempDir& dir, const std::string& name) {
  return dir.write(name + ".yaml", tiny_runs(dir) + "sweep:\n  name: " + name +
                                       "\n  grid:\n    method: [{name: vanilla}, {name: aim}]\n"
                                       "  search:\n    axes: {train.lr: [1.0e+6, 0.1, 0.03]}\n"
                                       "    rungs: [1, 2]\n    eta: 2\n    metric: val acc\n");
}

size_t sessions_of(const std::string& run_dir) {
  size_t n = 0;
  for (const auto& line :
       split(fs::exists(run_dir + "/sessions.jsonl") ? read_text(run_dir + "/sessions.jsonl") : "", '\n'))
    n += line.find("\"event\": \"start\"") != std::string::npos;
  return n;
}

std::string queue_of(const std::string& name) {
  return trim(test::run_command("squeue -h -n aim-" + name + ",aim-" + name + "+rounds -o %i").output);
}

}  // namespace

// One submission plays both rungs on Slurm; `sweep run` of the same spec in another output
// folder (at the same time) picks the same winners with the same scores, bit for bit.
TEST_F(SlurmSearch, OneSubmissionPlaysEveryRungAndPicksTheWinnersOfALocalRun) {
  test::TempDir dir;
  const auto spec = search_spec(dir, "halving");
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_NE(submit.output.find("rung 1: round job "), std::string::npos) << submit.output;
  EXPECT_NE(submit.output.find("queued, after afterany:"), std::string::npos) << submit.output;
  // Status shows the rung, its queued runs, each with its budget, and the round job.
  auto status = test::run_command(test::aimrun() + " sweep status " + spec + " --profile local").output;
  EXPECT_NE(status.find("rung 1 (epoch 1): 3 candidate(s); waiting"), std::string::npos) << status;
  EXPECT_NE(status.find("to epoch 1"), std::string::npos) << status;
  EXPECT_TRUE(status.find("queued") != std::string::npos || status.find("running") != std::string::npos) << status;
  EXPECT_NE(status.find(": queues the next rung once the arrays it waits for have ended (rung 1;"), std::string::npos)
      << status;
  // The same search locally, meanwhile.
  const std::string local_dir = dir.file("local");
  auto local =
      test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec + " output_dir=" + local_dir);
  ASSERT_EQ(local.exit_code, 0) << local.output;
  test::wait_for_status(spec, "; finished", 600);
  for (int i = 0; i < 120 && !queue_of("halving").empty(); ++i) std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(queue_of("halving"), "");

  const auto slurm = load_sweep(spec, {});
  const auto here = load_sweep(spec, {"output_dir=" + local_dir});
  ASSERT_TRUE(slurm.search->finished);
  ASSERT_TRUE(here.search->finished);
  const auto& s = *slurm.search;
  for (size_t gi = 0; gi < s.groups.size(); ++gi) {
    const auto& g = s.groups[gi];
    const auto& h = here.search->groups.at(gi);
    EXPECT_EQ(g.winner.run_id, h.winner.run_id) << g.label;
    EXPECT_EQ(g.winner.score, h.winner.score) << g.label;  // bit for bit
    ASSERT_EQ(g.at_rung.size(), 2u);
    EXPECT_EQ(g.at_rung[1], h.at_rung[1]) << g.label;
    EXPECT_EQ(g.at_rung[1].size(), 2u) << g.label;  // the diverged candidate is never promoted
    ASSERT_FALSE(g.winner.run_id.empty());
    test::expect_same_results(slurm.run_dir(g.winner.run_id) + "/result.h5",
                              here.run_dir(g.winner.run_id) + "/result.h5");
  }
  // Every candidate: the same outcome at rung 1, and trained once per rung it reached.
  size_t diverged = 0, diverged_late = 0;
  for (size_t i = 0; i < s.all_runs.size(); ++i) {
    const auto& id = s.all_runs[i].run_id;
    const RunPaths a{slurm.run_dir(id)}, b{here.run_dir(id)};
    const auto ra = read_rung_result(a, 1, id), rb = read_rung_result(b, 1, id);
    ASSERT_EQ(bool(ra), bool(rb)) << id;
    if (ra) {
      EXPECT_EQ(ra->metrics, rb->metrics) << id;
      diverged_late +=
          fs::exists(a.dir + "/FAILED") && read_text(a.dir + "/FAILED").find("loss is not finite") != std::string::npos;
    } else {
      ++diverged;
      EXPECT_NE(read_text(a.dir + "/FAILED").find("loss is not finite"), std::string::npos) << id;
    }
    EXPECT_EQ(sessions_of(a.dir), sessions_of(b.dir)) << id;
    EXPECT_EQ(sessions_of(a.dir), size_t(s.budget_of(i) == 2 ? 2 : 1)) << id;
  }
  EXPECT_GE(diverged, 1u);       // at rung 1: the chain went on
  EXPECT_GE(diverged_late, 1u);  // at the last rung: the search finished with the other winner
  // The winners file as `sweep run` writes it, written by the last round job.
  EXPECT_EQ(read_text(dir.file("out/halving/search-winners.yaml")),
            read_text(local_dir + "/halving/search-winners.yaml"));
  // Two round jobs: the first queued rung 2 and the second; the second found every winner.
  std::string logs;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir.file("out/halving/slurm")))
    if (e.path().filename().string().rfind("rounds-", 0) == 0 && e.path().extension() == ".out")
      logs += read_text(e.path().string()) + "\n----\n", ++n;
  EXPECT_EQ(n, 2u) << logs;
  EXPECT_NE(logs.find("rung 2: round job "), std::string::npos) << logs;
  EXPECT_NE(logs.find("no round job: every group has its winner"), std::string::npos) << logs;
}

// sweep.search beside sweep.seeds: one submission plays the rungs, then the rounds of the
// winners' seeds, through one chain of round jobs; `sweep run` of the same spec in another
// output folder (at the same time) ends with the same winners, seed runs and decision.
TEST_F(SlurmSearch, OneSubmissionPlaysTheRungsThenTheSeedsOfTheWinners) {
  test::TempDir dir;
  const auto spec =
      dir.write("both.yaml", tiny_runs(dir) +
                                 "sweep:\n  name: both\n  grid:\n    method: [{name: vanilla}, {name: aim}]\n"
                                 "  search:\n    axes: {train.lr: [0.1, 0.03]}\n"
                                 "    rungs: [1, 2]\n    eta: 2\n    metric: val acc\n"
                                 "  seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n");
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_NE(submit.output.find("rung 1: round job "), std::string::npos) << submit.output;
  EXPECT_NE(submit.output.find("of the search's winners: not started"), std::string::npos) << submit.output;
  const std::string local_dir = dir.file("local");
  auto local =
      test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec + " output_dir=" + local_dir);
  ASSERT_EQ(local.exit_code, 0) << local.output;
  test::wait_for_status(spec, "alpha 0.05; finished", 600);
  for (int i = 0; i < 120 && !queue_of("both").empty(); ++i) std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(queue_of("both"), "");

  const auto slurm = load_sweep(spec, {});
  const auto here = load_sweep(spec, {"output_dir=" + local_dir});
  ASSERT_TRUE(slurm.search->finished && here.search->finished);
  const auto &a = *slurm.seeds, &b = *here.seeds;
  ASSERT_TRUE(a.finished && b.finished) << a.blocked << b.blocked;
  EXPECT_EQ(a.round, 2u);
  EXPECT_EQ(a.round, b.round);
  ASSERT_EQ(a.groups.size(), 2u);
  for (size_t gi = 0; gi < 2; ++gi) {
    EXPECT_EQ(slurm.search->groups[gi].winner.run_id, here.search->groups[gi].winner.run_id);
    EXPECT_EQ(a.all_runs[a.groups[gi].runs[0]].run_id, slurm.search->groups[gi].winner.run_id);
    EXPECT_EQ(a.groups[gi].n, b.groups[gi].n);
    for (size_t k = 0; k < a.groups[gi].n; ++k) {
      const auto& id = a.all_runs[a.groups[gi].runs[k]].run_id;
      EXPECT_EQ(id, b.all_runs[b.groups[gi].runs[k]].run_id);
      EXPECT_EQ(sessions_of(slurm.run_dir(id)), k == 0 ? 2u : 1u) << id;  // the winner: its two rungs
      test::expect_same_results(slurm.run_dir(id) + "/result.h5", here.run_dir(id) + "/result.h5");
    }
  }
  ASSERT_EQ(a.comparisons.size(), 1u);
  EXPECT_EQ(a.comparisons[0].differences, b.comparisons[0].differences);  // bit for bit
  EXPECT_EQ(a.comparisons[0].decision.state, b.comparisons[0].decision.state);
  // Four round jobs: rung 2, seeds round 1, round 2, and the one that found the rounds finished.
  std::string logs;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir.file("out/both/slurm")))
    if (e.path().filename().string().rfind("rounds-", 0) == 0 && e.path().extension() == ".out")
      logs += read_text(e.path().string()) + "\n----\n", ++n;
  EXPECT_EQ(n, 4u) << logs;
  for (const std::string part : {"rung 2: round job ", "round 1: round job ", "round 2: round job ",
                                 "round 2: no round job: its rounds are finished"})
    EXPECT_NE(logs.find(part), std::string::npos) << part << "\n" << logs;
}

// A round job whose rung has a failed run (not a divergence), or one killed outright, queues
// nothing and names them; a diverged run is not named, and is never submitted again. Nothing
// trains here.
TEST_F(SlurmSearch, AFailedRunEndsTheChainADivergedOneDoesNot) {
  test::TempDir dir;
  const auto spec = search_spec(dir, "failing");
  auto sweep = load_sweep(spec, {});
  ASSERT_EQ(sweep.runs.size(), 6u);
  const auto& diverged = sweep.runs[0].run_id;
  const auto& failed = sweep.runs[1].run_id;
  for (const auto& [id, why] : {std::pair{diverged, "loss is not finite in epoch 1 (train.stop_on_nan: true)"},
                                std::pair{failed, "out of memory (a test's cause)"}}) {
    fs::create_directories(sweep.run_dir(id));
    mark_failed(RunPaths{sweep.run_dir(id)}, why);
  }
  // A third one killed outright (out of memory): no FAILED, its exit code in the ledger as
  // the sbatch wrapper writes it; queuing it again by itself could loop.
  const auto& killed = sweep.runs[2].run_id;
  fs::create_directories(sweep.run_dir(killed));
  SessionEntry start, end;
  start.event = "start";
  end.event = "end";
  end.exit_code = 137;
  end.by = "sbatch";
  append_session(RunPaths{sweep.run_dir(killed)}, start);
  append_session(RunPaths{sweep.run_dir(killed)}, end);
  auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local --round-job");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(killed + ": ended without FAILED: its last session's exit code 137"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("rung 1 has runs that did not end done (and did not diverge)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(failed + ": failed: out of memory (a test's cause)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(diverged + ": failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the round jobs stop here, nothing was queued"), std::string::npos) << r.output;
  EXPECT_EQ(queue_of("failing"), "");
  // A watch ends at once, saying why nothing can go on.
  auto watch = test::run_command("timeout 60 " + test::aimrun() + " sweep status " + spec +
                                 " --profile local --watch --interval 0.5");
  EXPECT_NE(watch.output.find("the search is not decided (rung 1) and nothing of the sweep is queued or running: "
                              "runs that did not end done:"),
            std::string::npos)
      << watch.output;
  EXPECT_NE(watch.output.find(failed + ": failed: out of memory (a test's cause)"), std::string::npos) << watch.output;
  // The winners file says what the group waits for.
  const auto winners = read_text(dir.file("out/failing/search-winners.yaml"));
  EXPECT_NE(winners.find("run " + failed + " failed: out of memory"), std::string::npos) << winners;
  // Submitted by hand (a dry run here): the failed run is trained again, the diverged one is
  // not; every element of rung 1 stops at epoch 1.
  r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local --dry-run --script-dir " +
                        dir.file("scripts"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string runs, budgets;
  for (const auto& e : fs::directory_iterator(dir.file("scripts"))) {
    const auto name = e.path().filename().string();
    if (name.rfind("runs-", 0) == 0) runs = read_text(e.path().string());
    if (name.rfind("budget-", 0) == 0) budgets = read_text(e.path().string());
  }
  EXPECT_EQ(split(trim(runs), '\n').size(), 5u) << runs;
  EXPECT_EQ(runs.find(diverged), std::string::npos) << runs;
  EXPECT_NE(runs.find(failed), std::string::npos) << runs;
  EXPECT_NE(runs.find(killed), std::string::npos) << runs;
  EXPECT_EQ(budgets, "1\n1\n1\n1\n1\n");
  EXPECT_NE(r.output.find("\"${aim_stop[@]}\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("# the round job of rung 1, would be submitted with --dependency=afterany:<array 1>"),
            std::string::npos)
      << r.output;
}

// A search in a stage, submitted once and watched: `sweep status --watch` follows the round
// jobs between the rungs (nothing of the sweep's arrays is queued then) until the search is
// decided and the later stage, queued by the last round job, has run from each method's winner.
TEST_F(SlurmSearch, WatchFollowsTheRoundJobsUntilTheStagedSearchIsDecided) {
  test::TempDir dir;
  const auto spec =
      dir.write("staged.yaml", tiny_runs(dir) +
                                   "sweep:\n  name: staged\n  stages:\n"
                                   "    - name: search\n      grid: {method: [{name: vanilla}, {name: aim}]}\n"
                                   "      search: {axes: {train.lr: [0.1, 0.03]}, rungs: [1, 2], eta: 2, "
                                   "metric: val acc}\n"
                                   "    - name: finetune\n      init_from: search\n"
                                   "      set: {train.epochs: 1, train.lr: 0.01}\n"
                                   "      grid: {method: [{name: vanilla}, {name: aim}]}\n");
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_NE(submit.output.find("rung 1: round job "), std::string::npos) << submit.output;
  auto watch = test::run_command("timeout 600 " + test::aimrun() + " sweep status " + spec +
                                 " --profile local --watch --interval 0.5");
  EXPECT_EQ(watch.exit_code, 0) << watch.output;
  EXPECT_NE(watch.output.find("it queues the next rung 2 once it runs"), std::string::npos) << watch.output;
  EXPECT_NE(watch.output.find("the search is decided"), std::string::npos) << watch.output;
  // The runs are done when the watch ends; their jobs leave the queue once Slurm has ended
  // them (an element can still be COMPLETING then: seen in CI at e7bf7c4, whose faster
  // `sweep status` ends the watch sooner after the last result is written).
  auto staged_queue = [] {
    return trim(test::run_command("squeue -h -n aim-staged-search,aim-staged-finetune,aim-staged+rounds -o %i").output);
  };
  test::wait_until([&] { return staged_queue().empty(); }, 60, 1.0);
  EXPECT_EQ(staged_queue(), "");
  // The watch ended only after everything: the search decided, each fine-tuning done from its winner.
  const auto s = load_sweep(spec, {});
  ASSERT_TRUE(s.search && s.search->finished);
  const auto fine = s.stage_runs("finetune");
  ASSERT_EQ(fine.size(), 2u);
  for (const auto* f : fine) {
    EXPECT_EQ(inspect_run(RunPaths{s.run_dir(f->run_id)}).state, RunState::Done) << f->run_id;
    bool winner = false;
    for (const auto& g : s.search->groups) winner = winner || g.winner.run_id == f->upstream;
    EXPECT_TRUE(winner) << f->upstream;
  }
}

// What the Slurm path adds is checked before anything is queued: a bad search through
// `sweep submit` is a config error with file:line (exit 2), nothing written or queued.
TEST(SlurmSearchInput, ABadSearchIsRefusedBySubmitBeforeAnythingIsQueued) {
  test::TempDir dir;
  auto text = read_text(search_spec(dir, "bad"));
  text.replace(text.find("rungs: [1, 2]"), 13, "rungs: [2, 1]");
  const auto spec = dir.write("bad.yaml", text);
  auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:12: sweep.search.rungs: the rungs must increase: 1 after 2"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

// An element preempted inside its rung (USR2, as before a time limit) checkpoints, requeues
// itself with the same budget, resumes and stops at its rung: its rung result is the
// validation of a straight run at that epoch, and no epoch is trained twice.
TEST_F(SlurmSearch, AnElementPreemptedInsideItsRungResumesAndStopsAtItsRung) {
  test::TempDir dir;
  auto text = test::small_run_config(dir.file("out"), 3);
  text.replace(text.find("log_every: 0}"), 13, "log_every: 0.1}");  // a progress line every few steps
  const auto spec = dir.write("s.yaml", text +
                                            "sweep:\n  name: preempted\n  grid:\n    method: [{name: vanilla}]\n"
                                            "  search:\n    axes: {train.lr: [0.1, 0.03]}\n    rungs: [2, 3]\n"
                                            "    eta: 2\n    metric: val acc\n");
  auto sweep = load_sweep(spec, {});
  const SweepRun run = sweep.runs[0];  // a copy: `sweep` is loaded again below
  const auto run_dir = sweep.run_dir(run.run_id);
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  const auto at = submit.output.find("submitted job array ");
  ASSERT_NE(at, std::string::npos) << submit.output;
  const std::string job = submit.output.substr(at + 20, submit.output.find(' ', at + 20) - at - 20);
  auto past_epoch_1 = [&] {
    const auto log = fs::exists(run_dir + "/train.log") ? read_text(run_dir + "/train.log") : "";
    const auto done = log.find("epoch 1/3 done");
    return done != std::string::npos && log.find("/3 step ", done) != std::string::npos;
  };
  for (int i = 0; i < 1200 && !past_epoch_1(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(past_epoch_1()) << "no step after the first epoch in 60 s";
  auto signal = test::run_command("scancel --signal=USR2 " + job + "_0");
  ASSERT_EQ(signal.exit_code, 0) << signal.output;
  test::wait_for_status(spec, "; finished", 600);
  const auto log = read_text(dir.file("out/preempted/slurm/" + job + "_0.out"));
  EXPECT_NE(log.find("requeueing " + job + "_0"), std::string::npos) << log;
  EXPECT_NE(log.find("(restart 1)"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  // The same run trained straight to its 3 epochs here: rung 2 is its validation at epoch 2.
  auto straight = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + run_dir +
                                    "/config.yaml --run-dir " + dir.file("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  const auto curve = results::read_run_file(dir.file("straight/result.h5")).eval_curves.at("val");
  const auto rung = read_rung_result(RunPaths{run_dir}, 2, run.run_id);
  ASSERT_TRUE(rung);
  ASSERT_GE(curve.epoch.size(), 2u);
  EXPECT_EQ(curve.epoch[1], 2);
  EXPECT_EQ(rung->metrics.at("val acc"), curve.accuracy[1]);
  sweep = load_sweep(spec, {});
  const auto& g = sweep.search->groups.at(0);
  const bool winner = g.winner.run_id == run.run_id;
  if (winner) test::expect_same_results(run_dir + "/result.h5", dir.file("straight/result.h5"));
  const auto train_log = read_text(run_dir + "/train.log");
  for (int e = 1; e <= 3; ++e) {
    size_t count = 0;
    const std::string done = "epoch " + std::to_string(e) + "/3 done";
    for (size_t p = train_log.find(done); p != std::string::npos; p = train_log.find(done, p + 1)) ++count;
    EXPECT_EQ(count, e <= 2 || winner ? 1u : 0u) << done;
  }
}

// The element's side of the budget list, run through bash with a stand-in srun: element i
// trains its run to the epoch on line i+1 (`--stop-after-epoch E`), to its end for 0, and
// a line that is not a whole number ends the element (exit 2) before anything trains.
TEST(SlurmSearchScript, EachElementTrainsToTheBudgetOnItsLine) {
  test::TempDir dir;
  const auto stub = test::write_stub(dir, "srun", "printf '%s\\n' \"$*\" >> " + dir.file("srun.args") + "\n");
  auto element = [&](const std::string& spec, const std::string& scripts, int index) {
    auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local --dry-run --script-dir " +
                               dir.file(scripts));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string script, budget;
    for (const auto& e : fs::directory_iterator(dir.file(scripts))) {
      const auto name = e.path().filename().string();
      if (name.rfind("array-", 0) == 0) script = e.path().string();
      if (name.rfind("budget-", 0) == 0) budget = e.path().string();
    }
    fs::remove(dir.file("srun.args"));
    auto run =
        test::run_command("SLURM_ARRAY_TASK_ID=" + std::to_string(index) + " PATH=" + stub + ":$PATH bash " + script);
    return std::make_tuple(run, budget, fs::exists(dir.file("srun.args")) ? read_text(dir.file("srun.args")) : "");
  };
  const auto spec = search_spec(dir, "budgets");
  auto [run, budget, args] = element(spec, "rung1", 2);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(args.find(" train "), std::string::npos) << args;
  EXPECT_NE(args.find(" --stop-after-epoch 1\n"), std::string::npos) << args;
  // A search of one rung: the rung is the run's end, budget 0, no --stop-after-epoch.
  auto text = read_text(spec);
  text.replace(text.find("rungs: [1, 2]"), 13, "rungs: [2]");
  std::tie(run, budget, args) = element(dir.write("whole.yaml", text), "whole", 0);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(read_text(budget), "0\n0\n0\n0\n0\n0\n");
  EXPECT_NE(args.find(" train "), std::string::npos) << args;
  EXPECT_EQ(args.find("--stop-after-epoch"), std::string::npos) << args;
  // A damaged line: nothing trains.
  write_text_atomic(budget, "0\n1x\n0\n0\n0\n0\n");
  fs::remove(dir.file("srun.args"));
  auto damaged = test::run_command("SLURM_ARRAY_TASK_ID=1 PATH=" + stub + ":$PATH bash " +
                                   fs::path(budget).parent_path().string() + "/array-*.sbatch");
  EXPECT_EQ(damaged.exit_code, 2) << damaged.output;
  EXPECT_NE(damaged.output.find("line 2 of " + budget + " is not an epoch: '1x'"), std::string::npos) << damaged.output;
  EXPECT_FALSE(fs::exists(dir.file("srun.args")));
}
