// Each artifact is bound to its run (issue 36, item 2): a run folder's files name their run,
// and every reader checks it. Files are swapped between two runs and between the stages of a
// sweep, as a careless user or a hostile copy would; nothing is resumed, trained or called
// done from another run's file. And the train command's session (runner/cli/run_session.h):
// a failure is printed once; exit codes from core/exit_codes.h.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/exit_codes.h"
#include "core/files.h"
#include "results/run_file.h"
#include "results/run_folder.h"
#include "runner/checkpoint.h"
#include "runner/schema.h"
#include "runner/session_ledger.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/slurm_executor.h"
#include "runner/sweep/sweep_spec.h"
#include "runner/sweep/upstream.h"
#include "runner/trained_run.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

// A tiny run on the built-in dataset (a second or two): 4 steps an epoch.
std::string tiny_config(const std::string& output_dir) {
  return "output_dir: " + output_dir +
         "\n"
         "dataset: {train_size: 256, val_size: 64, test_size: 64}\n"
         "model: {width: 4}\n"
         "train: {epochs: 1, batch_size: 64, log_every: 0}\n"
         "eval: {attributions: [gradcam], keep_maps: 0, pictures: 0, mask_confidence: false}\n";
}

std::string run_id_of(const std::string& config, std::vector<std::string> overrides) {
  overrides.push_back("world_size=1");  // as `aimrun train` fills it in
  return load_run_config(config, overrides).run_id();
}

test::CommandResult train(const std::string& config, const std::string& args, const std::string& env = "") {
  return test::run_command(env + " " + test::aimrun() + " train " + config + " " + args);
}

// Every file below `dir` (names, bytes): what "nothing was written" is checked against.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text(e.path().string());
  return out;
}

void copy_over(const std::string& from, const std::string& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// `python3 -c` with the standard library and h5py: the independent side of a check.
std::string python(const std::string& script) {
  auto r = test::run_command("/usr/bin/python3 -c '" + script + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) r.output.pop_back();
  return r.output;
}

}  // namespace

// Find 4: `aimrun train CONFIG --run-dir <another run's folder>` said "complete already", or
// resumed from the other run's checkpoint and overwrote config.yaml. Now it is refused (exit
// 2) naming both runs and the folder, before anything is written: whatever file of the other
// run the folder holds (config.yaml, checkpoint.pt, the result).
TEST(RunBinding, RunDirOfAnotherRunIsRefusedBeforeAnythingIsWritten) {
  test::TempDir dir;
  const auto config = dir.write("c.yaml", tiny_config(dir.file("out")));
  const auto a = run_id_of(config, {}), b = run_id_of(config, {"seed=1"});
  ASSERT_NE(a, b);
  auto expect_refused = [&](const std::string& folder, const std::string& file) {
    const auto before = snapshot(folder);
    auto r = train(config, "seed=1 --run-dir " + folder);
    EXPECT_EQ(r.exit_code, kExitConfig) << r.output;
    for (const auto& part : {a, b, folder, file}) EXPECT_TRUE(has(r.output, part)) << part << " in\n" << r.output;
    EXPECT_FALSE(has(r.output, "complete already")) << r.output;
    EXPECT_EQ(snapshot(folder), before) << "a file of " << folder << " was written";
  };
  // Run a, stopped with a checkpoint: pending.
  auto stopped = train(config, "--run-dir " + dir.file("a"), "AIMRUN_FAULT=rank=0,step=2,kind=stop");
  ASSERT_EQ(stopped.exit_code, kExitStopped) << stopped.output;
  expect_refused(dir.file("a"), "config.yaml");
  // Run a, complete.
  ASSERT_EQ(train(config, "--run-dir " + dir.file("a")).exit_code, 0);
  expect_refused(dir.file("a"), "config.yaml");
  // Without its config.yaml, its checkpoint and its result still name run a.
  fs::remove(dir.file("a/config.yaml"));
  expect_refused(dir.file("a"), "checkpoint.pt");
  fs::remove(dir.file("a/checkpoint.pt"));
  expect_refused(dir.file("a"), "result.h5");
  // Run b in its own folder trains as before.
  EXPECT_EQ(train(config, "seed=1 --run-dir " + dir.file("b")).exit_code, 0);
}

// A checkpoint of another run in a run's folder is never resumed: `train` refuses it before
// writing (--restart discards it), and every reader (the trainer, evaluate/predict/pictures
// through load_trained_run) checks the run it names; the header and the state inside it
// (under its CRC) must agree.
TEST(RunBinding, ACheckpointOfAnotherRunIsNeverResumedNorRead) {
  test::TempDir dir;
  const auto config = dir.write("c.yaml", tiny_config(dir.file("out")));
  const auto a = run_id_of(config, {}), b = run_id_of(config, {"seed=1"});
  const std::string stop = "AIMRUN_FAULT=rank=0,step=2,kind=stop";
  ASSERT_EQ(train(config, "--run-dir " + dir.file("a"), stop).exit_code, kExitStopped);
  ASSERT_EQ(train(config, "seed=1 --run-dir " + dir.file("b"), stop).exit_code, kExitStopped);
  EXPECT_EQ(checkpoint_run_id(dir.file("a/checkpoint.pt")), a);
  EXPECT_EQ(read_checkpoint_state(dir.file("a/checkpoint.pt"), a).run_id, a);
  EXPECT_EQ(read_checkpoint_state(dir.file("a/checkpoint.pt"), "").run_id, a) << "\"\": any run";
  try {
    read_checkpoint_state(dir.file("a/checkpoint.pt"), b);
    ADD_FAILURE() << "run a's checkpoint read as run b's";
  } catch (const DataError& e) {
    EXPECT_TRUE(has(e.what(), "the checkpoint of run " + a + ", not of run " + b)) << e.what();
  }
  // Run a's checkpoint put into run b's folder.
  copy_over(dir.file("a/checkpoint.pt"), dir.file("b/checkpoint.pt"));
  const auto before = snapshot(dir.file("b"));
  auto r = train(config, "seed=1 --run-dir " + dir.file("b"));
  EXPECT_EQ(r.exit_code, kExitConfig) << r.output;
  EXPECT_TRUE(has(r.output, dir.file("b/checkpoint.pt") + " is the checkpoint of run " + a)) << r.output;
  EXPECT_TRUE(has(r.output, "--restart")) << r.output;
  EXPECT_FALSE(has(r.output, "resuming from")) << r.output;
  EXPECT_EQ(snapshot(dir.file("b")), before);
  // A header edited to name run b over run a's state: damaged, not resumed.
  auto bytes = read_text(dir.file("b/checkpoint.pt"));
  bytes.replace(bytes.find(" run=" + a), 5 + a.size(), " run=" + b);
  write_text_atomic(dir.file("b/checkpoint.pt"), bytes);
  r = train(config, "seed=1 --run-dir " + dir.file("b"));
  EXPECT_EQ(r.exit_code, kExitError) << r.output;
  EXPECT_TRUE(has(r.output, "the header names run '" + b + "', the state inside run '" + a + "'")) << r.output;
  EXPECT_FALSE(has(r.output, "resuming from")) << r.output;
  // --restart discards it and trains run b from the start.
  r = train(config, "seed=1 --run-dir " + dir.file("b") + " --restart");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(results::read_run_file(dir.file("b/result.h5")).run_id, b);
  // A complete run whose checkpoint is another's: predict, evaluate and pictures refuse it.
  ASSERT_EQ(train(config, "--run-dir " + dir.file("a")).exit_code, 0);
  copy_over(dir.file("a/checkpoint.pt"), dir.file("b/checkpoint.pt"));
  try {
    load_trained_run(dir.file("b"), {"device=cpu"});
    ADD_FAILURE() << "run a's weights loaded as run b's";
  } catch (const DataError& e) {
    EXPECT_TRUE(has(e.what(), "the checkpoint of run " + a + ", not of run " + b)) << e.what();
  }
}

// Find 3 and the fine-tune's record: a staged sweep whose finetune run records the CRC-32 of
// the upstream checkpoint it started from and of the upstream's result.h5 (checked here with
// Python's zlib, in result.h5 and in summary.json); an upstream whose checkpoint.pt is another
// run's is refused naming the file, before the finetune's folder changes; an upstream whose
// result.h5 is another run's (with or without its summary) is not done for `sweep status`,
// and is refused.
TEST(RunBinding, AStagedSweepTakesNoFileSwappedBetweenItsRuns) {
  test::TempDir dir;
  const auto spec = dir.write("s.yaml", tiny_config(dir.file("out")) +
                                            "sweep:\n  name: staged\n  stages:\n"
                                            "    - name: pretrain\n      grid: {seed: [0, 1]}\n"
                                            "    - name: finetune\n      init_from: pretrain\n"
                                            "      set: {train.lr: 0.01}\n      grid: {seed: [0, 1]}\n");
  auto ran = test::run_command(test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(ran.exit_code, 0) << ran.output;
  const auto sweep = load_sweep(spec, {});
  const auto* p0 = sweep.stage_runs("pretrain")[0];
  const auto* p1 = sweep.stage_runs("pretrain")[1];
  const SweepRun* f0 = nullptr;
  for (const auto* f : sweep.stage_runs("finetune"))
    if (f->upstream == p0->run_id) f0 = f;
  ASSERT_TRUE(f0);
  const RunPaths down{sweep.run_dir(f0->run_id)}, other{sweep.run_dir(p1->run_id)};
  const RunPaths up{load_run_config(down.config(), {}).get_string("model.init_from_dir")};  // as it names it
  ASSERT_EQ(fs::canonical(up.dir), fs::canonical(sweep.run_dir(p0->run_id)));

  // What the finetune run records, against Python's zlib over the upstream's files.
  const auto rec = results::read_run_file(down.result());
  auto ckpt_crc = python("import zlib; d = open(\"" + up.checkpoint() +
                         "\", \"rb\").read(); print(\"%08x\" % zlib.crc32(d[d.index(b\"\\n\") + 1:]))");
  auto result_crc = python("import zlib; print(\"%08x\" % zlib.crc32(open(\"" + up.result() + "\", \"rb\").read()))");
  EXPECT_EQ(rec.text.at("init_from_checkpoint_crc32"), ckpt_crc);
  EXPECT_EQ(rec.text.at("init_from_result_crc32"), result_crc);
  EXPECT_EQ(python("import h5py; print(h5py.File(\"" + down.result() + "\", \"r\").attrs[\"init_from_result_crc32\"])"),
            result_crc);
  EXPECT_TRUE(has(read_text(down.summary()), "\"init_from_checkpoint_crc32\": \"" + ckpt_crc + "\""));

  auto retrain_down = [&] { return train(down.config(), "--run-dir " + down.dir + " --force"); };
  auto keep = dir.file("keep");
  fs::create_directories(keep);
  for (const auto& f : {up.checkpoint(), up.result(), up.summary()})
    fs::copy_file(f, keep + "/" + fs::path(f).filename().string());
  auto restore = [&] {
    for (const auto& f : {up.checkpoint(), up.result(), up.summary()})
      copy_over(keep + "/" + fs::path(f).filename().string(), f);
  };

  // The upstream's checkpoint replaced by the other pretrain run's (the same backbone).
  copy_over(other.checkpoint(), up.checkpoint());
  auto before = snapshot(down.dir);
  auto r = retrain_down();
  EXPECT_EQ(r.exit_code, kExitConfig) << r.output;
  EXPECT_TRUE(has(r.output, up.checkpoint() + " is the checkpoint of run " + p1->run_id)) << r.output;
  EXPECT_TRUE(has(r.output, "model.init_from")) << r.output;
  EXPECT_EQ(snapshot(down.dir), before) << "the finetune run's folder changed";
  restore();

  // The upstream's result.h5 and summary.json replaced by the other run's: not done.
  copy_over(other.result(), up.result());
  copy_over(other.summary(), up.summary());
  auto status = inspect_run(up);
  EXPECT_EQ(status.state, RunState::Unreadable) << status.detail;
  EXPECT_TRUE(has(status.detail, "holds the result of run " + p1->run_id)) << status.detail;
  EXPECT_FALSE(upstream_problem(up.dir).empty());
  auto shown = test::run_command(test::aimrun() + " sweep status " + spec);
  std::istringstream lines(shown.output);
  std::string row;
  bool seen = false;
  for (std::string line; std::getline(lines, line);)
    if (has(line, p0->run_id) && has(line, "pretrain")) row = line, seen = true;
  ASSERT_TRUE(seen) << shown.output;
  EXPECT_TRUE(has(row, "unreadable")) << row;
  EXPECT_FALSE(has(row, " done ")) << row;
  before = snapshot(down.dir);
  r = retrain_down();
  EXPECT_EQ(r.exit_code, kExitConfig) << r.output;
  EXPECT_TRUE(has(r.output, "holds the result of run " + p1->run_id)) << r.output;
  EXPECT_EQ(snapshot(down.dir), before);
  // result.h5 alone replaced: its summary no longer fits it (results/run_summary.h).
  copy_over(keep + "/summary.json", up.summary());
  EXPECT_EQ(inspect_run(up).state, RunState::Unreadable);
  restore();
  EXPECT_EQ(inspect_run(up).state, RunState::Done);
}

// A run's result records the checkpoint it ended with (checkpoint_crc32, checked here with
// Python's zlib over the archive); a fine-tune refuses an upstream whose checkpoint.pt is
// another of the same run (here its checkpoint from mid-training, put back after it finished:
// its header names the right run, so only the recorded CRC tells). Before, the fine-tune
// started from the mid-training weights without a word. The refusal is the run's failure
// (FAILED), before anything is trained.
TEST(RunBinding, AnUpstreamCheckpointOtherThanTheOneItEndedWithIsRefused) {
  test::TempDir dir;
  const auto config = dir.write("c.yaml", tiny_config(dir.file("out")));
  const RunPaths up{dir.file("out/runs/" + run_id_of(config, {}))};
  auto stopped = train(config, "", "AIMRUN_FAULT=rank=0,step=2,kind=stop");
  ASSERT_EQ(stopped.exit_code, 75) << stopped.output;
  fs::copy_file(up.checkpoint(), dir.file("mid.pt"));
  auto done = train(config, "");
  ASSERT_EQ(done.exit_code, 0) << done.output;
  const auto rec = results::read_run_file(up.result());
  const auto crc = python("import zlib; d = open(\"" + up.checkpoint() +
                          "\", \"rb\").read(); print(\"%08x\" % zlib.crc32(d[d.index(b\"\\n\") + 1:]))");
  EXPECT_EQ(rec.text.at(kCheckpointCrc32), crc);
  EXPECT_TRUE(has(read_text(up.summary()), "\"checkpoint_crc32\": \"" + crc + "\""));

  copy_over(dir.file("mid.pt"), up.checkpoint());
  // `aimrun pictures --least-confident` reads both: refused alike.
  auto pictures = test::run_command(test::aimrun() + " pictures --run " + up.dir + " --least-confident 2 --out " +
                                    dir.file("p.png"));
  EXPECT_EQ(pictures.exit_code, 1) << pictures.output;
  EXPECT_TRUE(has(pictures.output, up.checkpoint() + " is not the checkpoint the run ended with")) << pictures.output;
  EXPECT_FALSE(fs::exists(dir.file("p.png")));
  // So do predict and evaluate, which read only the checkpoint (before: they used the
  // mid-training weights without a word).
  python("import h5py, numpy as np; h5py.File(\"" + dir.file("x.h5") +
         "\", \"w\").create_dataset(\"images\", data=np.zeros((2, 3, 64, 64), np.float32))");
  auto predict = test::run_command(test::aimrun() + " predict --run " + up.dir + " --h5 " + dir.file("x.h5") +
                                   " --out " + dir.file("pred.h5"));
  auto evaluate = test::run_command(test::aimrun() + " evaluate --run " + up.dir + " --out " + dir.file("e.h5"));
  for (const auto* r : {&predict, &evaluate}) {
    EXPECT_EQ(r->exit_code, 1) << r->output;
    EXPECT_TRUE(has(r->output, up.checkpoint() + " is not the checkpoint the run ended with")) << r->output;
    EXPECT_TRUE(has(r->output, "result.h5 records " + crc)) << r->output;
    EXPECT_TRUE(has(r->output, "--force --restart` trains the run anew")) << r->output;
  }
  EXPECT_FALSE(fs::exists(dir.file("pred.h5")));
  EXPECT_FALSE(fs::exists(dir.file("e.h5")));
  const auto down_config = dir.write("d.yaml", tiny_config(dir.file("down")) + "seed: 1\n");
  auto r = train(down_config, "model.init_from=" + up.dir);
  EXPECT_EQ(r.exit_code, kExitConfig) << r.output;
  EXPECT_TRUE(has(r.output, up.checkpoint() + " is not the checkpoint the upstream run ")) << r.output;
  EXPECT_TRUE(has(r.output, "its result.h5 records " + crc)) << r.output;
  EXPECT_TRUE(has(r.output, "--restart --force")) << r.output;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("down"))) {  // nothing trained
    EXPECT_NE(e.path().filename(), "checkpoint.pt");
    EXPECT_NE(e.path().filename(), "result.h5");
    if (e.path().filename() == "FAILED") {  // where `sweep status` reads why
      EXPECT_TRUE(has(read_text(e.path().string()), "is not the checkpoint the upstream run ")) << e.path();
    }
  }
}

// Issue 34: a train that fails inside its session prints its error once (before, the
// session logged it and main() printed it again), writes FAILED and one ledger end with the
// exit code.
TEST(RunSession, AFailedTrainPrintsItsErrorOnceAndRecordsIt) {
  test::TempDir dir;
  const auto config = dir.write("c.yaml", tiny_config(dir.file("out")));
  fs::create_directories(dir.file("run"));
  dir.write("run/checkpoint.pt", "AIMCKPT1 crc32=zz\nnot a checkpoint");
  auto r = test::run_command("{ " + test::aimrun() + " train " + config + " --run-dir " + dir.file("run") + " 2>" +
                             dir.file("stderr") + "; }");
  EXPECT_EQ(r.exit_code, kExitError);
  const auto err = read_text(dir.file("stderr"));
  size_t count = 0;
  for (size_t at = err.find("corrupt checkpoint header"); at != std::string::npos;
       at = err.find("corrupt checkpoint header", at + 1))
    ++count;
  EXPECT_EQ(count, 1u) << err;
  EXPECT_TRUE(has(read_text(dir.file("run/FAILED")), "corrupt checkpoint header"));
  const auto ledger = read_ledger(RunPaths{dir.file("run")});
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[1].event, "end");
  EXPECT_EQ(ledger[1].exit_code, kExitError);
  EXPECT_TRUE(has(ledger[1].cause, "corrupt checkpoint header")) << ledger[1].cause;
}

// The generated job script compares with the numbers of core/exit_codes.h.
TEST(ExitCodes, TheJobScriptUsesTheCodesOfTheCommands) {
  test::TempDir dir;
  const auto spec = dir.write("s.yaml", tiny_config(dir.file("out")) + "sweep:\n  name: codes\n  grid: {seed: [0]}\n");
  const auto sweep = load_sweep(spec, {});
  const auto script = sbatch_script(sweep, SlurmProfile{}, "runs.txt", "aimrun", 1, "", "ups.txt", 0);
  EXPECT_TRUE(has(script, "if [ $rc -eq " + std::to_string(kExitStopped) + " ]; then")) << script;
  EXPECT_TRUE(has(script, "then exit " + std::to_string(kExitError) + "; fi")) << script;
  EXPECT_TRUE(has(script, "exit " + std::to_string(kExitBusy) + ", wrote none")) << script;
  EXPECT_EQ(describe_exit(kExitStopped), "stopped for requeue (preempted or near its time limit)");
  EXPECT_EQ(describe_exit(kExitConfig), "config error");
}
