// Sweeps in stages on a real Slurm cluster (the one-node cluster of scripts/slurm-local.sh):
// one job array per stage, the later one waiting (afterok) for the earlier; an upstream run
// that fails; an upstream run preempted and requeued, which only delays the later array.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "runner/sweep/sweep_spec.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

class SlurmStages : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = test::run_command("sinfo -h -o %T");
    if (r.exit_code != 0) GTEST_SKIP() << "not run: no Slurm cluster (scripts/slurm-local.sh start)\n" << r.output;
  }
};

std::string spec_text(const std::string& out, const std::string& pre, const std::string& fine) {
  auto text = test::small_run_config(out, 1, /*log_every=*/1);
  text.replace(text.find("train_size: 3000"), 16, "train_size: 1000");
  return text + "sweep:\n  name: staged\n  stages:\n    - name: pretrain\n" + pre +
         "    - name: finetune\n      init_from: pretrain\n" + fine;
}

// The job ids `sweep submit` printed, one per line, in stage order.
std::vector<std::string> job_ids(const std::string& output) {
  std::vector<std::string> ids;
  for (const auto& line : split(output, '\n'))
    if (!trim(line).empty() && trim(line).find_first_not_of("0123456789") == std::string::npos)
      ids.push_back(trim(line));
  return ids;
}

// Polls `sweep status` until `until` appears; returns everything seen.
std::string wait_for(const std::string& spec, const std::string& until, int timeout_s) {
  std::string seen;
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(timeout_s)) {
    auto st = test::run_command(test::aimrun() + " sweep status " + spec);
    seen += st.output;
    if (st.output.find(until) != std::string::npos) return seen;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  ADD_FAILURE() << "no '" << until << "' after " << timeout_s << " s:\n"
                << seen.substr(seen.size() > 3000 ? seen.size() - 3000 : 0);
  return seen;
}

double mtime(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return double(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
}

// The time of the first "start" line of a run's session ledger (seconds since the epoch).
double first_start(const std::string& run_dir) {
  auto text = read_text(run_dir + "/sessions.jsonl");
  auto at = text.find("\"time\": ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + 8));
}

}  // namespace

// Two arrays, the second with --dependency=afterok:<first>; every fine-tune run starts after
// its pretrain run is done. Submitted again once the pretraining is done (a fine-tune run
// made pending again): one array, without a dependency.
TEST_F(SlurmStages, TwoStagesRunInOrderAndAResubmissionWaitsForNothingDone) {
  test::TempDir dir;
  auto spec =
      dir.write("s.yaml", spec_text(dir.file("out"), "      grid: {seed: [0, 1]}\n", "      grid: {seed: [0, 1]}\n"));
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  auto ids = job_ids(submit.output);
  ASSERT_EQ(ids.size(), 2u) << submit.output;
  EXPECT_NE(submit.output.find("stage finetune: submitted job array " + ids[1] +
                               " (2 runs, profile local, after afterok:" + ids[0] + ")"),
            std::string::npos)
      << submit.output;
  auto show = test::run_command("scontrol show job " + ids[1]);
  EXPECT_NE(show.output.find("afterok:" + ids[0]), std::string::npos) << show.output;
  wait_for(spec, "4 done", 600);
  auto s = load_sweep(spec, {});
  for (const auto* f : s.stage_runs("finetune")) {
    const std::string up = s.run_dir(f->upstream) + "/result.h5";
    EXPECT_GE(first_start(s.run_dir(f->run_id)), mtime(up) - 1)
        << "a fine-tune run started before its upstream was done";
    EXPECT_NE(read_text(s.run_dir(f->run_id) + "/config.yaml").find(f->upstream), std::string::npos);
    EXPECT_NE(read_text(s.run_dir(f->run_id) + "/train.log").find("initialised from the upstream run " + f->upstream),
              std::string::npos);
  }
  // The pretraining done: a new submission of a fine-tune run depends on nothing.
  const auto* again = s.stage_runs("finetune")[0];
  fs::remove(s.run_dir(again->run_id) + "/result.h5");
  auto resubmit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(resubmit.exit_code, 0) << resubmit.output;
  EXPECT_EQ(job_ids(resubmit.output).size(), 1u) << resubmit.output;
  EXPECT_NE(resubmit.output.find("stage finetune: submitted job array"), std::string::npos) << resubmit.output;
  EXPECT_EQ(resubmit.output.find("after afterok"), std::string::npos) << resubmit.output;
  wait_for(spec, "4 done", 300);
}

// A pretrain run fails: Slurm cancels the fine-tune array that waited for it
// (--kill-on-invalid-dep), `sweep status` says why those runs did not run. An element that
// starts anyway (the script submitted by hand, without the dependency) finds its upstream
// run failed, writes that to its FAILED and ends; the element whose upstream is done trains.
TEST_F(SlurmStages, FailedUpstreamCancelsTheLaterArrayAndAnElementStartedAnywayRefuses) {
  test::TempDir dir;
  const std::string real = "/usr/share/datasets/fashion-mnist", copy = dir.file("fmnist");
  fs::create_directories(copy);
  for (const std::string f : {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"})
    fs::create_symlink(real + "/" + f, copy + "/" + f);
  dir.write("fmnist/train-images-idx3-ubyte.gz", "not an IDX file");
  // The damaged run has a dataset cache of its own: the shared one may hold a dataset of its
  // sizes made from good data, and must not get one from this test's data.
  const std::string cache = dir.file("cache");
  const std::string pre = "      zip:\n        - {seed: [0, 1], dataset.train_size: [1000, 1001], dataset.source: [" +
                          real + ", " + copy + "], dataset.cache_dir: [~, " + cache + "]}\n";
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), pre,
                                            "      set: {dataset.source: " + real + "}\n      grid: {seed: [0, 1]}\n"));
  auto s = load_sweep(spec, {});
  const auto* bad = s.stage_runs("pretrain")[1];
  const auto fine = s.stage_runs("finetune");
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  auto ids = job_ids(submit.output);
  ASSERT_EQ(ids.size(), 2u) << submit.output;
  auto seen = wait_for(spec, "1 done, 1 failed, 2 pending", 600);
  // The later array is gone from the queue, its runs were never started.
  std::string state;
  for (int i = 0; i < 30; ++i) {
    state = test::run_command("squeue -h -j " + ids[1] + " -o %T").output;
    if (trim(state).empty() || state.find("Invalid job id") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(state.find("PENDING"), std::string::npos) << state;
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("upstream " + bad->run_id + " failed: "), std::string::npos) << status.output;
  for (const auto* f : fine) EXPECT_FALSE(fs::exists(s.run_dir(f->run_id) + "/sessions.jsonl")) << f->run_id;
  // The fine-tune script submitted by hand, without the dependency.
  std::string script;
  for (auto& e : fs::directory_iterator(dir.file("out/staged/slurm")))
    if (e.path().string().find("-finetune.sbatch") != std::string::npos) script = e.path().string();
  ASSERT_FALSE(script.empty());
  auto by_hand = test::run_command("cd " + dir.file("out/staged/slurm") + " && sbatch --parsable " + script);
  ASSERT_EQ(by_hand.exit_code, 0) << by_hand.output;
  wait_for(spec, "2 done, 2 failed", 300);
  const auto* blocked = fine[1]->upstream == bad->run_id ? fine[1] : fine[0];
  auto failed = read_text(s.run_dir(blocked->run_id) + "/FAILED");
  EXPECT_EQ(failed.rfind("upstream " + bad->run_id + " failed: ", 0), 0u) << failed;
  EXPECT_NE(failed.find("bad magic number"), std::string::npos) << failed;
  EXPECT_FALSE(fs::exists(s.run_dir(blocked->run_id) + "/sessions.jsonl"));  // never started training
}

// The pretrain run is preempted (USR2, as before a time limit): it checkpoints, requeues
// itself and resumes; the fine-tune array waits through all of it and then runs.
TEST_F(SlurmStages, PreemptedUpstreamOnlyDelaysTheLaterArray) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "      set: {train.epochs: 4}\n      grid: {seed: [11]}\n",
                                            "      grid: {seed: [11]}\n"));
  auto s = load_sweep(spec, {});
  const std::string pre = s.run_dir(s.stage_runs("pretrain")[0]->run_id);
  const std::string fine = s.run_dir(s.stage_runs("finetune")[0]->run_id);
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  auto ids = job_ids(submit.output);
  ASSERT_EQ(ids.size(), 2u) << submit.output;
  for (int i = 0; i < 1200 && !fs::exists(pre + "/checkpoint.pt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(fs::exists(pre + "/checkpoint.pt")) << "the pretrain run never checkpointed";
  auto signal = test::run_command("scancel --signal=USR2 " + ids[0] + "_0");
  ASSERT_EQ(signal.exit_code, 0) << signal.output;
  // While the pretrain run is requeued, the fine-tune array still waits for it.
  std::string during;
  for (int i = 0; i < 60; ++i) {
    during = test::run_command("squeue -h -r -o '%i %T %r'").output;
    if (read_text(dir.file("out/staged/slurm/" + ids[0] + "_0.out")).find("requeueing") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_NE(during.find(ids[1] + "_0 PENDING"), std::string::npos) << during;
  wait_for(spec, "2 done", 600);
  auto log = read_text(dir.file("out/staged/slurm/" + ids[0] + "_0.out"));
  EXPECT_NE(log.find("requeueing " + ids[0] + "_0"), std::string::npos) << log;
  EXPECT_NE(log.find("(restart 1)"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  EXPECT_GE(first_start(fine), mtime(pre + "/result.h5") - 1)
      << "the fine-tune run started before its upstream was done";
  EXPECT_FALSE(fs::exists(fine + "/FAILED"));
}
