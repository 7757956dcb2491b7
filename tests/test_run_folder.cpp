// The run-folder module (results/run_folder.h): each state from the files that make it, the
// order of the checks (a retried run is locked and may still have its old FAILED), and
// train's, the sweep's and the report's views agreeing on every folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <tuple>

#include "core/file_lock.h"
#include "core/files.h"
#include "results/found_runs.h"
#include "results/run_file.h"
#include "results/run_folder.h"
#include "runner/evaluate.h"
#include "runner/sweep/run_state.h"
#include "test_util.h"

using namespace aim;

namespace {

results::RunRecord small_record(const std::string& id) {
  results::RunRecord r;
  r.run_id = id;
  r.config_yaml = "seed: 0\n";
  r.text["identity_yaml"] = r.config_yaml;
  r.config = {{"seed", "0"}};
  r.curves.epoch = {1};
  r.curves.series["train_loss"] = {0.5};
  results::SplitResult s;  // a result file has at least one evaluated split
  s.split = "test";
  s.label = {0, 1};
  s.pred = {0, 1};
  s.group = {0, 1};
  s.group_names = {"a", "b"};
  fill_group_metrics(s, 2);
  r.splits.push_back(s);
  return r;
}

// A run folder made of the given files, below a TempDir.
struct Folder {
  test::TempDir tmp;
  RunPaths paths{tmp.file("runs/r1")};
  Folder() { std::filesystem::create_directories(paths.dir); }
  void config() { tmp.write("runs/r1/config.yaml", "seed: 0\n"); }
  void result() { results::write_run_file(paths.result(), small_record("r1")); }
  void damaged_result() { tmp.write("runs/r1/result.h5", "not an HDF5 file"); }
  void failed(const std::string& text) { tmp.write("runs/r1/FAILED", text); }
  void checkpoint() { tmp.write("runs/r1/checkpoint.pt", "weights"); }
};

// The state the report lists the folder with (find_runs over its parent).
std::string report_state(const Folder& f) {
  auto found = results::find_runs(f.tmp.file("runs"));
  return found.size() == 1 ? found[0].state : "found " + std::to_string(found.size());
}

// Train, the sweep commands and the report see `expected`.
void expect_state(const Folder& f, RunState expected) {
  EXPECT_EQ(inspect_run_folder(f.paths).state, expected);
  EXPECT_EQ(inspect_run(f.paths).state, expected);
  EXPECT_EQ(report_state(f), to_string(expected));
}

// The detail of the folder's state, of the sweep's (inspect_run) and of the report's.
using Details = std::tuple<std::string, std::string, std::string>;
Details details(const Folder& f) {
  return {inspect_run_folder(f.paths).detail, inspect_run(f.paths).detail,
          results::find_runs(f.tmp.file("runs")).at(0).detail};
}

// The state while a process holds the run's lock, and once it has let go.
void expect_states(const Folder& f, RunState locked, RunState unlocked) {
  {
    FileLock lock;
    ASSERT_TRUE(lock.try_lock(f.paths.lock()));
    SCOPED_TRACE("locked");
    expect_state(f, locked);
  }
  SCOPED_TRACE("unlocked");
  expect_state(f, unlocked);
}

}  // namespace

TEST(RunFolder, PathsOfARunFolder) {
  const RunPaths p = run_folder("out", "0123456789ab");
  EXPECT_EQ(p.dir, "out/runs/0123456789ab");
  EXPECT_EQ(p.result(), "out/runs/0123456789ab/result.h5");
  EXPECT_EQ(p.failed(), "out/runs/0123456789ab/FAILED");
  EXPECT_EQ(p.lock(), "out/runs/0123456789ab/.lock");
  EXPECT_EQ(p.checkpoint(), "out/runs/0123456789ab/checkpoint.pt");
  EXPECT_EQ(p.progress(), "out/runs/0123456789ab/progress.json");
  EXPECT_EQ(p.ledger(), "out/runs/0123456789ab/sessions.jsonl");
}

TEST(RunFolder, AFolderIsARunsWhenItHasAConfigOrAResult) {
  Folder f;
  EXPECT_FALSE(is_run_folder(f.paths.dir));
  f.config();
  EXPECT_TRUE(is_run_folder(f.paths.dir));
  std::filesystem::remove(f.paths.config());
  f.result();
  EXPECT_TRUE(is_run_folder(f.paths.dir));
}

TEST(RunFolder, PendingSaysWhetherACheckpointWillBeResumed) {
  Folder f;
  f.config();
  expect_state(f, RunState::Pending);
  EXPECT_FALSE(inspect_run_folder(f.paths).has_checkpoint);
  EXPECT_EQ(details(f), Details("", "", "not started"));
  f.checkpoint();
  expect_state(f, RunState::Pending);
  EXPECT_TRUE(inspect_run_folder(f.paths).has_checkpoint);
  EXPECT_EQ(details(f), Details("", "has a checkpoint, will resume", "incomplete (has a checkpoint)"));
}

TEST(RunFolder, FailedSaysTheFirstLineOfItsError) {
  Folder f;
  f.config();
  f.checkpoint();
  f.failed("  loss is not finite at epoch 2 step 7\nmore\n");
  expect_state(f, RunState::Failed);
  const std::string first = "loss is not finite at epoch 2 step 7";
  EXPECT_EQ(details(f), Details(first, first, first));
}

TEST(RunFolder, ALockHeldByAProcessIsRunning) {
  Folder f;
  f.config();
  expect_states(f, RunState::Running, RunState::Pending);
}

// The drift the module ended: a run that failed and is being trained again holds the lock
// while its old FAILED is still there. It is running (not failed: `sweep run` must leave it
// to its process, and the report must not list an error that is being retried).
TEST(RunFolder, ARetriedRunIsRunningThoughItsOldFailedIsThere) {
  Folder f;
  f.config();
  f.failed("out of memory\n");
  expect_states(f, RunState::Running, RunState::Failed);
  EXPECT_EQ(details(f), Details("out of memory", "out of memory", "out of memory"));
}

TEST(RunFolder, ARunTrainedAgainOverADamagedResultIsRunning) {
  Folder f;
  f.config();
  f.damaged_result();
  expect_states(f, RunState::Running, RunState::Unreadable);
}

TEST(RunFolder, ADamagedResultIsUnreadableBeforeAnOldFailed) {
  Folder f;
  f.config();
  f.damaged_result();
  f.failed("an old error\n");
  expect_state(f, RunState::Unreadable);
  EXPECT_NE(inspect_run_folder(f.paths).detail, "");
  EXPECT_EQ(inspect_run(f.paths).detail.rfind("result.h5 unreadable: ", 0), 0u) << inspect_run(f.paths).detail;
  auto found = results::find_runs(f.tmp.file("runs"));
  EXPECT_EQ(found.at(0).path, f.paths.result());
}

// A complete result is final: done even while its process still holds the lock as it exits,
// and whatever an earlier attempt left in FAILED.
TEST(RunFolder, ACompleteResultIsDoneWhateverElseIsThere) {
  Folder f;
  f.config();
  f.checkpoint();
  f.failed("an old error\n");
  f.result();
  expect_states(f, RunState::Done, RunState::Done);
  auto state = inspect_run_folder(f.paths);
  EXPECT_EQ(state.record.run_id, "r1");
  EXPECT_EQ(state.detail, "");
  auto found = results::find_runs(f.tmp.file("runs"));
  EXPECT_EQ(found.at(0).path, f.paths.result());
  EXPECT_EQ(found.at(0).record.run_id, "r1");
}

TEST(RunFolder, WriteFailedMakesTheRunFailed) {
  Folder f;
  f.config();
  write_failed(f.paths, "upstream abc failed: boom");
  EXPECT_EQ(read_text(f.paths.failed()), "upstream abc failed: boom\n");
  expect_state(f, RunState::Failed);
}

TEST(RunFolder, StateNames) {
  EXPECT_EQ(to_string(RunState::Done), "done");
  EXPECT_EQ(to_string(RunState::Running), "running");
  EXPECT_EQ(to_string(RunState::Unreadable), "unreadable");
  EXPECT_EQ(to_string(RunState::Failed), "failed");
  EXPECT_EQ(to_string(RunState::Pending), "pending");
}
