// Sweeps on a real Slurm cluster (the one-node cluster of scripts/slurm-local.sh, which the
// test command starts): a job array of several runs, status while it runs, and a run
// preempted with USR2 that checkpoints, requeues itself, resumes and ends with exactly the
// numbers of its uninterrupted twin.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "results/run_file.h"
#include "runner/sweep/sweep_spec.h"
#include "slurm_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

class Slurm : public test::SlurmTest {};

// A sweep of small runs, one per seed; `train_size` images per epoch (the tests of what
// Slurm queues, runs and requeues need no more than a few seconds per epoch).
std::string spec_text(const std::string& out, const std::string& name, int epochs, const std::string& seeds,
                      int train_size) {
  return test::small_run_config(out, epochs, /*log_every=*/1, train_size) + "sweep:\n  name: " + name +
         "\n  grid:\n    seed: " + seeds + "\n";
}

}  // namespace

TEST_F(Slurm, SubmitAJobArrayAndFollowItToTheEnd) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "array", 2, "[0, 1, 2, 3]", 1000));
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_NE(submit.output.find("submitted job array"), std::string::npos) << submit.output;
  // Submitting again does not queue the same runs twice.
  auto again = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  EXPECT_NE(again.output.find("nothing to submit"), std::string::npos) << again.output;
  auto seen = test::wait_for_status(spec, "4 done", 600).seen;
  // With 2 CPUs and one per run, some runs wait in the queue while others run.
  EXPECT_NE(seen.find("queued"), std::string::npos) << seen;
  EXPECT_NE(seen.find("running"), std::string::npos) << seen;
  auto sweep = load_sweep(spec, {});
  for (const auto& r : sweep.runs) EXPECT_NO_THROW(results::read_run_file(sweep.run_dir(r.run_id) + "/result.h5"));
  // Logs of every element, appended per attempt.
  int logs = 0;
  for (auto& e : fs::directory_iterator(dir.file("out/array/slurm"))) logs += e.path().extension() == ".out";
  EXPECT_EQ(logs, 4);
}

TEST_F(Slurm, PreemptedRunRequeuesResumesAndMatchesItsTwin) {
  test::TempDir dir;
  // Three epochs of 24 steps: the stop lands in the second (or, late, in the third).
  auto text = spec_text(dir.file("out"), "preempt", 3, "[11]", 1500);
  text.replace(text.find("log_every: 1}"), 13, "log_every: 0.1}");  // a progress line every few steps
  auto spec = dir.write("s.yaml", text);
  auto sweep = load_sweep(spec, {});
  const auto run_dir = sweep.run_dir(sweep.runs[0].run_id);
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  const std::string job = trim(submit.output.substr(submit.output.rfind('\n', submit.output.size() - 2) + 1));
  // Once the run has trained an epoch and steps in its second (a stop at a step, not at an
  // epoch's end), the cluster asks it to stop (as before a time limit).
  for (int i = 0; i < 600 && !fs::exists(run_dir + "/checkpoint.pt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(fs::exists(run_dir + "/checkpoint.pt")) << "the run never checkpointed";
  auto past_epoch_1 = [&] {
    const auto log = read_text(run_dir + "/train.log");
    const auto done = log.find("epoch 1/3 done");
    return done != std::string::npos && log.find("/3 step ", done) != std::string::npos;
  };
  for (int i = 0; i < 600 && !past_epoch_1(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(past_epoch_1()) << "no step after the first epoch in 30 s:\n" << read_text(run_dir + "/train.log");
  auto signal = test::run_command("scancel --signal=USR2 " + job + "_0");
  ASSERT_EQ(signal.exit_code, 0) << signal.output;
  test::wait_for_status(spec, "1 done", 600);
  auto log = read_text(dir.file("out/preempt/slurm/" + job + "_0.out"));
  EXPECT_NE(log.find("checkpoint written at epoch"), std::string::npos) << log;
  EXPECT_NE(log.find("requeueing " + job + "_0"), std::string::npos) << log;
  EXPECT_NE(log.find("(restart 1)"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  // The twin: the same run, uninterrupted, with the thread count the job used.
  auto twin = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + run_dir +
                                "/config.yaml --run-dir " + dir.file("twin"));
  ASSERT_EQ(twin.exit_code, 0) << twin.output;
  auto a = results::read_run_file(run_dir + "/result.h5"), b = results::read_run_file(dir.file("twin/result.h5"));
  EXPECT_EQ(a.curves.series.at("train_loss"), b.curves.series.at("train_loss"));
  ASSERT_EQ(a.splits.size(), b.splits.size());
  for (size_t i = 0; i < a.splits.size(); ++i) {
    EXPECT_EQ(a.splits[i].pred, b.splits[i].pred);
    EXPECT_EQ(a.splits[i].accuracy, b.splits[i].accuracy);
    EXPECT_EQ(a.splits[i].loss, b.splits[i].loss);
    EXPECT_EQ(a.splits[i].scalars, b.splits[i].scalars);
  }
}

// sweep status --watch of a submitted sweep, stdout redirected: the runs go from queued to
// running to done in its log, squeue is asked once per refresh, and it ends by itself.
TEST_F(Slurm, WatchFollowsASubmittedSweepToTheEnd) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "watched", 2, "[0, 1, 2]", 1000));
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  auto watch = test::run_command("timeout 600 " + test::aimrun() + " sweep status " + spec +
                                 " --profile local --watch --interval 1 > " + dir.file("watchlog"));
  auto log = read_text(dir.file("watchlog"));
  EXPECT_EQ(watch.exit_code, 0) << watch.output << log;
  EXPECT_NE(log.find(" queued"), std::string::npos) << log;
  EXPECT_NE(log.find(" running epoch "), std::string::npos) << log;
  EXPECT_NE(log.find("slurm "), std::string::npos) << log;  // the element id in the detail
  EXPECT_NE(log.find("3 runs: 3 done"), std::string::npos) << log;
  EXPECT_EQ(log.find("\033["), std::string::npos) << log;
}
