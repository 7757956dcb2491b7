// The run on a hostile cluster (issue: runs that survive a real cluster): a stop on every
// step position of an epoch resumes bit for bit on 2 and 3 ranks; start-up errors on one
// rank end every rank; a stuck rank is caught by the watchdog; a full disk, a damaged
// checkpoint, an early signal, a non-finite loss and a file system without flock each end
// with a clear message and nothing lost. Each case is one FaultCase (tests/fault_log.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/file_lock.h"
#include "core/files.h"
#include "fault_log.h"
#include "results/run_folder.h"
#include "run_compare.h"
#include "runner/trained_run.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

// 3 steps per epoch on any rank count (batch 16 per rank), 2 epochs.
std::string run_config(const test::TempDir& dir, int ranks, int epochs = 2) {
  return dir.write("c.yaml", "output_dir: " + dir.file("out") +
                                 "\n"
                                 "dataset: {train_size: " +
                                 std::to_string(3 * 16 * ranks) +
                                 ", val_size: 64, test_size: 96}\n"
                                 "model: {width: 8}\n"
                                 "method: {name: aim}\n"
                                 "train: {epochs: " +
                                 std::to_string(epochs) +
                                 ", batch_size: 16, log_every: 0}\n"
                                 "eval: {attributions: [gradcam, mask], keep_maps: 2, pictures: 0}\n");
}

std::string launch(int ranks) { return ranks > 1 ? test::mpirun(ranks) + " -x AIMRUN_FAULT " : std::string(); }

test::CommandResult train(int ranks, const std::string& cfg, const std::string& run_dir, const std::string& env = "",
                          const std::string& extra = "") {
  return test::run_command("AIMRUN_FAULT= " + env + " OMP_NUM_THREADS=1 timeout 300 " + launch(ranks) + test::aimrun() +
                           " train " + cfg + " threads=1 --run-dir " + run_dir + " " + extra);
}

using test::seconds_since;  // tests/test_util.h

// Sets the modification time of `path` `seconds` into the past.
void set_age(const std::string& path, int seconds) {
  struct timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path << ": " << std::strerror(errno);
}

using test::contains;  // tests/test_util.h

// A run that failed cleanly: exit code 1, `message` in its output, no crash, no result.h5.
void expect_failed_cleanly(const test::CommandResult& r, const std::string& run_dir, const std::string& message) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, message)) << r.output;
  EXPECT_FALSE(contains(r.output, "terminate called")) << r.output;
  EXPECT_FALSE(fs::exists(run_dir + "/result.h5"));
}

// `train` of a run that one rank finds wrong at the start: every rank ends, with an error,
// within seconds (not hung until the timeout).
test::CommandResult train_failing_at_start(int ranks, const std::string& cfg, const std::string& run_dir) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = train(ranks, cfg, run_dir);
  EXPECT_LT(seconds_since(t0), 30.0) << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "hung until timeout: " << r.output;
  return r;
}

// A run stopped (as USR2 would ask) after global step `step`: the path of its checkpoint.
std::string stopped_after(int ranks, const std::string& cfg, const std::string& run_dir, int step) {
  auto r = train(ranks, cfg, run_dir, "AIMRUN_FAULT=rank=0,step=" + std::to_string(step) + ",kind=stop");
  EXPECT_EQ(r.exit_code, 75) << r.output;
  EXPECT_TRUE(fs::exists(run_dir + "/checkpoint.pt")) << r.output;
  return run_dir + "/checkpoint.pt";
}

// A run trained to its end: exit code 0 and its result.h5.
void expect_complete(const test::CommandResult& r, const std::string& run_dir) {
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run_dir + "/result.h5"));
}

}  // namespace

// A stop (as USR2 would ask) after global step s, for every position of the 3-step epochs,
// including the last step of the first epoch and of the whole run; then the same command
// again. The result equals the uninterrupted twin's bit for bit.
class ResumeEveryStep : public ::testing::TestWithParam<int> {};

TEST_P(ResumeEveryStep, StopAtEachStepResumesBitIdentically) {
  const int ranks = GetParam();
  test::TempDir dir;
  auto cfg = run_config(dir, ranks);
  auto twin = train(ranks, cfg, dir.file("twin"));
  ASSERT_EQ(twin.exit_code, 0) << twin.output;
  for (int step = 0; step < 6; ++step) {
    test::FaultCase fc(std::to_string(ranks) + "-rank stop after step " + std::to_string(step + 1) +
                       " of 6, then resume");
    const std::string run = dir.file("run" + std::to_string(step));
    const std::string fault =
        "AIMRUN_FAULT=rank=" + std::to_string(step % ranks) + ",step=" + std::to_string(step) + ",kind=stop";
    auto first = train(ranks, cfg, run, fault);
    if (step < 5) {
      ASSERT_EQ(first.exit_code, 75) << first.output;
      EXPECT_TRUE(contains(first.output, "checkpoint written")) << first.output;
      EXPECT_FALSE(fs::exists(run + "/result.h5"));
    }
    auto second = train(ranks, cfg, run);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_FALSE(fs::exists(run + "/FAILED"));
    test::expect_same_results(dir.file("twin/result.h5"), run + "/result.h5");
    if (::testing::Test::HasFailure()) fc.result_lost();
  }
}

INSTANTIATE_TEST_SUITE_P(Mpi, ResumeEveryStep, ::testing::Values(2, 3));

// The same with the settings that change what a checkpoint must carry: micro-batches
// (train.accumulate_steps 2), a checkpoint every second epoch only, the best validation
// epoch's weights selected (eval.select), and loader threads (dataset.workers 2). Stops on 2
// ranks at the last step of an epoch that writes no checkpoint, the first step after it,
// the last step of a checkpoint epoch and the last step of the run.
TEST(ResumeHardSettings, StopAtEpochEdgesResumesBitIdentically) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", "output_dir: " + dir.file("out") +
                                     "\ndataset: {train_size: 384, val_size: 64, test_size: 96, workers: 2}\n"
                                     "model: {width: 8}\nmethod: {name: aim}\n"
                                     "train: {epochs: 3, batch_size: 16, log_every: 0, accumulate_steps: 2, "
                                     "checkpoint_every: 2, eval_every: 1}\n"
                                     "eval: {attributions: [gradcam, mask], keep_maps: 2, pictures: 0, "
                                     "select: best_val_accuracy}\n");
  auto twin = train(2, cfg, dir.file("twin"));
  ASSERT_EQ(twin.exit_code, 0) << twin.output;
  for (int step : {5, 6, 11, 17}) {  // 6 optimiser steps per epoch
    test::FaultCase fc("2-rank stop after step " + std::to_string(step + 1) +
                       " of 18 with accumulation, sparse checkpoints, eval.select and loader threads");
    const std::string run = dir.file("run" + std::to_string(step));
    auto first = train(2, cfg, run, "AIMRUN_FAULT=rank=1,step=" + std::to_string(step) + ",kind=stop");
    ASSERT_EQ(first.exit_code, 75) << first.output;
    auto second = train(2, cfg, run);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    test::expect_same_results(dir.file("twin/result.h5"), run + "/result.h5");
    if (::testing::Test::HasFailure()) fc.result_lost();
  }
}

// A second job for a run that is training, and a run folder that cannot be created: rank 0
// alone finds out; every rank must end, with the message, within seconds.
TEST(StartupErrors, DuplicateMultiRankStartEndsEveryRankWithTheMessage) {
  test::FaultCase fc("duplicate 2-rank start of a run that is training (lock held)");
  test::TempDir dir;
  auto cfg = run_config(dir, 2);
  fs::create_directories(dir.file("run"));
  FileLock held;
  ASSERT_TRUE(held.try_lock(dir.file("run/.lock")));
  auto r = train_failing_at_start(2, cfg, dir.file("run"));
  EXPECT_TRUE(contains(r.output, "already being trained")) << r.output;
  size_t n = 0;
  for (size_t at = r.output.find("already being trained"); at != std::string::npos;
       at = r.output.find("already being trained", at + 1))
    ++n;
  EXPECT_EQ(n, 2u) << "each rank ends with the message: " << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run/FAILED"))) << "a busy run is not a failed run";
}

TEST(StartupErrors, UnwritableOutputDirEndsEveryRankWithTheMessage) {
  test::FaultCase fc("2-rank start with an unwritable run folder");
  test::TempDir dir;
  auto cfg = run_config(dir, 2);
  dir.write("file", "not a folder");
  auto r = train_failing_at_start(2, cfg, dir.file("file/run"));
  EXPECT_TRUE(contains(r.output, "cannot create directory")) << r.output;
}

TEST(StartupErrors, DamagedCheckpointOnResumeFailsEveryRankAndWritesFailed) {
  test::FaultCase fc("2-rank resume from a checkpoint with 20 flipped bytes");
  test::TempDir dir;
  auto cfg = run_config(dir, 2);
  const auto ckpt = stopped_after(2, cfg, dir.file("run"), 2);
  {
    std::fstream f(ckpt, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = fs::file_size(ckpt);
    std::mt19937 rng(7);
    for (int i = 0; i < 20; ++i) {  // in the tensor data: past the first kilobyte, before the zip directory
      f.seekg(std::streamoff(1024 + rng() % (size * 3 / 4 - 1024)));
      char c = 0;
      f.read(&c, 1);
      f.seekp(-1, std::ios::cur);
      c = char(c ^ 0x5a);
      f.write(&c, 1);
    }
  }
  auto r = train_failing_at_start(2, cfg, dir.file("run"));
  expect_failed_cleanly(r, dir.file("run"), "checkpoint checksum mismatch");
  EXPECT_TRUE(contains(r.output, "--restart")) << "the message says what to do: " << r.output;
  ASSERT_TRUE(fs::exists(dir.file("run/FAILED")));
  EXPECT_TRUE(contains(read_text(dir.file("run/FAILED")), "checksum mismatch"));
}

TEST(StartupErrors, TruncatedCheckpointIsAClearError) {
  test::FaultCase fc("resume from a truncated checkpoint");
  test::TempDir dir;
  auto cfg = run_config(dir, 1);
  const auto ckpt = stopped_after(1, cfg, dir.file("run"), 1);
  fs::resize_file(ckpt, fs::file_size(ckpt) / 2);
  auto r = train(1, cfg, dir.file("run"));
  expect_failed_cleanly(r, dir.file("run"), "truncated checkpoint");
  EXPECT_TRUE(fs::exists(dir.file("run/FAILED")));
  // --restart trains it from the start.
  expect_complete(train(1, cfg, dir.file("run"), "", "--restart"), dir.file("run"));
}

// A rank that stops answering (SIGSTOP, as a hung GPU or a frozen node would): the other
// rank's watchdog ends the job with the collective and the time, and FAILED.
TEST(Watchdog, StoppedRankEndsTheJobWithinAMinute) {
  test::FaultCase fc("SIGSTOP of one rank of a 2-rank run (collective watchdog, 10 s)");
  test::TempDir dir;
  auto cfg = run_config(dir, 2, 20);
  auto t0 = std::chrono::steady_clock::now();
  auto r = train(2, cfg, dir.file("run"), "AIMRUN_FAULT=rank=1,step=2,kind=stall", "train.collective_timeout=10");
  const double s = seconds_since(t0);
  EXPECT_LT(s, 60.0) << r.output;
  EXPECT_GT(s, 9.0) << "the watchdog fired before its limit: " << r.output;
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 124) << "hung until timeout: " << r.output;
  EXPECT_TRUE(contains(r.output, "rank 0 waited")) << r.output;
  EXPECT_TRUE(contains(r.output, "(train.collective_timeout)")) << r.output;
  EXPECT_TRUE(contains(r.output, " in MPI_")) << "names the collective: " << r.output;
  ASSERT_TRUE(fs::exists(dir.file("run/FAILED")));
  EXPECT_TRUE(contains(read_text(dir.file("run/FAILED")), "stuck or dead"));
}

// A rank stopped (SIGSTOP, by its PID) as soon as it exists, before MPI_Init: no
// collective watchdog is armed yet (its limit is in the config the ranks have not agreed
// on), and Open MPI's MPI_Init waits for every rank. It hung forever; the start-up deadline
// (train.collective_timeout as each rank reads the config) ends the job, and the run trains
// when started again. Either rank stopped.
TEST(Watchdog, RankStoppedAsItStartsEndsTheJob) {
  for (const char* stopped : {"1", "0"}) {
    test::FaultCase fc(std::string("SIGSTOP of rank ") + stopped + " of 2 as it starts, before MPI_Init (10 s)");
    test::TempDir dir;
    auto cfg = run_config(dir, 2);
    auto t0 = std::chrono::steady_clock::now();
    auto r = test::run_command(
        "AIMRUN_FAULT= OMP_NUM_THREADS=1 timeout 120 " + test::mpirun(2) + " " + test::aimrun() + " train " + cfg +
        " threads=1 train.collective_timeout=10 --run-dir " + dir.file("run") + " > " + dir.file("log") +
        " 2>&1 & job=$!; for i in $(seq 4000); do for p in $(pgrep -f -- 'train " + cfg +
        "'); do if tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=" + stopped +
        "; then kill -STOP $p; echo stopped=$p; break 2; fi; done; sleep 0.002; done; wait $job; echo exit=$?; cat " +
        dir.file("log"));
    const double s = seconds_since(t0);
    ASSERT_TRUE(contains(r.output, "stopped=")) << "the rank was never seen: " << r.output;
    EXPECT_LT(s, 60.0) << r.output;
    EXPECT_GT(s, 9.0) << "ended before the deadline: " << r.output;
    EXPECT_FALSE(contains(r.output, "exit=0")) << r.output;
    EXPECT_FALSE(contains(r.output, "exit=124")) << "hung until timeout: " << r.output;
    EXPECT_TRUE(contains(r.output, " waited 10s in start-up (")) << r.output;
    EXPECT_TRUE(contains(r.output, "another rank is stuck, dead or never started")) << r.output;
    EXPECT_EQ(std::system(("! pgrep -f -- '[t]rain " + cfg + "' > /dev/null").c_str()), 0) << "a rank outlived the job";
    expect_complete(train(2, cfg, dir.file("run")), dir.file("run"));
  }
}

// A rank stopped after the run is complete, before MPI_Finalize (which waits for every
// rank): the other rank ends the job past train.collective_timeout instead of waiting
// forever; the result stays complete.
TEST(Watchdog, RankStoppedBeforeMpiFinalizeEndsTheJobAndKeepsTheResult) {
  test::FaultCase fc("SIGSTOP of rank 1 of 2 after the result is written, before MPI_Finalize (10 s)");
  test::TempDir dir;
  auto cfg = run_config(dir, 2);
  auto t0 = std::chrono::steady_clock::now();
  auto r = train(2, cfg, dir.file("run"), "AIMRUN_FAULT=rank=1,step=end,kind=stall", "train.collective_timeout=10");
  EXPECT_LT(seconds_since(t0), 90.0) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 0 waited 10s in MPI_Finalize (train.collective_timeout)")) << r.output;
  auto again = train(2, cfg, dir.file("run"));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "is complete already")) << again.output;
}

// `aimrun evaluate` on 2 ranks whose rank 0 cannot write the output (a full disk): rank 0
// used to throw and wait in MPI_Finalize for rank 1, which waited in a barrier for it:
// forever, without a word. Now the error ends the job at once with the message.
TEST(RankFailure, EvaluateErrorOnOneRankEndsTheJobWithTheMessage) {
  test::FaultCase fc("2-rank evaluate whose output write fails on rank 0 (ENOSPC)");
  test::TempDir dir;
  auto cfg = run_config(dir, 1, 1);
  expect_complete(train(1, cfg, dir.file("run")), dir.file("run"));
  auto t0 = std::chrono::steady_clock::now();
  auto r = test::run_command(
      "LD_PRELOAD=" AIM_SHIM " AIM_SHIM_PATTERN=.e.h5.tmp AIM_SHIM_FAIL=write OMP_NUM_THREADS=1 timeout 120 " +
      test::mpirun(2) + " " + test::aimrun() + " evaluate --run " + dir.file("run") + " --out " + dir.file("e.h5"));
  EXPECT_LT(seconds_since(t0), 60.0) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 0: no space left on device: " + dir.file("e.h5"))) << r.output;
  EXPECT_TRUE(contains(r.output, "ending the job")) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("e.h5")));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

// USR2 or TERM while the process starts (before any step): a clean stop, exit 75, nothing
// lost. The handlers are in place once the dynamic loader is done (.preinit_array, before
// libtorch's initialisers); the test signals as soon as /proc says they are (SigCgt), while
// the libraries initialise and the dataset is generated.
TEST(Signals, StopDuringStartupExitsCleanly) {
  for (const char* sig : {"USR2", "TERM"}) {
    test::FaultCase fc(std::string("SIG") + sig + " during start-up");
    test::TempDir dir;
    auto cfg = run_config(dir, 1);
    auto r = test::run_command(
        "AIMRUN_CACHE=" + dir.file("cache") + " OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " +
        dir.file("run") +
        " 2>&1 & pid=$!; for i in $(seq 2000); do m=$(awk '/SigCgt/{print $2}' /proc/$pid/status 2>/dev/null); "
        "[ -n \"$m\" ] && [ $(( 0x$m & 0x4800 )) -ne 0 ] && break; sleep 0.005; done; kill -" +
        sig + " $pid; wait $pid; echo exit=$?");
    EXPECT_TRUE(contains(r.output, "exit=75")) << r.output;
    EXPECT_TRUE(contains(r.output, "before the first step")) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("run/FAILED"))) << r.output;
    auto again = train(1, cfg, dir.file("run"));
    EXPECT_EQ(again.exit_code, 0) << again.output;
  }
}

TEST(Loss, NonFiniteLossStopsTheRunWithFailed) {
  for (int ranks : {1, 2}) {
    test::FaultCase fc(std::to_string(ranks) + "-rank run whose loss becomes NaN");
    test::TempDir dir;
    auto cfg = run_config(dir, ranks);
    auto r = train(ranks, cfg, dir.file("run"), "AIMRUN_FAULT=rank=" + std::to_string(ranks - 1) + ",step=4,kind=nan");
    expect_failed_cleanly(r, dir.file("run"), "loss is not finite");
    EXPECT_TRUE(contains(r.output, "epoch 2 step 2")) << r.output;
    ASSERT_TRUE(fs::exists(dir.file("run/FAILED")));
  }
  test::FaultCase fc("train.lr=1e30: the loss overflows");
  test::TempDir dir;
  auto r = train(1, run_config(dir, 1), dir.file("run"), "", "train.lr=1e30 train.warmup_epochs=0");
  expect_failed_cleanly(r, dir.file("run"), "loss is not finite");
}

// On a GPU a step does not read its loss: a NaN is first seen at the next progress line
// (rank 0), which ends the run on every rank there, not at the epoch's end. The same path
// on the CPU: the epoch's loss sum turns NaN without any step having seen it.
TEST(Loss, ANonFiniteLossFirstSeenAtAProgressLineStopsEveryRankThere) {
  for (int ranks : {1, 2}) {
    test::FaultCase fc(std::to_string(ranks) + "-rank run whose NaN only a progress line sees (as on a GPU)");
    test::TempDir dir;
    auto cfg = run_config(dir, ranks);
    auto r =
        train(ranks, cfg, dir.file("run"), "AIMRUN_FAULT=rank=0,step=1,kind=nan_unseen", "train.log_every=0.000001");
    expect_failed_cleanly(r, dir.file("run"), "loss is not finite");
    EXPECT_TRUE(contains(r.output, "at epoch 1 step 2")) << r.output;  // the progress line after step 1
    EXPECT_FALSE(contains(r.output, "in epoch 1")) << r.output;        // not the epoch's end
    ASSERT_TRUE(fs::exists(dir.file("run/FAILED")));
  }
}

// A full disk while the checkpoint is written: a clear error, FAILED, no temporary file;
// and the temporary files a killed write left are removed when the run starts again.
TEST(DiskFull, CheckpointWriteFailsCleanly) {
  test::FaultCase fc("no space left while writing the checkpoint");
  test::TempDir dir;
  auto cfg = run_config(dir, 1);
  auto r = train(1, cfg, dir.file("run"),
                 "LD_PRELOAD=" AIM_SHIM " AIM_SHIM_PATTERN=.checkpoint.pt.tmp AIM_SHIM_FAIL=write,fsync");
  expect_failed_cleanly(r, dir.file("run"), "no space left on device: " + dir.file("run/checkpoint.pt"));
  ASSERT_TRUE(fs::exists(dir.file("run/FAILED")));
  for (const auto& e : fs::directory_iterator(dir.file("run")))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

// Every write into the run folder fails (config.yaml, the log, the ledger, the progress
// file, checkpoints, the result): a clear error, exit 1, no crash, no result; with space
// again, the same command trains the run.
TEST(DiskFull, EveryWriteInTheRunFolderFailsCleanly) {
  for (int ranks : {1, 2}) {
    test::FaultCase fc(std::to_string(ranks) + "-rank run on a run folder with no space at all");
    test::TempDir dir;
    auto cfg = run_config(dir, ranks);
    fs::create_directories(dir.file("run"));
    auto r = train(ranks, cfg, dir.file("run"),
                   "LD_PRELOAD=" AIM_SHIM " AIM_SHIM_FAIL=write,fsync AIM_SHIM_PATTERN=" + dir.file("run/"));
    expect_failed_cleanly(r, dir.file("run"), "no space left on device");
    expect_complete(train(ranks, cfg, dir.file("run")), dir.file("run"));
  }
}

TEST(DiskFull, StaleTemporaryFilesAreRemovedOnTheNextStart) {
  test::FaultCase fc("temporary files left by killed writes");
  test::TempDir dir;
  auto cfg = run_config(dir, 1, 1);
  dir.write("run/.checkpoint.pt.tmp-99999", "half a checkpoint");
  dir.write("run/.result.h5.tmp-99998", "half a result");
  auto r = train(1, cfg, dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run/.checkpoint.pt.tmp-99999")));
  EXPECT_FALSE(fs::exists(dir.file("run/.result.h5.tmp-99998")));
}

// The world size is part of the identity: 1 and 2 ranks give different numbers, so they are
// different runs in different folders; a config that names a world size refuses another.
TEST(Identity, OneAndTwoRanksAreDifferentRuns) {
  test::FaultCase fc("1-rank and 2-rank runs of one config");
  test::TempDir dir;
  auto cfg = run_config(dir, 2, 1);
  auto one = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto two = test::run_command("OMP_NUM_THREADS=1 " + test::mpirun(2) + " " + test::aimrun() + " train " + cfg);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(dir.file("out/runs"))) ids.push_back(e.path().filename().string());
  EXPECT_EQ(ids.size(), 2u) << one.output << two.output;
  auto wrong = test::run_command(test::aimrun() + " train " + cfg + " world_size=2");
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  EXPECT_TRUE(contains(wrong.output, "world_size")) << wrong.output;
}

// No flock (NFS without lockd, Lustre without -o flock): the O_EXCL owner file stands in;
// the run trains, and a second process is refused while it does.
TEST(SharedFileSystems, RunLockFallsBackWhenFlockIsMissing) {
  for (const char* err : {"ENOLCK", "EOPNOTSUPP", "ENOSYS"}) {
    test::FaultCase fc(std::string("flock fails with ") + err);
    test::TempDir dir;
    auto cfg = run_config(dir, 1, 2);
    const std::string env =
        std::string("LD_PRELOAD=" AIM_SHIM " AIM_SHIM_FAIL=flock AIM_SHIM_PATTERN=/ AIM_SHIM_FLOCK_ERRNO=") + err;
    // The first process is held (SIGSTOP) once its owner file names it, so the second starts
    // while it holds the run however fast it trains; woken after the second ends, it finishes.
    auto r = test::run_command(env + " OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " +
                               dir.file("run") + " > " + dir.file("log") + " 2>&1 & pid=$!; for i in $(seq 1200); do " +
                               "[ \"$(cut -d' ' -f2 " + dir.file("run/.lock.owner") +
                               " 2>/dev/null)\" = $pid ] && break; sleep 0.05; done; kill -STOP $pid; " + env + " " +
                               test::aimrun() + " train " + cfg + " --run-dir " + dir.file("run") +
                               " 2>&1; echo second=$?; kill -CONT $pid; wait $pid; echo first=$?");
    EXPECT_TRUE(contains(r.output, "already being trained")) << r.output;
    EXPECT_TRUE(contains(r.output, "second=4")) << "busy, not failed: " << r.output;
    EXPECT_TRUE(contains(r.output, "first=0")) << r.output << read_text(dir.file("log"));
    EXPECT_TRUE(fs::exists(dir.file("run/result.h5")));
    EXPECT_FALSE(fs::exists(dir.file("run/.lock.owner"))) << "the owner file is removed at the end";
  }
}

TEST(SharedFileSystems, StaleOwnerFileIsTakenOver) {
  test::FaultCase fc("stale fallback lock left by a dead process");
  test::TempDir dir;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  // A live owner (this test process, a fresh heartbeat) is respected...
  dir.write("run/.lock.owner",
            std::string(host) + " " + std::to_string(getpid()) + " " + std::to_string(long(std::time(nullptr))) + "\n");
  const std::string cmd = "LD_PRELOAD=" AIM_SHIM " AIM_SHIM_FAIL=flock AIM_SHIM_PATTERN=/ OMP_NUM_THREADS=1 " +
                          test::aimrun() + " train " + run_config(dir, 1, 1) + " --run-dir " + dir.file("run");
  auto busy = test::run_command(cmd);
  EXPECT_NE(busy.exit_code, 0) << busy.output;
  EXPECT_TRUE(contains(busy.output, "already being trained")) << busy.output;
  // ...one that names a pid no longer running here is taken over.
  dir.write("run/.lock.owner", std::string(host) + " 999999 " + std::to_string(long(std::time(nullptr))) + "\n");
  auto r = test::run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run/.lock.owner")));
  // So is one not rewritten for more than FileLock::kStaleSeconds, from any host.
  dir.write("run/.lock.owner", "elsewhere 1 " + std::to_string(long(std::time(nullptr))) + "\n");
  set_age(dir.file("run/.lock.owner"), FileLock::kStaleSeconds + 60);
  auto forced = test::run_command(cmd + " --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
}

// An owner file's age is the file system's: its modification time against the time of a
// file created beside it now, never the heartbeat written in it by a host whose clock may
// be off. Before, a live owner on a host 2 minutes slow was taken over (two processes
// trained one run), and a dead one from a host whose clock was ahead blocked its run for
// as long as the clocks differed. An owner file without its owner line is being created.
TEST(SharedFileSystems, OwnerFileAgeIsTheFileSystemsNotTheHeartbeatWrittenInIt) {
  test::FaultCase fc("fallback lock: clock skew between hosts, an owner file being created");
  test::TempDir dir;
  const auto owner = dir.file(".lock.owner");
  const long now = long(std::time(nullptr));
  struct Case {
    std::string text;
    int age;  // seconds since its last write, on the file system's clock
    bool held;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"elsewhere 1 " + std::to_string(now - 100000) + "\n", 0, true, "a live owner whose clock is a day slow"},
      {"elsewhere 1 " + std::to_string(now - 100000) + "\n", 30, true, "the same, its last beat 30 s ago"},
      {"elsewhere 1 " + std::to_string(now + 100000) + "\n", FileLock::kStaleSeconds + 30, false,
       "a dead owner whose clock was a day fast"},
      {"elsewhere 1 " + std::to_string(now) + "\n", FileLock::kStaleSeconds + 30, false,
       "a dead owner, clocks agreeing"},
      {"", 0, true, "an owner file being created (empty)"},
      {"elsew", 1, true, "an owner file being created (its line half-written)"},
      {"", FileLock::kCreatingSeconds + 20, false, "an empty owner file its creator left"},
      {"elsewhere 1 ", FileLock::kCreatingSeconds + 20, true, "the host and pid are there: the age decides"},
  };
  for (const auto& c : cases) {
    dir.write(".lock.owner", c.text);
    set_age(owner, c.age);
    EXPECT_EQ(owner_file_held(owner), c.held) << c.why;
  }
  // No probe file is left beside it.
  for (const auto& e : fs::directory_iterator(dir.path())) EXPECT_EQ(e.path().filename(), ".lock.owner") << e.path();
}

// A process that holds the fallback lock and is frozen (SIGSTOP, a hung node) for longer
// than kStaleSeconds has its run taken over by the next `train`. When it wakes it finds
// its owner file replaced: every rank ends at the next step with exit 4 (busy, not failed),
// writes no checkpoint, no result, no FAILED, and leaves the new owner's file alone.
// Before, it trained on beside the new owner (both writing the run's checkpoint), rewrote
// the new owner's file with its own heartbeat, and at its end removed it.
TEST(SharedFileSystems, AProcessFrozenPastItsLockEndsWithoutWritingWhenItWakes) {
  for (int ranks : {1, 2}) {
    test::FaultCase fc("a rank holding the fallback lock frozen past its staleness, on " + std::to_string(ranks) +
                       " rank(s)");
    test::TempDir dir;
    auto cfg = dir.write("c.yaml", "output_dir: " + dir.file("out") +
                                       "\ndataset: {train_size: " + std::to_string(480 * ranks) +
                                       ", val_size: 64, test_size: 96}\nmodel: {width: 8}\nmethod: {name: aim}\n"
                                       "train: {epochs: 4, batch_size: 16, log_every: 0}\n"
                                       "eval: {attributions: [mask], keep_maps: 2, pictures: 0}\n");
    const std::string shim = "LD_PRELOAD=" AIM_SHIM " AIM_SHIM_FAIL=flock AIM_SHIM_PATTERN=/ ";
    const std::string launcher =
        ranks > 1 ? test::mpirun(ranks) + " -x LD_PRELOAD -x AIM_SHIM_FAIL -x AIM_SHIM_PATTERN " : std::string();
    const std::string train = shim + "OMP_NUM_THREADS=1 timeout 300 " + launcher + test::aimrun() + " train " + cfg +
                              " threads=1 --run-dir " + dir.file("run");
    const std::string owner = dir.file("run/.lock.owner");
    // The owner file ("host pid heartbeat") names rank 0's pid: stop that process once the
    // run has a checkpoint, make its owner file look as a frozen process's does (not
    // rewritten for 5 minutes: its heartbeat and its modification time; the same file,
    // which the process holds open), start a second job, and wake the first once the second
    // holds the run.
    auto owner_field = [&](int i) {
      const auto fields = split(test::text_or_empty(owner), ' ');
      return fields.size() > size_t(i) ? fields[size_t(i)] : std::string();
    };
    test::Background first(train, dir.file("a.log"));
    ASSERT_TRUE(test::wait_until([&] { return fs::exists(dir.file("run/checkpoint.pt")); }, 60, 0.05))
        << "no checkpoint: " << read_text(dir.file("a.log"));
    const std::string p = owner_field(1);
    ASSERT_FALSE(p.empty()) << read_text(owner);
    ::kill(pid_t(std::stol(p)), SIGSTOP);
    const long long old_beat =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
        300;
    { std::ofstream(owner) << owner_field(0) << " " << p << " " << old_beat << "\n"; }
    fs::last_write_time(owner, fs::file_time_type::clock::now() - std::chrono::seconds(300));
    test::Background second(train, dir.file("b.log"));
    std::string q;
    const bool taken = test::wait_until(
        [&] {
          q = owner_field(1);
          return !q.empty() && q != p;
        },
        60, 0.05);
    ::kill(pid_t(std::stol(p)), SIGCONT);
    ASSERT_TRUE(taken) << "the second job never took the run over: " << read_text(dir.file("b.log"));
    const int first_code = first.wait(300);
    const bool owner_lost = ::kill(pid_t(std::stol(q)), 0) == 0 && owner_field(1) != q;  // while q runs, its file stays
    const int second_code = second.wait(300);
    const std::string a_log = read_text(dir.file("a.log")), b_log = read_text(dir.file("b.log"));
    const std::string all = "--- first:\n" + a_log + "\n--- second:\n" + b_log;
    EXPECT_EQ(first_code, 4) << "busy, not failed: " << all;
    EXPECT_TRUE(contains(a_log, "lost its lock " + owner)) << all;
    EXPECT_FALSE(owner_lost) << "the first job rewrote or removed the second's owner file: " << all;
    EXPECT_EQ(second_code, 0) << all;
    EXPECT_FALSE(fs::exists(dir.file("run/FAILED"))) << all;
    EXPECT_FALSE(fs::exists(owner)) << "the second job removes its owner file at its end";
    EXPECT_EQ(inspect_run_folder(RunPaths{dir.file("run")}).state, RunState::Done) << all;
  }
}

// Why did a run die: the session ledger records each process session; one killed outright
// is closed by the next session (or by `sweep status`) from the last progress it wrote.
TEST(Ledger, KilledAndStoppedSessionsAreRecordedAndShown) {
  test::FaultCase fc("SIGKILL of a run, then a stop, then the end: the session ledger");
  test::TempDir dir;
  // 16 steps an epoch: killed in the second epoch, stopped in it again after the resume.
  auto spec = dir.write(
      "s.yaml", test::small_run_config(dir.file("out"), 2, 0, 1000) + "sweep:\n  name: led\n  grid:\n    seed: [4]\n");
  auto killed = test::run_command("AIMRUN_FAULT=rank=0,step=20,kind=kill " + test::aimrun() + " sweep run " + spec);
  EXPECT_NE(killed.exit_code, 0) << killed.output;
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_TRUE(contains(status.output, "ended without a record")) << status.output;
  EXPECT_TRUE(contains(status.output, "killed 1 time")) << status.output;
  auto stopped = test::run_command("AIMRUN_FAULT=rank=0,step=24,kind=stop " + test::aimrun() + " sweep run " + spec);
  auto status2 = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_TRUE(contains(status2.output, "preempted 1 time")) << stopped.output << status2.output;
  auto done = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(done.exit_code, 0) << done.output;
  std::string ledger, run_dir;
  for (const auto& e : fs::directory_iterator(dir.file("out/runs"))) run_dir = e.path().string();
  ledger = read_text(run_dir + "/sessions.jsonl");
  // result.h5 keeps the ledger up to the result: every line but the last session's end.
  auto rec = results::read_run_file(run_dir + "/result.h5");
  ASSERT_EQ(rec.sessions.size(), 5u);
  EXPECT_EQ(rec.sessions[1].by, "next session");
  EXPECT_EQ(rec.sessions[3].exit_code, 75);
  EXPECT_EQ(rec.sessions[4].event, "start");
  // start, (inferred) end, start, end 75, start, end 0
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), '\n'), 6) << ledger;
  EXPECT_TRUE(contains(ledger, "\"by\": \"next session\"")) << ledger;
  EXPECT_TRUE(contains(ledger, "\"exit_code\": 75")) << ledger;
  EXPECT_TRUE(contains(ledger, "\"cause\": \"complete\"")) << ledger;
}

// A process stopped or frozen while it generates the built-in dataset's cache (holding the
// cache's lock) holds no other run up for longer than dataset.cache_wait: the next run
// generates its own copy, trains, and ends with the numbers the first one gets from the
// cache it writes once woken. Before, every other run on that cache waited for the lock
// forever, without a word (and a multi-rank run's other ranks with it, outside any
// collective the watchdog sees), deaf to TERM and USR2.
TEST(StuckProcess, AFrozenCacheWriterHoldsNoOtherRunUpPastTheCacheWait) {
  test::FaultCase fc("a process stopped while it generates the built-in dataset's cache");
  test::TempDir dir;
  // 6000 images: their generation (the time the lock is held) spans dozens of the polls below.
  auto cfg = dir.write("c.yaml", "output_dir: " + dir.file("out") + "\ndataset: {train_size: 6000, val_size: 64, " +
                                     "test_size: 96, cache_dir: " + dir.file("cache") +
                                     "}\nmodel: {width: 8}\nmethod: {name: aim}\n"
                                     "train: {epochs: 1, batch_size: 500, log_every: 0}\n"
                                     "eval: {attributions: [mask], keep_maps: 2, pictures: 0}\n");
  const std::string train = "OMP_NUM_THREADS=1 timeout 90 " + test::aimrun() + " train " + cfg + " threads=1 ";
  // The first one without `timeout`: its pid is aimrun's, the process to stop once it holds
  // the cache's lock (a lock file there that flock cannot take).
  test::Background first("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " threads=1", dir.file("a.log"));
  std::string held;
  auto lock_held = [&] {
    if (!fs::exists(dir.file("cache"))) return false;
    for (const auto& e : fs::directory_iterator(dir.file("cache"))) {
      if (e.path().extension() != ".lock") continue;
      const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      const bool taken = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
      ::close(fd);
      if (taken) return held = e.path().string(), true;
    }
    return false;
  };
  const bool seen_holding = test::wait_until(lock_held, 30, 0.01);
  first.signal(SIGSTOP);
  test::CommandResult r;
  r.output = "stopped-holding=" + held + "\n";
  if (seen_holding) {
    test::Background third(train + "output_dir=" + dir.file("out3"), dir.file("c.log"));
    if (test::wait_until(
            [&] { return contains(test::text_or_empty(dir.file("c.log")), "waiting for another process writing"); }, 60,
            0.02))
      r.output += "third-waits\n";
    third.signal(SIGTERM);
    r.output += "stopped-waiting=" + std::to_string(third.wait(90)) + "\n";
    auto second = test::run_command(train + "output_dir=" + dir.file("out2") + " dataset.cache_wait=2 > " +
                                    dir.file("b.log") + " 2>&1");
    r.output += "second=" + std::to_string(second.exit_code) + "\n";
  }
  first.signal(SIGCONT);
  r.output += "first=" + std::to_string(first.wait(300)) + "\n";
  const std::string b_log = read_text(dir.file("b.log"));
  const std::string all = r.output + "\n--- first:\n" + read_text(dir.file("a.log")) + "\n--- second:\n" + b_log;
  ASSERT_TRUE(contains(r.output, "stopped-holding=" + dir.file("cache"))) << "never seen holding the lock: " << all;
  EXPECT_TRUE(contains(r.output, "third-waits")) << "the third run never said it waits for the lock: " << all;
  EXPECT_TRUE(contains(r.output, "second=0")) << all;
  EXPECT_TRUE(contains(b_log, "generating this run's own copy (not cached)")) << all;
  EXPECT_TRUE(contains(r.output, "first=0")) << all;
  // A stop (TERM, Slurm's USR2) while it waits ends the wait: exit 75, nothing to save, no
  // FAILED. Before, the signal was lost and the wait went on.
  const std::string c_log = read_text(dir.file("c.log"));
  EXPECT_TRUE(contains(r.output, "stopped-waiting=75")) << all << "\n--- third:\n" << c_log;
  EXPECT_TRUE(contains(c_log, "a stop was requested while waiting for another process writing the built-in dataset"))
      << c_log;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("out3")))
    EXPECT_NE(e.path().filename(), "FAILED") << read_text(e.path().string());
  std::string a_result, b_result;
  for (const auto& e : fs::directory_iterator(dir.file("out/runs"))) a_result = e.path().string() + "/result.h5";
  for (const auto& e : fs::directory_iterator(dir.file("out2/runs"))) b_result = e.path().string() + "/result.h5";
  test::expect_same_results(a_result, b_result);
}

// A full disk (or a writer killed mid-write) can leave the ledger's last line without its
// newline. The next session's line is written after a newline of its own (append_line), so
// the torn line costs itself only. Before, the next start line was glued to it and both
// were lost: the result's /sessions missed the session that wrote it.
TEST(Ledger, ALineAFullDiskCutShortCostsThatLineOnly) {
  test::FaultCase fc("a session ledger line cut short by a full disk");
  test::TempDir dir;
  auto cfg = run_config(dir, 1, 2);
  auto stopped = train(1, cfg, dir.file("run"), "AIMRUN_FAULT=rank=0,step=2,kind=stop");
  ASSERT_EQ(stopped.exit_code, 75) << stopped.output;
  {
    std::ofstream torn(dir.file("run/sessions.jsonl"), std::ios::app);
    torn << "{\"event\": \"end\", \"time\": 17";
  }
  auto done = train(1, cfg, dir.file("run"));
  ASSERT_EQ(done.exit_code, 0) << done.output;
  const std::string ledger = read_text(dir.file("run/sessions.jsonl"));
  EXPECT_TRUE(contains(ledger, "\"time\": 17\n")) << "the torn line ends there: " << ledger;
  auto rec = results::read_run_file(dir.file("run/result.h5"));
  ASSERT_EQ(rec.sessions.size(), 3u) << ledger;  // start, end 75, start (its end follows the result)
  EXPECT_EQ(rec.sessions[1].exit_code, 75) << ledger;
  EXPECT_EQ(rec.sessions[2].event, "start") << ledger;
}

// One definition of a run's state (results::inspect_run_folder): a damaged result.h5 is
// "unreadable" to sweep status and report alike, and the next sweep run (through train)
// trains the run again instead of calling it complete.
TEST(RunStates, DamagedResultIsUnreadableEverywhereAndTrainedAgain) {
  test::FaultCase fc("a result.h5 truncated after it was complete");
  test::TempDir dir;
  auto spec =
      dir.write("s.yaml", test::small_run_config(dir.file("out"), 1) + "sweep:\n  name: st\n  grid:\n    seed: [6]\n");
  ASSERT_EQ(test::run_command(test::aimrun() + " sweep run " + spec).exit_code, 0);
  std::string result;
  for (const auto& e : fs::directory_iterator(dir.file("out/runs"))) result = e.path().string() + "/result.h5";
  fs::resize_file(result, fs::file_size(result) / 2);
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_TRUE(contains(status.output, "unreadable")) << status.output;
  EXPECT_TRUE(contains(status.output, "1 unreadable")) << status.output;
  auto report = test::run_command(test::aimrun() + " report " + dir.file("out/st"));
  EXPECT_NE(report.exit_code, 0) << report.output;
  EXPECT_TRUE(contains(report.output, "unreadable")) << report.output;
  auto again = test::run_command(test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "1 trained")) << again.output;
  auto after = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_TRUE(contains(after.output, "1 done")) << after.output;
}
