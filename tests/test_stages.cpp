// Sweeps in stages (docs/sweeps.md, "Stages"), locally: the file's syntax and its errors,
// matching each downstream run with its upstream run, ids that follow the pretraining,
// plan output, a failed upstream run, and an interrupted staged sweep resumed.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"
#include "sweep_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

// The tests' small run with 1000 training images.
std::string small(const std::string& out, int epochs) {
  auto text = test::small_run_config(out, epochs);
  return text.replace(text.find("train_size: 3000"), 16, "train_size: 1000");
}

// A pretrain stage and a finetune stage that starts from it, over a small run.
std::string two_stages(const std::string& out, const std::string& pre, const std::string& fine, int epochs = 1) {
  return small(out, epochs) + "sweep:\n  name: staged\n  stages:\n    - name: pretrain\n" + pre +
         "    - name: finetune\n" + "      init_from: pretrain\n" + fine;
}

// The ConfigError of loading `text` as a sweep file (empty when it loads).
std::string load_error(const test::TempDir& dir, const std::string& text) {
  try {
    load_sweep(dir.write("s.yaml", text), {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Each finetune run starts from the pretrain run with its seed; its config names that run,
// and plan shows the stage and the upstream id of every run.
TEST(StagedSweep, EachDownstreamRunTakesTheUpstreamRunWithItsSeed) {
  test::TempDir dir;
  auto spec =
      dir.write("s.yaml", two_stages(dir.file("out"), "      set: {train.lr: 0.05}\n      grid: {seed: [0, 1]}\n",
                                     "      grid: {train.lr: [0.01, 0.02], seed: [0, 1]}\n"));
  auto s = load_sweep(spec, {});
  ASSERT_EQ(s.stages.size(), 2u);
  auto pre = s.stage_runs("pretrain"), fine = s.stage_runs("finetune");
  ASSERT_EQ(pre.size(), 2u);
  ASSERT_EQ(fine.size(), 4u);
  EXPECT_EQ(s.runs.front().stage, "pretrain");  // stage by stage
  for (const auto* f : fine) {
    const SweepRun* up = s.find_run(f->upstream);
    ASSERT_NE(up, nullptr) << f->upstream;
    EXPECT_EQ(up->stage, "pretrain");
    EXPECT_EQ(test::axis(*up, "seed"), test::axis(*f, "seed"));
    EXPECT_EQ(f->config.get_string("model.init_from"), f->upstream);
  }
  for (const auto* p : pre) {
    EXPECT_TRUE(p->upstream.empty());
    EXPECT_DOUBLE_EQ(p->config.get_float("train.lr"), 0.05);  // the stage's own setting
  }
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("stage"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("upstream"), std::string::npos) << plan.output;
  for (const auto* f : fine) {
    auto line = plan.output.substr(plan.output.find(f->run_id));
    line = line.substr(0, line.find('\n'));
    EXPECT_NE(line.find("finetune"), std::string::npos) << line;
    EXPECT_NE(line.find(f->upstream), std::string::npos) << line;
  }
  EXPECT_NE(plan.output.find("6 pending"), std::string::npos) << plan.output;
}

// Changing the pretraining changes every fine-tuned id; a first stage has the ids the same
// runs have in a sweep without stages (so such runs are shared, as between any sweeps).
TEST(StagedSweep, FinetunedIdsChangeWithThePretraining) {
  test::TempDir dir;
  const std::string fine = "      grid: {seed: [0, 1]}\n";
  auto a = load_sweep(dir.write("a.yaml", two_stages(dir.file("out"), "      grid: {seed: [0, 1]}\n", fine)), {});
  auto b = load_sweep(
      dir.write("b.yaml",
                two_stages(dir.file("out"), "      set: {train.epochs: 2}\n      grid: {seed: [0, 1]}\n", fine)),
      {});
  auto fa = a.stage_runs("finetune"), fb = b.stage_runs("finetune");
  ASSERT_EQ(fa.size(), 2u);
  ASSERT_EQ(fb.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NE(fa[i]->upstream, fb[i]->upstream);
    EXPECT_NE(fa[i]->run_id, fb[i]->run_id);
    // The fine-tuning settings themselves are the same: only the upstream id differs.
    EXPECT_EQ(fa[i]->config.get_int("train.epochs"), fb[i]->config.get_int("train.epochs"));
  }
  auto flat =
      load_sweep(dir.write("c.yaml", small(dir.file("out"), 1) + "sweep:\n  name: flat\n  grid: {seed: [0, 1]}\n"), {});
  ASSERT_EQ(flat.runs.size(), 2u);
  EXPECT_EQ(flat.runs[0].run_id, a.stage_runs("pretrain")[0]->run_id);
  EXPECT_EQ(flat.runs[1].run_id, a.stage_runs("pretrain")[1]->run_id);
  EXPECT_TRUE(flat.stages.empty());
  EXPECT_TRUE(flat.runs[0].stage.empty());
}

// No upstream run with the run's seed, or several: a config error naming the stage, the
// run's axis values and the candidates; exit code 2 from the command.
TEST(StagedSweep, MissingOrAmbiguousUpstreamIsAConfigError) {
  test::TempDir dir;
  auto missing =
      load_error(dir, two_stages(dir.file("out"), "      grid: {seed: [0, 1]}\n", "      grid: {seed: [0, 5]}\n"));
  EXPECT_NE(missing.find("stage finetune"), std::string::npos) << missing;
  EXPECT_NE(missing.find("seed=5"), std::string::npos) << missing;
  EXPECT_NE(missing.find("matches no run of stage pretrain (matched on seed)"), std::string::npos) << missing;
  EXPECT_NE(missing.find("seed=1)"), std::string::npos) << missing;  // a candidate
  EXPECT_NE(missing.find("s.yaml:"), std::string::npos) << missing;
  auto ambiguous = load_error(
      dir, two_stages(dir.file("out"), "      grid: {seed: [0], train.lr: [0.1, 0.2]}\n", "      grid: {seed: [0]}\n"));
  EXPECT_NE(ambiguous.find("matches 2 runs of stage pretrain"), std::string::npos) << ambiguous;
  EXPECT_NE(ambiguous.find("train.lr=0.1"), std::string::npos) << ambiguous;
  EXPECT_NE(ambiguous.find("train.lr=0.2"), std::string::npos) << ambiguous;
  auto cli = test::run_command(test::aimrun() + " sweep plan " + dir.file("s.yaml"));
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  // An upstream stage of one run: every downstream run takes it, whatever its axes.
  auto one = load_sweep(
      dir.write("one.yaml", two_stages(dir.file("out"), "      set: {seed: 9}\n", "      grid: {seed: [0, 1, 2]}\n")),
      {});
  auto fine = one.stage_runs("finetune");
  ASSERT_EQ(fine.size(), 3u);
  for (const auto* f : fine) EXPECT_EQ(f->upstream, one.stage_runs("pretrain")[0]->run_id);
}

// What a stage list may not say: each a config error at the line, before anything runs.
TEST(StagedSweep, BadStagesAreConfigErrors) {
  test::TempDir dir;
  const std::string out = dir.file("out"), base = test::small_run_config(out, 1) + "sweep:\n  stages:\n";
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {base + "    - {name: a}\n    - {name: b, init_from: pretrian}\n",
       "s.yaml:9: sweep.stages[b].init_from: no stage 'pretrian'"},
      {base + "    - {name: pretrain}\n    - {name: b, init_from: pretrian}\n", "did you mean 'pretrain'?"},
      {base + "    - {name: a, init_from: b}\n    - {name: b}\n", "no stage 'b' before this one"},
      {base + "    - {name: a, init_from: a}\n", "a stage cannot start from itself"},
      {base + "    - {name: a}\n    - {name: a}\n", "s.yaml:9: sweep.stages[1].name: a stage named 'a' comes earlier"},
      {base + "    - {name: \"../x\"}\n", "sweep.stages[0].name:"},
      {base + "    - {grid: {seed: [0]}}\n", "sweep.stages[0].name: every stage needs a name"},
      {base + "    - {name: a}\n    - {name: b, init_from: a, set: {model.init_from: abc}}\n",
       "sweep.stages[b].init_from: this stage starts from stage a, but model.init_from is set too ("},
      {base + "    - {name: a, grids: {seed: [0]}}\n", "sweep.stages[a].grids: unknown key (did you mean 'grid'?)"},
      {base + "    - {name: a, set: [1]}\n", "sweep.stages[a].set: expected a mapping"},
      {base.substr(0, base.size() - 10) + "  grid: {seed: [0]}\n  stages:\n    - {name: a}\n",
       "sweep.grid: a sweep in stages has only name and stages"},
      {base.substr(0, base.size() - 10) + "  stages: []\n", "sweep.stages: expected a non-empty list"},
  };
  for (const auto& c : cases) {
    auto msg = load_error(dir, c.text);
    EXPECT_NE(msg.find(c.expected), std::string::npos) << "expected: " << c.expected << "\ngot: " << msg << "\nfor:\n"
                                                       << c.text;
  }
  auto cli = test::run_command(test::aimrun() + " sweep run " + dir.write("s.yaml", cases[0].text));
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_FALSE(fs::exists(out));  // nothing ran, no folder was made
}

// A pretrain run that fails marks the run that starts from it failed, with the reason; the
// others train. Once the upstream run trains, the next `sweep run` trains the downstream run.
TEST(StagedSweep, FailedUpstreamMarksItsDownstreamRunAndTheNextRunRetriesIt) {
  test::TempDir dir;
  const std::string real = "/usr/share/datasets/fashion-mnist", copy = dir.file("fmnist");
  fs::create_directories(copy);
  for (const std::string f : {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"})
    fs::create_symlink(real + "/" + f, copy + "/" + f);
  dir.write("fmnist/train-images-idx3-ubyte.gz", "not an IDX file");  // damaged: generation fails
  // The damaged run has a dataset cache of its own: the shared one may hold a dataset of its
  // sizes made from good data, and must not get one from this test's data.
  const std::string cache = dir.file("cache");
  const std::string pre = "      zip:\n        - {seed: [0, 1], dataset.train_size: [1000, 1001], dataset.source: [" +
                          real + ", " + copy + "], dataset.cache_dir: [~, " + cache + "]}\n";
  auto spec = dir.write(
      "s.yaml",
      two_stages(dir.file("out"), pre, "      set: {dataset.source: " + real + "}\n      grid: {seed: [0, 1]}\n"));
  auto s = load_sweep(spec, {});
  const auto* bad = s.stage_runs("pretrain")[1];
  const auto* blocked = s.stage_runs("finetune")[1];
  ASSERT_EQ(blocked->upstream, bad->run_id);
  auto first = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_NE(first.output.find("2 trained, 0 skipped, 2 failed"), std::string::npos) << first.output;
  auto failed = read_text(s.run_dir(blocked->run_id) + "/FAILED");
  EXPECT_EQ(failed.rfind("upstream " + bad->run_id + " failed: ", 0), 0u) << failed;
  EXPECT_NE(failed.find("bad magic number"), std::string::npos) << failed;
  EXPECT_FALSE(fs::exists(s.run_dir(blocked->run_id) + "/result.h5"));
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_NE(plan.output.find("2 done, 2 failed"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("upstream " + bad->run_id + " failed"), std::string::npos) << plan.output;
  // While the upstream run is still failed, the downstream run is not trained.
  auto again = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_NE(again.output.find("0 trained, 2 skipped, 2 failed"), std::string::npos) << again.output;
  // The data repaired (the same path: the same ids), both train.
  fs::remove(copy + "/train-images-idx3-ubyte.gz");
  fs::create_symlink(real + "/train-images-idx3-ubyte.gz", copy + "/train-images-idx3-ubyte.gz");
  auto fixed = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_NE(fixed.output.find("2 trained, 2 skipped, 0 failed"), std::string::npos) << fixed.output;
  EXPECT_FALSE(fs::exists(s.run_dir(blocked->run_id) + "/FAILED"));
}

// SIGTERM to the process group (as a batch system or `timeout` stops a job) while the
// pretrain run trains: it checkpoints and stops (the TERM it gets, and the USR2 the sweep
// passes on: one stop), the sweep waits for it and exits 75, nothing downstream is touched;
// the next `sweep run` resumes it and trains the rest.
TEST(StagedSweep, InterruptedWhilePretrainingResumesAndFinishes) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", two_stages(dir.file("out"), "      set: {train.epochs: 3}\n      grid: {seed: [4]}\n",
                                             "      grid: {seed: [4]}\n"));
  auto s = load_sweep(spec, {});
  const std::string pre = s.run_dir(s.stage_runs("pretrain")[0]->run_id);
  const std::string fine = s.run_dir(s.stage_runs("finetune")[0]->run_id);
  auto r = test::run_command("setsid sh -c 'OMP_NUM_THREADS=1 exec " + test::aimrun() + " sweep run " + spec + " > " +
                             dir.file("log") + " 2>&1' & pid=$!; for i in $(seq 1200); do [ -f " + pre +
                             "/checkpoint.pt ] && break; sleep 0.05; done; sleep 0.3; kill -TERM -$pid; wait $pid; "
                             "echo rc=$?");
  EXPECT_NE(r.output.find("rc=75"), std::string::npos) << r.output << read_text(dir.file("log"));
  EXPECT_NE(read_text(dir.file("log")).find("sweep run stopped by SIGTERM"), std::string::npos)
      << read_text(dir.file("log"));
  EXPECT_FALSE(fs::exists(pre + "/result.h5"));
  EXPECT_TRUE(fs::exists(pre + "/checkpoint.pt"));
  EXPECT_FALSE(fs::exists(fine + "/FAILED"));
  EXPECT_FALSE(fs::exists(fine + "/result.h5"));
  // Again, and stopped again, now by SIGINT, which a background `sweep run` ignores (as a
  // script's background job does) but its run does not: the run checkpoints and exits 75,
  // and the sweep ends after it instead of marking the fine-tune run failed.
  auto again = test::run_command(
      "setsid sh -c 'OMP_NUM_THREADS=1 exec " + test::aimrun() + " sweep run " + spec + " > " + dir.file("log2") +
      " 2>&1' & pid=$!; for i in $(seq 1200); do grep -q 'resuming from' " + dir.file("log2") +
      " 2>/dev/null && break; sleep 0.05; done; kill -INT -$pid; wait $pid; "
      "echo rc=$?");
  const auto log2 = read_text(dir.file("log2"));
  if (!fs::exists(pre + "/result.h5")) {  // else the run ended before the signal came
    EXPECT_NE(again.output.find("rc=1"), std::string::npos) << again.output << log2;
    EXPECT_NE(log2.find("stopped by a signal"), std::string::npos) << log2;
    EXPECT_FALSE(fs::exists(fine + "/FAILED"));
    EXPECT_FALSE(fs::exists(fine + "/sessions.jsonl"));
  }
  auto resumed = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find(" 0 failed"), std::string::npos) << resumed.output;
  EXPECT_TRUE(fs::exists(pre + "/result.h5"));
  EXPECT_TRUE(fs::exists(fine + "/result.h5"));
  // It started from the pretrain run's weights (runner/init_from.h logs what it took).
  EXPECT_NE(
      read_text(fine + "/train.log").find("initialised from the upstream run " + s.stage_runs("pretrain")[0]->run_id),
      std::string::npos)
      << read_text(fine + "/train.log");
}

// Adaptive seeds in the last stage (docs/sweeps.md, "Adaptive seeds in the last stage"):
// round 1 is seeds 0..start-1 of each group of the last stage with the earlier runs they start
// from (each seed's pretraining), nothing of a later seed; `sweep run` plays the rounds, and a
// seed added later brings its own pretraining, trained before its fine-tuning.
TEST(StagedSweep, AdaptiveSeedsInTheLastStageTrainEachSeedsChainAsTheRoundsNeedIt) {
  test::TempDir dir;
  const auto spec = dir.write(
      "s.yaml", two_stages(dir.file("out"), "      grid: {seed: [0, 1, 2]}\n",
                           "      grid: {method: [{name: vanilla}, {name: aim}]}\n"
                           "      seeds: {start: 2, max: 3, margin: 0, decide: ['aim - vanilla: val acc']}\n"));
  auto s = load_sweep(spec, {});
  ASSERT_TRUE(s.seeds);
  EXPECT_EQ(s.seeds->stage, "finetune");
  EXPECT_EQ(s.seeds->all_runs.size(), 6u);     // 2 methods x max 3 seeds
  EXPECT_EQ(s.seeds->earlier.size(), 3u);      // the pretraining of each seed
  std::map<std::string, const SweepRun*> pre;  // seed -> its pretraining run
  for (const auto& r : s.seeds->earlier) pre[test::axis(r, "seed")] = &r;
  ASSERT_EQ(pre.size(), 3u);
  std::multiset<std::string> round1;
  for (const auto& r : s.runs) round1.insert(r.stage + " " + test::axis(r, "seed"));
  EXPECT_EQ(round1, (std::multiset<std::string>{"pretrain 0", "pretrain 1", "finetune 0", "finetune 0", "finetune 1",
                                                "finetune 1"}));
  EXPECT_EQ(s.runs.front().stage, "pretrain");  // stage by stage
  for (const auto& r : s.runs)
    if (r.stage == "finetune") {
      EXPECT_EQ(r.upstream, pre.at(test::axis(r, "seed"))->run_id) << r.run_id;
    }
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("adaptive seeds"), std::string::npos) << plan.output;
  EXPECT_EQ(plan.output.find(pre.at("2")->run_id), std::string::npos) << plan.output;  // not in round 1
  // Train: round after round until decided or max.
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  s = load_sweep(spec, {});
  ASSERT_TRUE(s.seeds->finished) << describe_seed_rounds(*s.seeds);
  size_t n_max = 0;
  for (const auto& g : s.seeds->groups) n_max = std::max(n_max, g.n);
  for (const auto& run : s.runs) {
    const auto st = inspect_run_folder(RunPaths{s.run_dir(run.run_id)}, ResultDepth::Full);
    ASSERT_EQ(st.state, RunState::Done) << run.stage << " " << run.run_id << ": " << st.detail;
    if (run.stage == "finetune") {  // trained from its own seed's pretraining
      EXPECT_EQ(run.upstream, pre.at(test::axis(run, "seed"))->run_id);
      EXPECT_EQ(st.record.text.at("init_from_run"), run.upstream);
    }
  }
  // The pretraining of seed 2 is trained exactly when a round gave some group seed 2.
  EXPECT_EQ(fs::exists(s.run_dir(pre.at("2")->run_id)), n_max == 3) << describe_seed_rounds(*s.seeds);
  size_t active = n_max;  // the pretraining of each seed some group has, and each group's seeds
  for (const auto& g : s.seeds->groups) active += g.n;
  EXPECT_EQ(s.runs.size(), active);
}

// The adaptive seeds of a sweep in stages: the last stage's only, their errors naming its key.
TEST(StagedSweep, AdaptiveSeedsInStagesBadInputNamesTheStagesKey) {
  test::TempDir dir;
  const std::string out = dir.file("out");
  const std::string seeds = "      seeds: {start: 2, max: 3, decide: ['aim - vanilla: val acc']}\n";
  const std::string methods = "      grid: {method: [{name: vanilla}, {name: aim}]}\n";
  // In a stage that is not the last.
  auto e = load_error(dir, two_stages(out, methods + seeds, methods));
  EXPECT_NE(e.find("s.yaml:11: sweep.stages[pretrain].seeds: adaptive seeds belong to the last stage of a sweep in "
                   "stages (stage finetune comes after this one)"),
            std::string::npos)
      << e;
  // A seed axis beside them; max below start; a method no run of the stage has.
  e = load_error(dir,
                 two_stages(out, "", "      grid: {seed: [0, 1], method: [{name: vanilla}, {name: aim}]}\n" + seeds));
  EXPECT_NE(e.find("sweep: a seed axis beside sweep.stages[finetune].seeds"), std::string::npos) << e;
  e = load_error(
      dir, two_stages(out, "", methods + "      seeds: {start: 3, max: 2, decide: ['aim - vanilla: val acc']}\n"));
  EXPECT_NE(e.find("s.yaml:13: sweep.stages[finetune].seeds.max: 2 is below start (3)"), std::string::npos) << e;
  e = load_error(dir, two_stages(out, "",
                                 methods + "      seeds: {start: 2, max: 3, decide: ['bottom_up - vanilla: val "
                                           "acc']}\n"));
  EXPECT_NE(e.find("s.yaml:13: sweep.stages[finetune].seeds.decide: 'bottom_up - vanilla: val acc': no run of the "
                   "sweep has method 'bottom_up'"),
            std::string::npos)
      << e;
  e = load_error(dir,
                 two_stages(out, "", methods + "      seeds: {start: 2, max: 3, decide: ['aim - vanilla: val x']}\n"));
  EXPECT_NE(e.find("s.yaml:13: sweep.stages[finetune].seeds.decide: 'aim - vanilla: val x': unknown metric"),
            std::string::npos)
      << e;
  e = load_error(dir, two_stages(out, "", methods + "      seeds: {start: 2, max: 3, decid: []}\n"));
  EXPECT_NE(e.find("s.yaml:13: sweep.stages[finetune].seeds.decid: unknown key (did you mean 'decide'?)"),
            std::string::npos)
      << e;
}
