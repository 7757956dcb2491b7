// Sweeps in stages on a real Slurm cluster (the one-node cluster of scripts/slurm-local.sh):
// one job array per stage, the later one waiting (afterok) for the earlier; an upstream run
// that fails; an upstream run preempted and requeued, which only delays the later array.
// Stages larger than the cluster's MaxArraySize (11 here: the cluster restarted with
// --max-array-size 11), split into several arrays: a later stage waits for every one, an
// element of the last one preempted, one cancelled and submitted again; and, with stand-ins
// for sbatch, squeue, scontrol and sacctmgr, 1500 runs against Slurm's default 1001.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "runner/sweep/slurm_limits.h"
#include "runner/sweep/slurm_records.h"
#include "runner/sweep/sweep_spec.h"
#include "slurm_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

class SlurmStages : public test::SlurmTest {};

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
  test::wait_for_status(spec, "4 done", 600);
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
  test::wait_for_status(spec, "4 done", 300);
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
  auto seen = test::wait_for_status(spec, "1 done, 1 failed, 2 pending", 600).seen;
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
  test::wait_for_status(spec, "2 done, 2 failed", 300);
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
  test::wait_for_status(spec, "2 done", 600);
  auto log = read_text(dir.file("out/staged/slurm/" + ids[0] + "_0.out"));
  EXPECT_NE(log.find("requeueing " + ids[0] + "_0"), std::string::npos) << log;
  EXPECT_NE(log.find("(restart 1)"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  EXPECT_GE(first_start(fine), mtime(pre + "/result.h5") - 1)
      << "the fine-tune run started before its upstream was done";
  EXPECT_FALSE(fs::exists(fine + "/FAILED"));
}

namespace {

// "[0, 1, ..., n-1]"
std::string seeds(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
  return "[" + join(v, ", ") + "]";
}

// The one-run-one-CPU profile of slurm/profiles/local.yaml with the throttle `throttle`,
// every array submitted held (nothing runs until a test releases an element).
std::string held_profile(const test::TempDir& dir, int throttle) {
  return dir.write("held.yaml",
                   "nodes: 1\ntasks_per_node: 1\ncpus_per_task: 1\ntime: \"00:30:00\"\nsignal: USR2@60\n"
                   "throttle: " +
                       std::to_string(throttle) + "\nextra_sbatch: [\"--hold\"]\n");
}

std::string squeue(const std::string& args) { return test::run_command("squeue -h " + args).output; }

std::string max_array_size() {
  auto show = test::run_command("scontrol show config | grep -E '^MaxArraySize'");
  return trim(show.output.substr(show.output.find('=') == std::string::npos ? 0 : show.output.find('=') + 1));
}

void cancel(const std::vector<std::string>& ids) { test::run_command("scancel " + join(ids, " ")); }

}  // namespace

// The local cluster restarted with MaxArraySize 11 for these tests (its queue is emptied),
// and with its default (1001) again after them, in the layout it had (one node, or the two
// nodes of scripts/test.sh, whose partition `multi` the two-node tests need).
class SlurmSplit : public ::testing::Test {
 protected:
  static std::string layout() {
    return test::run_command("sinfo -h -p multi -o %P").output.find("multi") != std::string::npos ? " --nodes 2"
                                                                                                   : " --nodes 1";
  }
  static void SetUpTestSuite() {
    if (test::run_command("sinfo -h -o %T").exit_code != 0) return;  // SetUp skips
    nodes_ = layout();
    auto r = test::run_command(std::string(AIM_SOURCE_DIR) + "/scripts/slurm-local.sh start --max-array-size 11" + nodes_);
    if (r.exit_code != 0) std::cerr << r.output;
  }
  static void TearDownTestSuite() {
    if (test::run_command("sinfo -h -o %T").exit_code != 0) return;
    auto r = test::run_command(std::string(AIM_SOURCE_DIR) + "/scripts/slurm-local.sh start" + nodes_);
    if (r.exit_code != 0) std::cerr << r.output;
  }
  static inline std::string nodes_;
  void SetUp() override {
    AIM_NEEDS_SLURM();
    ASSERT_EQ(max_array_size(), "11") << "scripts/slurm-local.sh start --max-array-size 11 did not take";
  }
};

// 40 pretrain and 40 fine-tune runs: four arrays each (11, 11, 11 and 7 elements); the
// throttle 2 shared (%1 each, the third and fourth array after the first and second); every
// fine-tune array waits (afterok) for all four pretrain arrays.
TEST_F(SlurmSplit, AStageOfFortyRunsIsFourArraysAndTheNextWaitsForEveryOne) {
  test::TempDir dir;
  const std::string grid = "      grid: {seed: " + seeds(40) + "}\n";
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), grid, grid));
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile " + held_profile(dir, 2));
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  auto ids = job_ids(submit.output);
  ASSERT_EQ(ids.size(), 8u) << submit.output;
  const std::vector<size_t> sizes = {11, 11, 11, 7, 11, 11, 11, 7};
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(split(trim(squeue("-r -j " + ids[k] + " -o %i")), '\n').size(), sizes[k]) << ids[k];
    EXPECT_NE(squeue("-j " + ids[k] + " -o %i").find("%1]"), std::string::npos) << squeue("-j " + ids[k] + " -o %i");
  }
  for (size_t k = 4; k < 8; ++k) {
    const auto dependency = squeue("-j " + ids[k] + " -o %E");
    for (size_t up = 0; up < 4; ++up) EXPECT_NE(dependency.find("afterok:" + ids[up]), std::string::npos) << dependency;
  }
  EXPECT_NE(squeue("-j " + ids[2] + " -o %E").find("afterany:" + ids[0]), std::string::npos);
  EXPECT_NE(squeue("-j " + ids[7] + " -o %E").find("afterany:" + ids[5]), std::string::npos);
  EXPECT_NE(submit.output.find("stage finetune: submitted job array " + ids[4] + " (part 1 of 4, %1, 11 runs"),
            std::string::npos)
      << submit.output;
  // One submission per stage in the record, its four arrays listed.
  auto subs = read_submissions(load_sweep(spec, {}));
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[1].parts.size(), 4u);
  EXPECT_EQ(subs[1].runs(), 40u);
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("80 queued"), std::string::npos) << status.output;
  cancel(ids);
}

// An element of the fourth array (index 3: the sweep's run 36) released alone: preempted
// (USR2), it checkpoints, requeues itself as <its array>_3, resumes and completes; no other
// run starts.
TEST_F(SlurmSplit, AnElementOfTheLastArrayIsPreemptedRequeuedAndCompletesItsOwnRun) {
  test::TempDir dir;
  auto text = test::small_run_config(dir.file("out"), 4, /*log_every=*/1);
  text.replace(text.find("train_size: 3000"), 16, "train_size: 1000");
  auto spec = dir.write("s.yaml", text + "sweep:\n  name: split\n  grid:\n    seed: " + seeds(40) + "\n");
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile " + held_profile(dir, 4));
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  auto ids = job_ids(submit.output);
  ASSERT_EQ(ids.size(), 4u) << submit.output;
  auto s = load_sweep(spec, {});
  const std::string run = s.run_dir(s.stage_runs("")[36]->run_id);
  const std::string element = ids[3] + "_3";
  auto release = test::run_command("scontrol release " + element);
  ASSERT_EQ(release.exit_code, 0) << release.output;
  for (int i = 0; i < 1200 && !fs::exists(run + "/checkpoint.pt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(fs::exists(run + "/checkpoint.pt")) << "run 36 never checkpointed\n" << squeue("-r -o '%i %T %r'");
  // Slurm 22.05 delivers the signal to the element released alone but answers "Job can not
  // be altered now" (the held rest of its array, seen in slurmctld's log), and scancel asks
  // again for 100 s: its exit code says nothing here, the element's log says what happened.
  test::run_command("timeout 5 scancel --signal=USR2 " + element);
  for (int i = 0; i < 600 && !fs::exists(run + "/result.h5"); ++i) std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(fs::exists(run + "/result.h5")) << squeue("-r -o '%i %T %r'");
  auto log = read_text(dir.file("out/split/slurm/" + element + ".out"));
  EXPECT_NE(log.find("requeueing " + element), std::string::npos) << log;
  EXPECT_NE(log.find("(restart 1)"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  EXPECT_NE(log.find(run), std::string::npos) << log;
  for (size_t i = 0; i < 40; ++i)
    if (i != 36) {
      EXPECT_FALSE(fs::exists(s.run_dir(s.stage_runs("")[i]->run_id) + "/sessions.jsonl")) << i;
    }
  // `sweep status` names the elements of every array, the run done.
  std::string status;
  for (int i = 0; i < 30; ++i) {
    status = test::run_command(test::aimrun() + " sweep status " + spec).output;
    if (status.find("1 done, 39 queued") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_NE(status.find("1 done, 39 queued"), std::string::npos) << status;
  for (const auto& id : ids) EXPECT_NE(status.find(id + "_"), std::string::npos) << id << "\n" << status;
  cancel(ids);
}

// The second of four arrays cancelled: `sweep submit` again queues its 11 runs, and only
// those, as one array of their own; a third submits nothing.
TEST_F(SlurmSplit, OneArrayCancelledIsAllASecondSubmitQueuesAgain) {
  test::TempDir dir;
  auto text = test::small_run_config(dir.file("out"), 1, /*log_every=*/1);
  auto spec = dir.write("s.yaml", text + "sweep:\n  name: again\n  grid:\n    seed: " + seeds(40) + "\n");
  const std::string submit = test::aimrun() + " sweep submit " + spec + " --profile " + held_profile(dir, 2);
  auto first = test::run_command(submit);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto ids = job_ids(first.output);
  ASSERT_EQ(ids.size(), 4u) << first.output;
  test::run_command("scancel " + ids[1]);
  for (int i = 0; i < 30 && !trim(squeue("-r -j " + ids[1] + " -t PD,R -o %i")).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::seconds(1));
  auto second = test::run_command(submit);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  auto again = job_ids(second.output);
  ASSERT_EQ(again.size(), 1u) << second.output;
  EXPECT_NE(second.output.find("submitted job array " + again[0] + " (11 runs"), std::string::npos) << second.output;
  auto subs = read_submissions(load_sweep(spec, {}));
  ASSERT_EQ(subs.size(), 2u);
  ASSERT_EQ(subs[0].parts.size(), 4u);
  ASSERT_EQ(subs[1].parts.size(), 1u);
  EXPECT_EQ(subs[1].parts[0].run_ids, subs[0].parts[1].run_ids);
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("40 queued"), std::string::npos) << status.output;
  auto third = test::run_command(submit);
  EXPECT_NE(third.output.find("nothing to submit"), std::string::npos) << third.output;
  auto watch = test::run_command("timeout 3 " + test::aimrun() + " sweep status " + spec + " --watch --interval 1");
  EXPECT_NE(watch.output.find("40 queued"), std::string::npos) << watch.output;
  EXPECT_EQ(watch.output.find("nothing running or queued"), std::string::npos) << watch.output;
  cancel({ids[0], ids[2], ids[3], again[0]});
}

// How a stage is split, and the throttle shared: parts of at most MaxArraySize; min(T, P)
// parts side by side, their shares adding up to T; the others wait for one of them.
TEST(SlurmSplitPlan, PartsOfAtMostMaxArraySizeShareTheThrottle) {
  auto plan = plan_array_parts(1500, 1001, 0);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].count, 1001u);
  EXPECT_EQ(plan[1].offset, 1001u);
  EXPECT_EQ(plan[1].count, 499u);
  EXPECT_EQ(plan[1].throttle, 0);
  EXPECT_EQ(plan[1].after, -1);
  plan = plan_array_parts(40, 11, 2);
  ASSERT_EQ(plan.size(), 4u);
  std::vector<int> throttles, after;
  for (const auto& p : plan) throttles.push_back(p.throttle), after.push_back(p.after);
  EXPECT_EQ(throttles, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(after, (std::vector<int>{-1, -1, 0, 1}));
  plan = plan_array_parts(3000, 1001, 50);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].throttle + plan[1].throttle + plan[2].throttle, 50);
  EXPECT_EQ(plan[2].after, -1);
  EXPECT_EQ(plan_array_parts(1001, 1001, 5).size(), 1u);
  EXPECT_EQ(plan_array_parts(1001, 1001, 5)[0].throttle, 5);
  auto limits = parse_slurm_config(
      "MaxArraySize            = 11\nMaxJobCount             = 10000\n"
      "AccountingStorageType   = accounting_storage/slurmdbd\n");
  EXPECT_EQ(limits.max_array_size, 11);
  EXPECT_EQ(limits.max_job_count, 10000);
  EXPECT_TRUE(limits.accounting);
  EXPECT_EQ(parse_max_submit("\n500\n\n200\n"), 200);
  EXPECT_EQ(parse_max_submit("\n\n"), 0);
}

// 1500 runs, Slurm's default MaxArraySize 1001 (stand-ins for sbatch, squeue, scontrol and
// sacctmgr): two arrays, 0-1000 and 0-498, their run lists the sweep's runs in order, one
// submission recorded; `sweep status` maps each array's elements to its own runs. Before
// anything is queued, more runs than MaxJobCount or MaxSubmitJobs is refused (exit 2), and
// a dry run without an answer from scontrol assumes 1001, saying so.
TEST(SlurmSplitStandIn, FifteenHundredRunsAreTwoArraysOfValidIndices) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", test::small_run_config(dir.file("out"), 1) +
                                      "sweep:\n  name: big\n  grid:\n    seed: " + seeds(1500) + "\n");
  test::write_stub(dir, "sbatch", "echo \"$@\" >> \"$AIM_STUB_LOG\"\necho $((4000 + $(wc -l < \"$AIM_STUB_LOG\")))\n");
  test::write_stub(dir, "squeue", "printf '%s' \"$AIM_SQUEUE\"\n");
  test::write_stub(
      dir, "scontrol",
      "[ -z \"$AIM_SCONTROL_FAIL\" ] || { echo 'scontrol: error: no controller' >&2; exit 1; }\n"
      "printf 'MaxArraySize            = 1001\\nMaxJobCount             = %s\\n"
      "AccountingStorageType   = %s\\n' \"${AIM_MAX_JOBS:-10000}\" \"${AIM_ACCOUNTING:-accounting_storage/none}\"\n");
  test::write_stub(dir, "sacctmgr", "printf '\\n%s\\n' \"$AIM_MAX_SUBMIT\"\n");
  const std::string env = "PATH=" + dir.file("stub") + ":$PATH AIM_STUB_LOG=" + dir.file("sbatch.log") + " ";
  const std::string submit = test::aimrun() + " sweep submit --profile local " + spec;
  auto too_many = test::run_command(env + "AIM_MAX_JOBS=1000 " + submit);
  EXPECT_EQ(too_many.exit_code, 2) << too_many.output;
  EXPECT_NE(too_many.output.find("sweep big: 1500 runs to submit, but the cluster's MaxJobCount (scontrol show config) "
                                 "is 1000 jobs"),
            std::string::npos)
      << too_many.output;
  auto over_quota = test::run_command(env + "AIM_ACCOUNTING=accounting_storage/slurmdbd AIM_MAX_SUBMIT=500 " + submit);
  EXPECT_EQ(over_quota.exit_code, 2) << over_quota.output;
  EXPECT_NE(over_quota.output.find("your MaxSubmitJobs (sacctmgr show assoc) is 500 jobs"), std::string::npos)
      << over_quota.output;
  EXPECT_FALSE(fs::exists(dir.file("sbatch.log"))) << "something was queued";
  auto blind = test::run_command(env + "AIM_SCONTROL_FAIL=1 " + submit + " --dry-run");
  EXPECT_EQ(blind.exit_code, 0) << blind.output.substr(0, 2000);
  EXPECT_NE(blind.output.find("assuming Slurm's default MaxArraySize 1001"), std::string::npos)
      << blind.output.substr(0, 2000);
  EXPECT_NE(blind.output.find("# part 2 of 2, %1, 499 runs"), std::string::npos) << blind.output.substr(0, 2000);
  fs::remove(dir.file("sbatch.log"));  // the dry run's sbatch --test-only

  auto r = test::run_command(env + submit);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(job_ids(r.output), (std::vector<std::string>{"4001", "4002"})) << r.output;
  auto subs = read_submissions(load_sweep(spec, {}));
  ASSERT_EQ(subs.size(), 1u);
  ASSERT_EQ(subs[0].parts.size(), 2u);
  auto s = load_sweep(spec, {});
  const std::vector<std::string> arrays = {"#SBATCH --array=0-1000%1\n", "#SBATCH --array=0-498%1\n"};
  size_t next = 0;
  for (size_t k = 0; k < 2; ++k) {
    const auto& part = subs[0].parts[k];
    EXPECT_NE(read_text(part.script).find(arrays[k]), std::string::npos) << part.script;
    // aim_run_list='<path>': element i trains the run on its line i+1.
    const auto script = read_text(part.script);
    const auto from = script.find("aim_run_list='") + 14;
    const auto lines = split(trim(read_text(script.substr(from, script.find('\'', from) - from))), '\n');
    ASSERT_EQ(lines.size(), part.run_ids.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      EXPECT_EQ(part.run_ids[i], s.stage_runs("")[next]->run_id);
      EXPECT_EQ(lines[i], fs::absolute(s.run_dir(s.stage_runs("")[next++]->run_id)).string());
    }
  }
  EXPECT_EQ(next, 1500u);
  const auto& last = subs[0].parts[1].run_ids.back();
  auto status = test::run_command(env + "AIM_SQUEUE='4001_1000 PENDING\n4002_498 RUNNING\n4002_499 PENDING\n' " +
                                  test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("1498 pending, 1 queued, 1 running"), std::string::npos)
      << status.output.substr(0, 2000);
  for (const auto& line : split(status.output, '\n')) {
    if (line.find(subs[0].parts[0].run_ids.back()) != std::string::npos) {
      EXPECT_NE(line.find("4001_1000"), std::string::npos) << line;
    }
    if (line.find(last) != std::string::npos) {
      EXPECT_NE(line.find("4002_498 RUNNING"), std::string::npos) << line;
    }
  }
}
