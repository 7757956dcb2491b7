// Adaptive seeds on Slurm (runner/sweep/slurm_rounds.h): one `sweep submit` queues round 1
// and a round job after it; each round job queues the next round and the next round job,
// until the comparisons are decided or at max seeds. A round with a failed run ends the
// chain with the run and the command that goes on; a dry run shows the round job's script,
// every word of the submission it runs quoted.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/sweep_spec.h"
#include "runner/sweep/upstream.h"
#include "slurm_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

class SlurmRounds : public test::SlurmTest {};

// Two methods, 1 epoch on 1000 images; rounds of one seed from 2 up to 3; a margin of 100
// points decides "equivalent" once the sequence is finite (n = 3), so the rounds end at 6 runs.
std::string rounds_spec(const test::TempDir& dir, const std::string& name = "rounds") {
  auto text = test::small_run_config(dir.file("out"), 1);
  text.replace(text.find("train_size: 3000"), 16, "train_size: 1000");
  return dir.write("s.yaml", text + "sweep:\n  name: " + name +
                                 "\n  grid:\n    method: [{name: vanilla}, {name: aim}]\n"
                                 "  seeds: {start: 2, max: 3, margin: 100, decide: ['aim - vanilla: test acc']}\n");
}

}  // namespace

// One submission; the round job after round 1 queues round 2 (one more seed per method) and
// a second round job, which finds the comparison decided and queues nothing.
TEST_F(SlurmRounds, OneSubmissionPlaysEveryRoundThroughRoundJobs) {
  test::TempDir dir;
  const auto spec = rounds_spec(dir);
  auto submit = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_NE(submit.output.find("round 1: round job "), std::string::npos) << submit.output;
  EXPECT_NE(submit.output.find("queued, after afterany:"), std::string::npos) << submit.output;
  test::wait_for_status(spec, "finished", 900);
  const auto status = test::run_command(test::aimrun() + " sweep status " + spec + " --profile local").output;
  EXPECT_NE(status.find("6 done"), std::string::npos) << status;
  EXPECT_NE(status.find("round 2"), std::string::npos) << status;
  EXPECT_NE(status.find("n=3  method={name: aim}"), std::string::npos) << status;
  // The last round job ends soon after the last run (status tells from the run folders);
  // then nothing of the sweep is left in the queue.
  for (int i = 0; i < 60; ++i) {
    auto q = test::run_command("squeue -h -n aim-rounds,aim-rounds+rounds -o %i");
    if (trim(q.output).empty()) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(trim(test::run_command("squeue -h -n aim-rounds,aim-rounds+rounds -o %i").output), "");
  // Both round jobs ran: the first queued round 2 and the second; the second queued nothing.
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(dir.file("out/rounds/slurm")))
    if (e.path().filename().string().rfind("rounds-", 0) == 0 && e.path().extension() == ".out")
      logs.push_back(read_text(e.path().string()));
  std::string all;
  for (const auto& l : logs) all += l + "\n----\n";
  EXPECT_EQ(logs.size(), 2u) << all;
  EXPECT_NE(all.find("round 2: round job "), std::string::npos) << all;
  EXPECT_NE(all.find("round 2: no round job: its rounds are finished"), std::string::npos) << all;
}

// A round job whose round has a failed run queues nothing and names the run and the command
// that trains it again; the chain ends there (no round job left behind).
TEST_F(SlurmRounds, ARoundWithAFailedRunEndsTheChainNamingIt) {
  test::TempDir dir;
  const auto spec = rounds_spec(dir, "failing");
  auto sweep = load_sweep(spec, {});
  ASSERT_EQ(sweep.runs.size(), 4u);
  const auto& failed = sweep.runs[1].run_id;
  fs::create_directories(sweep.run_dir(failed));
  mark_failed(RunPaths{sweep.run_dir(failed)}, "out of memory (a test's cause)");
  auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local --round-job");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("round 1 has runs that did not end done"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(failed + ": failed: out of memory (a test's cause)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the round jobs stop here, nothing was queued"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("`aimrun sweep submit " + spec + " --profile local`"), std::string::npos) << r.output;
  auto failing_queue = [] {
    return trim(test::run_command("squeue -h -n aim-failing,aim-failing+rounds -o %i").output);
  };
  test::wait_until([&] { return failing_queue().empty(); }, 60, 1.0);  // an element may still be COMPLETING
  EXPECT_EQ(failing_queue(), "");
}

// The round job's script quotes every word of the submission it runs: an output_dir with a
// space, a quote and a command substitution reaches aimrun as one word, and nothing runs.
TEST(SlurmRoundsScript, TheRoundJobQuotesEveryWordOfItsSubmission) {
  test::TempDir dir;
  const auto spec = rounds_spec(dir, "quoted");
  const std::string hostile = dir.file("o u't$(touch " + dir.file("pwned") + ")");
  auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " " + shell_quote("output_dir=" + hostile) +
                             " --profile local --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto at = r.output.find("\nexec ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string words = r.output.substr(at + 6, r.output.find('\n', at + 1) - at - 6);
  auto printed = test::run_command("bash -c " + shell_quote("printf '%s\\n' " + words));
  const auto argv = split(trim(printed.output), '\n');
  ASSERT_EQ(argv.size(), 8u) << printed.output;
  EXPECT_EQ(argv[1], "sweep");
  EXPECT_EQ(argv[3], fs::absolute(spec).string());
  EXPECT_EQ(argv[4], "output_dir=" + hostile);
  EXPECT_EQ(argv[7], "--round-job");
  EXPECT_FALSE(fs::exists(dir.file("pwned")));
  EXPECT_NE(r.output.find("would be submitted with --dependency=afterany:<array 1>"), std::string::npos) << r.output;
}
