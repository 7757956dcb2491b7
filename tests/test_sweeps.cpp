// Sweeps run locally: skip what is done, go on after a failure, share runs between sweeps,
// report states; a run killed (SIGKILL) or stopped (SIGUSR2) resumes and ends with exactly
// the numbers of an uninterrupted twin.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/exit_codes.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "results/run_file.h"
#include "run_compare.h"
#include "runner/sweep/sweep_spec.h"
#include "runner/sweep/watch.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

std::string small_run(const std::string& out, int epochs = 3) { return test::small_run_config(out, epochs); }

// The same with a third of the training images: for the tests of which runs a sweep trains,
// skips, links and unlinks (not of what a run learns).
std::string smaller_run(const std::string& out) {
  auto text = small_run(out, 1);
  return text.replace(text.find("train_size: 3000"), 16, "train_size: 1000");
}

// `aimrun train cfg` into `run_dir`, on one thread.
test::CommandResult train_into(const std::string& cfg, const std::string& run_dir) {
  return test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " + run_dir);
}

// The interrupted <dir>/run trained again: it resumes, and ends with the results of the
// uninterrupted <dir>/twin, bit for bit.
void expect_resumes_like_the_twin(const test::TempDir& dir, const std::string& cfg) {
  auto resumed = train_into(cfg, dir.file("run"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  test::expect_same_results(dir.file("run/result.h5"), dir.file("twin/result.h5"));
}

// The interrupted runs: three epochs of 16 steps, a progress line every 0.2 s.
std::string resumed_run(const std::string& out) {
  auto text = test::small_run_config(out, 3, 0, 1000);
  return text.replace(text.find("log_every: 0"), 12, "log_every: 0.2");
}

// Trains cfg into <dir>/run in the background (output in <dir>/log), sends `signal` once the
// log shows a step of the second epoch (the first epoch's checkpoint written, the second
// under way), and waits; the output ends with "exit=<code>".
test::CommandResult signal_in_second_epoch(const test::TempDir& dir, const std::string& cfg,
                                           const std::string& signal) {
  return test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " + dir.file("run") +
                           " > " + dir.file("log") +
                           " 2>&1 & pid=$!; for i in $(seq 3000); do grep -q 'epoch 2/3 step ' " + dir.file("log") +
                           " && break; sleep 0.02; done; kill " + signal + " $pid; wait $pid; echo exit=$?");
}

}  // namespace

// A copy of Fashion-MNIST whose training images are damaged but whose labels are fine:
// validation (which reads only the labels) passes, generating the data fails.
std::string damaged_fashion_mnist(const test::TempDir& dir) {
  const std::string real = "/usr/share/datasets/fashion-mnist", copy = dir.file("damaged-fmnist");
  fs::create_directories(copy);
  for (const std::string f : {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"})
    fs::create_symlink(real + "/" + f, copy + "/" + f);
  dir.write("damaged-fmnist/train-images-idx3-ubyte.gz", "not an IDX file");
  return copy;
}

TEST(Sweeps, RunSkipsDoneGoesOnAfterFailuresAndReportsThem) {
  test::TempDir dir;
  // Seed 1 reads damaged images: it fails when it starts, not at validation (only reading
  // the images tells), and must not stop the others. (A size the data cannot hold is a
  // validation error now: test_hostile_config.)
  const std::string damaged = damaged_fashion_mnist(dir), real = "/usr/share/datasets/fashion-mnist";
  auto spec = dir.write("s.yaml", small_run(dir.file("out"), 1) +
                                      "sweep:\n  name: mix\n  zip:\n"
                                      "    - {seed: [0, 1, 2], dataset.train_size: [1000, 1001, 1000], dataset.source: [" +
                                      real + ", " + damaged + ", " + real + "]}\n");
  auto first = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_NE(first.output.find("2 trained, 0 skipped, 1 failed"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("bad magic number"), std::string::npos) << first.output;
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_NE(plan.output.find("2 done, 1 failed"), std::string::npos) << plan.output;
  // Again: the done runs are skipped, the failed one is retried (and fails again).
  auto second = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_NE(second.output.find("0 trained, 2 skipped, 1 failed"), std::string::npos) << second.output;
  // --fail-fast stops at the first failure.
  auto spec2 = dir.write("t.yaml", small_run(dir.file("out"), 1) +
                                       "sweep:\n  name: ff\n  zip:\n"
                                       "    - {seed: [5, 6], dataset.train_size: [1001, 1000], dataset.source: [" +
                                       damaged + ", " + real + "]}\n");
  auto ff = test::run_command(test::aimrun() + " sweep run --fail-fast " + spec2);
  EXPECT_NE(ff.output.find("0 trained, 0 skipped, 1 failed"), std::string::npos) << ff.output;
}

TEST(Sweeps, TwoSweepsShareARunAndItsResult) {
  test::TempDir dir;
  auto a = dir.write("a.yaml", smaller_run(dir.file("out")) + "sweep:\n  name: first\n  grid:\n    seed: [0, 1]\n");
  auto b = dir.write("b.yaml", smaller_run(dir.file("out")) + "sweep:\n  name: second\n  grid:\n    seed: [1, 2]\n");
  ASSERT_EQ(test::run_command(test::aimrun() + " sweep run " + a).exit_code, 0);
  auto plan = test::run_command(test::aimrun() + " sweep plan " + b);
  EXPECT_NE(plan.output.find("1 done, 1 pending"), std::string::npos) << plan.output;
  auto run = test::run_command(test::aimrun() + " sweep run " + b);
  EXPECT_NE(run.output.find("1 trained, 1 skipped, 0 failed"), std::string::npos) << run.output;
  // Both sweep folders link the shared run; the report of each sees its two runs.
  auto sweep_b = load_sweep(b, {});
  for (const auto& r : sweep_b.runs) EXPECT_TRUE(fs::exists(dir.file("out/second/" + r.run_id + "/result.h5")));
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/second"));
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("| 2 |"), std::string::npos) << report.output;
}

// The sweep file changed (a seed dropped, one added): the next `sweep run` unlinks the run
// the sweep no longer has, with a warning naming it, and keeps its folder and result, so the
// sweep folder and its report are the sweep as it is now.
TEST(Sweeps, RunsNoLongerInTheSweepFileAreUnlinkedNotDeleted) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", smaller_run(dir.file("out")) + "sweep:\n  name: edit\n  grid:\n    seed: [0, 1]\n");
  ASSERT_EQ(test::run_command(test::aimrun() + " sweep run " + spec).exit_code, 0);
  const auto before = load_sweep(spec, {});
  const std::string dropped = before.runs[0].run_id, kept = before.runs[1].run_id;
  dir.write("out/edit/notes.txt", "a user's file");
  dir.write("out/elsewhere/x.txt", "not a run");
  fs::create_directory_symlink("../elsewhere", dir.file("out/edit/" + std::string(12, 'a')));  // not ../runs/<name>
  spec = dir.write("s.yaml", smaller_run(dir.file("out")) + "sweep:\n  name: edit\n  grid:\n    seed: [1, 2]\n");
  auto again = test::run_command(test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("1 trained, 1 skipped, 0 failed"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("1 run(s) no longer in " + spec + " unlinked"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find(dropped), std::string::npos) << again.output;
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir.file("out/edit/" + dropped))));
  EXPECT_TRUE(fs::exists(dir.file("out/runs/" + dropped + "/result.h5")));  // nothing lost
  EXPECT_TRUE(fs::exists(dir.file("out/edit/" + kept + "/result.h5")));
  EXPECT_TRUE(fs::exists(dir.file("out/edit/notes.txt")));
  EXPECT_TRUE(fs::is_symlink(dir.file("out/edit/" + std::string(12, 'a'))));
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/edit"));
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("| 2 |"), std::string::npos) << report.output;
}

TEST(Sweeps, PlanShowsRunningWhileAProcessHoldsTheRun) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", small_run(dir.file("out"), 1) + "sweep:\n  name: lock\n  grid:\n    seed: [3]\n");
  auto sweep = load_sweep(spec, {});
  auto run_dir = sweep.run_dir(sweep.runs[0].run_id);
  fs::create_directories(run_dir);
  FileLock lock;
  ASSERT_TRUE(lock.try_lock(run_dir + "/.lock"));
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_NE(plan.output.find("1 running"), std::string::npos) << plan.output;
  // A second trainer refuses the run instead of writing into it too.
  auto train = test::run_command(test::aimrun() + " train " + dir.write("c.yaml", small_run(dir.file("out"), 1) + "seed: 3\n"));
  EXPECT_NE(train.exit_code, 0);
  EXPECT_NE(train.output.find("already being trained by another process"), std::string::npos) << train.output;
}

TEST(Resume, SigkillMidEpochResumesFromTheLastCheckpointWithIdenticalResults) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", resumed_run(dir.file("out")));
  // The twin, uninterrupted.
  ASSERT_EQ(train_into(cfg, dir.file("twin")).exit_code, 0);
  // Killed with SIGKILL in the second epoch, the first one's checkpoint written.
  auto killed = signal_in_second_epoch(dir, cfg, "-9");
  EXPECT_NE(killed.output.find("exit=137"), std::string::npos) << killed.output;
  EXPECT_FALSE(fs::exists(dir.file("run/result.h5")));
  ASSERT_TRUE(fs::exists(dir.file("run/checkpoint.pt")));
  expect_resumes_like_the_twin(dir, cfg);
}

TEST(Resume, Sigusr2CheckpointsMidEpochExits75AndResumesWithIdenticalResults) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", resumed_run(dir.file("out")));
  ASSERT_EQ(train_into(cfg, dir.file("twin")).exit_code, 0);
  // USR2 in the second epoch: the stop lands mid-epoch, at a step.
  auto stopped = signal_in_second_epoch(dir, cfg, "-USR2");
  EXPECT_NE(stopped.output.find("exit=75"), std::string::npos) << stopped.output << read_text(dir.file("log"));
  const auto log = read_text(dir.file("log"));
  const auto at = log.find("checkpoint written at epoch ");
  ASSERT_NE(at, std::string::npos) << log;
  int epoch = 0, step = 0;
  ASSERT_EQ(std::sscanf(log.c_str() + at, "checkpoint written at epoch %d step %d", &epoch, &step), 2) << log;
  EXPECT_GT(step, 0) << "the stop landed at an epoch's edge, not mid-epoch:\n" << log;
  expect_resumes_like_the_twin(dir, cfg);
}

// A stop sent to `sweep run` itself (kill, timeout, a batch system's TERM) stops the run it
// is training, with a checkpoint, and starts no other: the sweep waits for its run and exits
// 75. Before, the sweep ended at once by the signal and left its `aimrun train` training on,
// orphaned, holding the run's lock. A second `sweep run` resumes the run, which ends with
// the numbers of an uninterrupted twin.
TEST(Resume, TermToASweepRunStopsItsRunWithACheckpointAndASecondSweepRunResumes) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", resumed_run(dir.file("out")) + "sweep:\n  name: stop\n  grid:\n    seed: [3, 4]\n");
  auto sweep = load_sweep(spec, {});
  const std::string first = sweep.run_dir(sweep.runs[0].run_id), second = sweep.run_dir(sweep.runs[1].run_id);
  const std::string run_sweep = "OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec;
  test::Background sweep_run(run_sweep, dir.file("log"));
  ASSERT_TRUE(test::wait_until([&] { return test::text_or_empty(dir.file("log")).find("epoch 2/3 step ") !=
                                            std::string::npos; }, 120))
      << test::text_or_empty(dir.file("log"));
  sweep_run.signal(SIGTERM);
  EXPECT_EQ(sweep_run.wait(180), kExitStopped) << test::text_or_empty(dir.file("log"));
  const auto log = test::text_or_empty(dir.file("log"));
  EXPECT_NE(log.find("checkpoint written at epoch 2"), std::string::npos) << log;
  // Its training process ended with it: the run's lock is free, the run pending, not running.
  FileLock lock;
  EXPECT_TRUE(lock.try_lock(first + "/.lock")) << "the run is still held by a training process:\n" << log;
  lock.unlock();
  EXPECT_TRUE(fs::exists(first + "/checkpoint.pt"));
  EXPECT_FALSE(fs::exists(first + "/result.h5"));
  EXPECT_FALSE(fs::exists(second + "/checkpoint.pt")) << "the sweep went on to its next run after the stop";
  auto again = test::run_command(run_sweep);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("resuming from"), std::string::npos) << again.output;
  ASSERT_EQ(train_into(first + "/config.yaml", dir.file("twin")).exit_code, 0);
  test::expect_same_results(first + "/result.h5", dir.file("twin/result.h5"));
}

// Every sweep the project ships plans: its runs resolve and validate. The paper's sweeps
// point at datasets and weights that are not on a test machine: the paths are replaced
// with ones that exist (the readers are tested on miniature copies in test_datasets).
TEST(ShippedSweeps, EverySweepInExperimentsPlans) {
  test::TempDir dir;
  const std::string data = dir.path();
  const std::string weights = dir.write("weights.h5", "not read by plan");
  const std::string classes = dir.write("classes.txt", "n01440764\n");
  const std::vector<std::string> paths = {"dataset.root=" + data, "dataset.cub_root=" + data,
                                          "dataset.imagenet_root=" + data, "dataset.boxes_dir=" + data,
                                          "dataset.class_list=" + classes, "model.weights=" + weights,
                                          "output_dir=" + dir.file("out")};
  int sweeps = 0;
  for (const auto& folder : {std::string(AIM_SOURCE_DIR) + "/experiments", std::string(AIM_SOURCE_DIR) + "/experiments/paper"}) {
    for (const auto& e : fs::directory_iterator(folder)) {
      const auto path = e.path().string();
      if (e.path().extension() != ".yaml" || e.path().filename() == "paper_numbers.yaml" ||
          e.path().filename() == "base.yaml" || e.path().filename() == "builtin-scratch.yaml")
        continue;
      const bool paper = folder.find("/paper") != std::string::npos;
      SCOPED_TRACE(path);
      try {
        auto sweep = load_sweep(path, paper ? paths : std::vector<std::string>{"output_dir=" + dir.file("out")});
        // Every grid point is its own run: none collapses into another's identity (as two
        // Waterbirds variants would if the variant were not part of it).
        static const std::map<std::string, size_t> expected = {
            {"quickstart.yaml", 6}, {"quickstart-full.yaml", 6}, {"builtin-benchmark.yaml", 65}, {"gpu-check.yaml", 1},
            {"waterbirds.yaml", 48}, {"traveling_birds.yaml", 24}, {"imagenet100.yaml", 48},
            {"hard_imagenet.yaml", 24}, {"cub_ablation.yaml", 36},
            {"adaptive-seeds.yaml", 9},   // round 1 of sweep.seeds: 3 methods x start 3 seeds
            {"lr-search.yaml", 12}};      // the search's candidates: 3 methods x 4 learning rates
        auto it = expected.find(e.path().filename().string());
        if (it == expected.end()) {
          ADD_FAILURE() << "a new sweep file: add its run count here";
        } else {
          EXPECT_EQ(sweep.runs.size(), it->second);
        }
        if (paper) {
          EXPECT_EQ(sweep.runs.front().config.get_string("model.backbone"), "convnext_tiny");
        }
        ++sweeps;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
  }
  EXPECT_GE(sweeps, 8);
}

// The full quickstart's 6 runs are the built-in benchmark's scratch runs at 95% for seeds 0
// and 1 (both build on experiments/builtin-scratch.yaml): the same ids, so either reuses the
// other's, and the quickstart before 2026-12-07 (these settings) compares with it by run id.
TEST(ExperimentFiles, TheFullQuickstartsRunsAreTheBenchmarksScratchRuns) {
  test::TempDir dir;
  const std::vector<std::string> out{"output_dir=" + dir.file("out")};
  const std::string root = std::string(AIM_SOURCE_DIR) + "/experiments/";
  auto ids = [&](const std::string& file) {
    std::set<std::string> s;
    for (const auto& r : load_sweep(root + file, out).runs) s.insert(r.run_id);
    return s;
  };
  const auto quickstart = ids("quickstart-full.yaml"), bench = ids("builtin-benchmark.yaml");
  ASSERT_EQ(quickstart.size(), 6u);
  for (const auto& id : quickstart) EXPECT_EQ(bench.count(id), 1u) << id << " is not a run of builtin-benchmark.yaml";
}

// The quickstart is the full quickstart made smaller and nothing else: run for run (same
// method and seed), the settings differ in the model's width and the val and test sizes only.
TEST(ExperimentFiles, TheQuickstartDiffersFromTheFullOneInItsSizesOnly) {
  test::TempDir dir;
  const std::vector<std::string> out{"output_dir=" + dir.file("out")};
  const std::string root = std::string(AIM_SOURCE_DIR) + "/experiments/";
  const auto small = load_sweep(root + "quickstart.yaml", out).runs;
  const auto full = load_sweep(root + "quickstart-full.yaml", out).runs;
  ASSERT_EQ(small.size(), 6u);
  ASSERT_EQ(full.size(), small.size());
  const std::set<std::string> sized{"model.width", "dataset.val_size", "dataset.test_size"};
  for (size_t i = 0; i < small.size(); ++i) {
    const auto a = small[i].config.items(), b = full[i].config.items();
    std::map<std::string, std::string> in_full(b.begin(), b.end());
    std::set<std::string> differing;
    for (const auto& [key, value] : a) {
      auto it = in_full.find(key);
      if (it == in_full.end() || it->second != value) differing.insert(key);
      if (it != in_full.end()) in_full.erase(it);
    }
    for (const auto& [key, value] : in_full) differing.insert(key);
    differing.erase("sweep.name");
    differing.erase("name");
    EXPECT_EQ(differing, sized) << "run " << i;
    EXPECT_NE(small[i].run_id, full[i].run_id);
  }
}

// sweep status --watch against a local sweep while it trains, stdout redirected: a log of
// changes (state, epoch, step, loss, images/s, ETA) and the totals, ending by itself when
// nothing is running or queued.
TEST(SweepWatch, FollowsALocalSweepWhileItTrainsAndEndsWhenItIsDone) {
  test::TempDir dir;
  // Two epochs of 1000 images (seconds), a progress line every second: the watch samples them.
  auto spec = dir.write("s.yaml", test::small_run_config(dir.file("out"), 2, 1, 1000) +
                                      "sweep:\n  name: watched\n  grid:\n    seed: [0, 1]\n");
  const std::string lock = dir.file("out/watched/.sweep-run.lock");
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec + " > " + dir.file("runlog") +
                             " 2>&1 & pid=$!; for i in $(seq 600); do [ -f " + lock +
                             " ] && break; sleep 0.05; done; sleep 0.3; " + test::aimrun() + " sweep status " + spec +
                             " --watch --interval 0.5 > " + dir.file("watchlog") + "; echo watch=$?; wait $pid; echo run=$?");
  EXPECT_NE(r.output.find("watch=0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("run=0"), std::string::npos) << r.output;
  auto log = read_text(dir.file("watchlog"));
  EXPECT_EQ(log.find("\033["), std::string::npos) << "redrawn although stdout is a file";
  EXPECT_NE(log.find(" running epoch "), std::string::npos) << log;
  EXPECT_NE(log.find(" img/s ETA "), std::string::npos) << log;
  EXPECT_NE(log.find("queued"), std::string::npos) << log;  // the second run, while the first trains
  EXPECT_NE(log.find("2 runs: 2 done; sweep ETA 0"), std::string::npos) << log;
  EXPECT_NE(log.find("nothing running or queued"), std::string::npos) << log;
  // On a terminal (script(1) gives it one) the view is drawn in place: a clear, the table.
  if (test::run_command("command -v script").exit_code == 0) {
    auto tty = test::run_command("script -qec '" + test::aimrun() + " sweep status " + spec +
                                 " --watch --interval 0.5' /dev/null");
    EXPECT_EQ(tty.exit_code, 0) << tty.output;
    EXPECT_NE(tty.output.find("\033[H\033[2J"), std::string::npos) << tty.output;
    EXPECT_NE(tty.output.find("img/s"), std::string::npos) << tty.output;
  }
  // Nothing runs any more: --watch shows the states once and ends.
  auto once = test::run_command(test::aimrun() + " sweep status " + spec + " --watch");
  EXPECT_EQ(once.exit_code, 0) << once.output;
  EXPECT_NE(once.output.find("2 runs: 2 done"), std::string::npos) << once.output;
}

TEST(SweepWatch, SweepEtaFromMeasuredRunTimes) {
  auto run = [](const std::string& state, double train_s, double eta_s) {
    WatchedRun r;
    r.state = state;
    r.has_progress = train_s >= 0;
    r.train_seconds = train_s;
    r.eta_s = eta_s;
    return r;
  };
  // Two done in 100 s each; one running with 30 s left; two queued: (30 + 2 x 100) / 1.
  auto t = sweep_totals({run("done", 100, 0), run("done", 100, 0), run("running", 70, 30), run("queued", -1, -1),
                         run("queued", -1, -1)});
  EXPECT_DOUBLE_EQ(t.eta_s, 230);
  EXPECT_EQ(t.count["done"], 2);
  EXPECT_EQ(t.count["queued"], 2);
  // Two running at once share the queue.
  t = sweep_totals({run("running", 10, 20), run("running", 10, 40), run("queued", -1, -1)});
  EXPECT_DOUBLE_EQ(t.eta_s, (20 + 40 + 40) / 2.0);  // a run takes 40 s: their mean total
  // Nothing measured yet: unknown; nothing left: 0.
  EXPECT_LT(sweep_totals({run("running", -1, -1), run("queued", -1, -1)}).eta_s, 0);
  EXPECT_EQ(sweep_totals({run("done", 5, 0), run("failed", -1, -1)}).eta_s, 0);
}

// A pending run of a sweep that a `sweep run` is working on is queued: the watch goes on
// until Ctrl-C, which ends it with 130.
TEST(SweepWatch, PendingRunsOfAnActiveSweepRunAreQueuedAndCtrlCEndsTheWatch) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", test::small_run_config(dir.file("out"), 1) +
                                      "sweep:\n  name: held\n  grid:\n    seed: [0]\n");
  fs::create_directories(dir.file("out/held"));
  int fd = ::open(dir.file("out/held/.sweep-run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH), 0);  // as `sweep run` holds it
  // Ctrl-C once the watch has shown the run queued (a refresh or more later, it still runs).
  auto r = test::run_command(test::aimrun() + " sweep status " + spec + " --watch --interval 0.2 > " + dir.file("log") +
                             " & pid=$!; for i in $(seq 600); do grep -q '1 runs: 1 queued' " + dir.file("log") +
                             " && break; sleep 0.05; done; sleep 0.5; kill -INT $pid; wait $pid; echo rc=$?");
  ::close(fd);
  EXPECT_NE(r.output.find("rc=130"), std::string::npos) << r.output;
  auto log = read_text(dir.file("log"));
  EXPECT_NE(log.find("1 runs: 1 queued"), std::string::npos) << log;
  // Without the sweep run, the same pending run is only pending, and the watch ends at once.
  auto once = test::run_command(test::aimrun() + " sweep status " + spec + " --watch");
  EXPECT_EQ(once.exit_code, 0) << once.output;
  EXPECT_NE(once.output.find("1 runs: 1 pending"), std::string::npos) << once.output;
}
