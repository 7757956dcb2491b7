// Hostile input to `sweep submit` on a real Slurm cluster (the one-node cluster of
// scripts/slurm-local.sh; these tests share it with test_slurm, one at a time): a sweep
// name with a newline and a command never reaches sbatch; paths full of shell syntax are
// submitted for real, run nothing, and write only below output_dir; --dry-run checks the
// script with sbatch --test-only; two submissions at once queue each run once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "fault_log.h"
#include "hostile_values.h"
#include "runner/sweep/sweep_spec.h"
#include "slurm_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

class HostileSlurm : public test::SlurmTest {};

class HostileSlurmPath : public HostileSlurm, public ::testing::WithParamInterface<test::Hostile> {};

// The tests' small run, smaller still (seconds of training), plus `sweep:`.
std::string spec_text(const std::string& out, const std::string& sweep_name, const std::string& seeds = "[0]") {
  std::string run = test::small_run_config(out, 1);
  run.replace(run.find("train_size: 3000, val_size: 200, test_size: 400"), 47, "train_size: 320, val_size: 64, test_size: 64");
  return run + "sweep:\n  name: " + sweep_name + "\n  grid:\n    seed: " + seeds + "\n";
}

using test::files_below;  // tests/test_util.h

std::string last_line(const std::string& s) {
  auto t = trim(s);
  return t.substr(t.rfind('\n') == std::string::npos ? 0 : t.rfind('\n') + 1);
}

}  // namespace

TEST_F(HostileSlurm, ANewlineAndACommandInTheSweepNameNeverReachSbatch) {
  test::FaultCase fc("real submission of sweep.name \"x\\ntouch MARKER #\" (issue 15's case)");
  test::TempDir dir;
  const auto marker = dir.file("pwned");
  auto spec = dir.write("nl.yaml", spec_text(dir.file("out"), test::yaml_quote("x\ntouch " + marker + " #")));
  auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile local");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(spec + ":7: sweep.name: the name contains a newline"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("out")));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(test::run_command("squeue -h -o %j").output.find("aim-x"), std::string::npos);
  EXPECT_FALSE(fs::exists(marker));
}

// One real job whose every path holds shell syntax: the folder it is submitted from, the
// (relative) output_dir, the sweep file.
TEST_F(HostileSlurm, ASubmissionWithHostilePathsRunsNothingAndWritesOnlyBelowOutputDir) {
  test::FaultCase fc("real submission from and into paths with spaces, quotes, $(...), backticks, ;, #, &, |, CR, unicode");
  test::TempDir dir;
  // Short (the sweep file's name holds it three times): outside `dir`, removed at the end.
  const std::string marker = "/tmp/aimrun-pwned-" + std::to_string(getpid());
  struct Remove {
    std::string path;
    ~Remove() { fs::remove(path); }
  } remove_marker{marker};
  const std::string hostile = " $(touch " + marker + ") `touch " + marker + "` ;touch " + marker +
                              " it's \"q\" # & | \r na\xc3\xafve";
  const fs::path cwd = dir.file("w" + hostile);
  fs::create_directories(cwd);
  const std::string out_rel = "o" + hostile, spec = (cwd / ("s" + hostile + ".yaml")).string();
  fs::create_directories(fs::path(spec).parent_path());  // the marker's path has folders
  std::ofstream(spec) << spec_text(test::yaml_quote(out_rel), "paths");
  auto submit = test::run_command("cd " + shell_quote(cwd.string()) + " && " + test::aimrun() + " sweep submit " +
                                  shell_quote(spec) + " --profile local");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  const std::string job = last_line(submit.output);
  ASSERT_TRUE(test::wait_for_status(spec, "1 done", 600, cwd.string()).reached);
  const std::string out = cwd.string() + "/" + out_rel;
  const std::string log = out + "/paths/slurm/" + job + "_0.out";
  ASSERT_TRUE(fs::exists(log)) << "no log at " << log;
  EXPECT_NE(read_text(log).find("complete"), std::string::npos) << read_text(log);
  EXPECT_TRUE(fs::exists(out + "/runs/" + load_sweep(spec, {}).runs[0].run_id + "/result.h5"));
  EXPECT_FALSE(fs::exists(marker)) << "a command in a path ran";
  for (const auto& f : files_below(dir.path())) {
    const auto p = (fs::path(dir.path()) / f).string();
    EXPECT_TRUE(p == spec || starts_with(p, out + "/")) << "outside output_dir: " << p;
  }
}

TEST_F(HostileSlurm, DryRunChecksTheScriptWithSbatchTestOnly) {
  test::TempDir dir;
  const auto marker = dir.file("pwned");
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "dry"));
  auto good = test::run_command(test::aimrun() + " sweep submit --dry-run " + spec + " --profile local");
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("sbatch --test-only: "), std::string::npos) << good.output;
  // partition and extra_sbatch are the user's own text, verbatim: sbatch judges them, and
  // nothing in an #SBATCH line ever runs.
  // (This cluster keeps no accounts, so any account passes; the one with backticks must
  // still run nothing.)
  for (const auto& [line, rejected] : std::vector<std::pair<std::string, bool>>{
           {"partition: \"$(touch " + marker + ")\"", true},
           {"extra_sbatch: [\"--no-such-option=1\"]", true},
           {"account: \"`touch " + marker + "`\"", false}}) {
    test::FaultCase fc("profile " + line + " in a dry run");
    auto profile = dir.write("p.yaml", "time: \"00:05:00\"\n" + line + "\n");
    auto r = test::run_command(test::aimrun() + " sweep submit --dry-run " + spec + " --profile " + profile);
    if (rejected) {
      EXPECT_EQ(r.exit_code, 1) << line << "\n" << r.output;
      EXPECT_NE(r.output.find("sbatch --test-only rejects the script"), std::string::npos) << r.output;
    }
    EXPECT_FALSE(fs::exists(marker)) << line;
  }
}

// Every hostile path part of test_hostile_sweeps, in output_dir: sbatch accepts the script.
TEST_P(HostileSlurmPath, InOutputDirPassesSbatchTestOnly) {
  const auto& h = GetParam();
  test::FaultCase fc("sbatch --test-only of a script for an output_dir holding " + h.label);
  test::TempDir dir;
  const auto marker = dir.file("pwned");
  const std::string out = dir.file("o" + h.with_marker(marker));
  auto spec = dir.write("s.yaml", "output_dir: " + test::yaml_quote(out) + "\n" +
                                      spec_text("x", "ok").substr(spec_text("x", "ok").find('\n') + 1));
  auto r = test::run_command(test::aimrun() + " sweep submit --dry-run " + spec + " --profile local");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sbatch --test-only: "), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(marker));
  for (const auto& f : files_below(dir.path())) {
    const auto p = (fs::path(dir.path()) / f).string();
    EXPECT_TRUE(p == spec || starts_with(p, out + "/")) << "outside output_dir: " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Values, HostileSlurmPath, ::testing::ValuesIn([] {
                           std::vector<test::Hostile> out;
                           for (const auto& h : test::hostile_names())
                             if (h.value.find_first_of(std::string("\n\0%\\", 4)) == std::string::npos &&
                                 h.value.size() <= 200)
                               out.push_back(h);
                           return out;
                         }()),
                         [](const auto& info) { return info.param.id; });

// Issue 15's case: two dry runs of one 300-run sweep, started together.
TEST_F(HostileSlurm, TwoDryRunSubmitsOfA300RunSweepAtOnceBothSucceed) {
  test::TempDir dir;
  std::string seeds = "[";
  for (int i = 0; i < 300; ++i) seeds += (i ? ", " : "") + std::to_string(i);
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "big", seeds + "]"));
  for (int attempt = 0; attempt < 3; ++attempt) {
    test::FaultCase fc("two sweep submit --dry-run of a 300-run sweep at once, try " + std::to_string(attempt + 1));
    fs::remove_all(dir.file("out"));
    const std::string cmd = test::aimrun() + " sweep submit --dry-run " + spec + " --profile local";
    auto [a, b] = test::run_at_once(cmd, cmd);
    for (const auto& r : {a, b}) {
      EXPECT_EQ(r.exit_code, 0) << r.output.substr(r.output.size() > 2000 ? r.output.size() - 2000 : 0);
      EXPECT_EQ(r.output.find("cannot create link"), std::string::npos);
    }
  }
}

TEST_F(HostileSlurm, TwoSubmissionsAtOnceQueueEachRunOnce) {
  test::FaultCase fc("two real sweep submit of the same sweep at once");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "twice", "[0, 1]"));
  const std::string cmd = test::aimrun() + " sweep submit " + spec + " --profile local";
  auto [a, b] = test::run_at_once(cmd, cmd);
  EXPECT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(b.exit_code, 0) << b.output;
  const bool a_submitted = a.output.find("submitted job array") != std::string::npos;
  const bool b_submitted = b.output.find("submitted job array") != std::string::npos;
  EXPECT_NE(a_submitted, b_submitted) << a.output << "\n----\n" << b.output;
  EXPECT_NE((a_submitted ? b : a).output.find("nothing to submit"), std::string::npos);
  const std::string job = last_line((a_submitted ? a : b).output);
  auto q = test::run_command("squeue -h -r -j " + job + " -o %i");
  EXPECT_EQ(split(trim(q.output), '\n').size(), 2u) << q.output;
  test::run_command("scancel " + job);
}
