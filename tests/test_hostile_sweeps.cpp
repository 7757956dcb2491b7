// Hostile input to sweeps (issue 15), without a cluster: names that would become folders,
// job names or commands are refused when the config is read (exit 2, `file:line: key:`),
// before anything is written; paths may hold anything but a newline and reach generated
// scripts quoted; two commands on one sweep at once both end without a false failure.
// The same on a real Slurm cluster: tests/test_hostile_slurm.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "fault_log.h"
#include "hostile_values.h"
#include "runner/session_ledger.h"
#include "runner/sweep/slurm_executor.h"
#include "runner/sweep/sweep_spec.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;
using test::Hostile;

namespace {

// A sweep of tiny runs; `sweep_name` is YAML text, on line 7.
// The tests' small run, smaller still (seconds of training), plus `sweep:`.
std::string spec_text(const std::string& out, const std::string& sweep_name, const std::string& seeds = "[0]") {
  std::string run = test::small_run_config(out, 1);
  run.replace(run.find("train_size: 3000, val_size: 200, test_size: 400"), 47, "train_size: 320, val_size: 64, test_size: 64");
  return run + "sweep:\n  name: " + sweep_name + "\n  grid:\n    seed: " + seeds + "\n";
}

// `cmd` must exit 2 naming `where` (file:line: key:), create no marker, and write nothing
// under `out`.
void expect_refused(const std::string& cmd, const std::string& where, const std::string& out,
                    const std::string& marker) {
  auto r = test::run_command(cmd);
  EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.output;
  EXPECT_NE(r.output.find(where), std::string::npos) << "expected '" << where << "' in:\n" << r.output;
  EXPECT_FALSE(fs::exists(out)) << "written before the config was refused: " << out;
  EXPECT_FALSE(fs::exists(marker)) << "a command ran: " << marker;
}

class HostileName : public ::testing::TestWithParam<Hostile> {};
class HostileArgument : public ::testing::TestWithParam<Hostile> {};
class HostilePath : public ::testing::TestWithParam<Hostile> {};

}  // namespace

// sweep.name becomes <output_dir>/<name>/ and the Slurm job name.
TEST_P(HostileName, AsSweepNameIsRefusedBeforeAnythingIsWritten) {
  test::FaultCase fc("sweep.name: " + GetParam().label);
  test::TempDir dir;
  const auto out = dir.file("out"), marker = dir.file("pwned");
  auto spec = dir.write("s.yaml", spec_text(out, test::yaml_quote(GetParam().with_marker(marker))));
  for (const auto* cmd : {" sweep plan ", " sweep submit --dry-run --profile local "})
    expect_refused(test::aimrun() + cmd + spec, spec + ":7: sweep.name: ", out, marker);
}

// The run's `name`, set in the file, as an axis of a sweep, and on the command line.
TEST_P(HostileName, AsRunNameIsRefusedBeforeAnythingIsWritten) {
  test::FaultCase fc("run name: " + GetParam().label);
  test::TempDir dir;
  const auto out = dir.file("out"), marker = dir.file("pwned");
  const auto name = test::yaml_quote(GetParam().with_marker(marker));
  auto cfg = dir.write("c.yaml", "name: " + name + "\n" + test::small_run_config(out, 1));
  expect_refused(test::aimrun() + " train " + cfg, cfg + ":1: name: ", out, marker);
  auto spec = dir.write("s.yaml", "name: " + name + "\n" + spec_text(out, "ok"));
  expect_refused(test::aimrun() + " sweep run " + spec, spec + ":1: name: ", out, marker);
  auto axis = dir.write("a.yaml", test::small_run_config(out, 1) + "sweep:\n  name: ok\n  grid:\n    name: [fine, " +
                                      name + "]\n");
  expect_refused(test::aimrun() + " sweep submit --dry-run --profile local " + axis, axis + ":9: name: ", out, marker);
}

INSTANTIATE_TEST_SUITE_P(Values, HostileName, ::testing::ValuesIn(test::hostile_names()),
                         [](const auto& info) { return info.param.id; });

// A profile given by name becomes slurm/profiles/<name>.yaml.
TEST_P(HostileArgument, AsProfileNameIsRefused) {
  const auto& h = GetParam();
  test::FaultCase fc("--profile name: " + h.label);
  test::TempDir dir;
  const auto out = dir.file("out"), marker = dir.file("pwned");
  auto spec = dir.write("s.yaml", spec_text(out, "ok"));
  expect_refused(test::aimrun() + " sweep submit " + spec + " --profile " + shell_quote(h.with_marker(marker)),
                 "--profile", out, marker);
}

INSTANTIATE_TEST_SUITE_P(Values, HostileArgument, ::testing::ValuesIn(test::hostile_arguments()),
                         [](const auto& info) { return info.param.id; });

TEST(HostileNames, TheFileNameIsTheDefaultSweepNameAndIsCheckedToo) {
  test::FaultCase fc("sweep file named 'my $(x) sweep.yaml' without sweep.name");
  test::TempDir dir;
  auto spec = dir.write("my $(touch x) sweep.yaml", test::small_run_config(dir.file("out"), 1));
  auto r = test::run_command(test::aimrun() + " sweep plan " + shell_quote(spec));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sweep.name: not set, and the file's name"), std::string::npos) << r.output;
}

TEST(HostileNames, SweepNameRunsAListOrAMappingIsRefused) {
  test::TempDir dir;
  for (const std::string name : {"runs", "[a, b]", "{a: 1}"}) {
    test::FaultCase fc("sweep.name: " + name);
    auto spec = dir.write("s.yaml", spec_text(dir.file("out"), name));
    auto r = test::run_command(test::aimrun() + " sweep plan " + spec);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(spec + ":7: sweep.name: "), std::string::npos) << r.output;
  }
}

TEST(HostileNames, ALongestNameAndEveryAllowedCharacterAreAccepted) {
  test::TempDir dir;
  const std::string longest = "Az09-_." + std::string(kMaxNameLength - 7, 'x');
  auto spec = dir.write("s.yaml", "name: " + longest + "\n" + spec_text(dir.file("out"), longest));
  auto r = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sweep " + longest + ": 1 runs"), std::string::npos) << r.output;
  EXPECT_EQ(name_problem("_hidden_not"), "");
  EXPECT_NE(name_problem(longest + "x"), "");
}

// Any character but a newline or a NUL in output_dir: refused ones exit 2 before anything
// is written, the others reach the script quoted.
TEST(HostilePaths, ANewlineOrANulInOutputDirIsRefused) {
  std::string body = spec_text("unused", "ok");
  body = body.substr(body.find('\n') + 1);  // all but the output_dir line
  for (const auto& [label, bad] : std::vector<std::pair<std::string, std::string>>{
           {"newline", "out\ntouch MARKER #"}, {"NUL", std::string("out\0x", 5)}}) {
    test::FaultCase fc("output_dir with a " + label);
    test::TempDir dir;
    const auto marker = dir.file("pwned");
    const auto out = dir.file(test::Hostile{"", "", bad}.with_marker(marker));
    auto spec = dir.write("s.yaml", "output_dir: " + test::yaml_quote(out) + "\n" + body);
    expect_refused(test::aimrun() + " sweep submit --dry-run --profile local " + spec, spec + ":1: output_dir: ",
                   out.substr(0, out.find_first_of(std::string("\n\0", 2))), marker);
    // On the command line, as YAML: a plain value folds a newline into a space, a quoted one keeps it.
    expect_refused(test::aimrun() + " sweep plan " + spec + " " + shell_quote("output_dir=\"" + dir.file("cli\\nx") + "\""),
                   "output_dir: a path cannot contain a newline", dir.file("cli"), marker);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1)
        << "only s.yaml may be in " << dir.path();
  }
}

// Issue 36: a path key whose component is over NAME_MAX, or which is over PATH_MAX (with
// what aimrun writes below it), is a config error naming the key, before anything runs;
// it was a raw filesystem error about <run>/checkpoint.pt, exit 1.
TEST(HostilePaths, APathTooLongForTheSystemIsAConfigErrorNamingTheKey) {
  const std::string component(300, 'c');
  std::string deep;
  for (int i = 0; i < 17; ++i) deep += "/" + std::string(250, 'd');
  std::string body = spec_text("unused", "ok");
  body = body.substr(body.find('\n') + 1);  // all but the output_dir line
  for (const auto& [label, line] : std::vector<std::pair<std::string, std::string>>{
           {"a 300-byte component", "output_dir: OUT/" + component},
           {"over PATH_MAX", "output_dir: OUT" + deep},
           {"a source with a 300-byte component", "output_dir: OUT\ndataset.source: OUT/" + component},
           {"a cache_dir over PATH_MAX with what is written below it",
            "output_dir: OUT\ndataset.cache_dir: OUT" + deep.substr(0, 16 * 251 - 50)}}) {
    test::FaultCase fc("a path key with " + label);
    test::TempDir dir;
    std::string yaml = line;
    for (size_t p; (p = yaml.find("OUT")) != std::string::npos;) yaml.replace(p, 3, dir.file("out"));
    // The same settings as a sweep file and as a run's config (train refuses a sweep file).
    auto spec = dir.write("s.yaml", yaml + "\n" + body);
    auto config = dir.write("c.yaml", yaml + "\n" + body.substr(0, body.find("sweep:")));
    const std::string key = line.find("source") != std::string::npos      ? "dataset.source: "
                            : line.find("cache_dir") != std::string::npos ? "dataset.cache_dir: "
                                                                          : "output_dir: ";
    const std::string at = std::string(":") + (key == "output_dir: " ? "1" : "2") + ": " + key;
    for (const std::string command : {"train ", "sweep plan ", "sweep run "}) {
      const std::string file = command == "train " ? config : spec;
      auto r = test::run_command(test::aimrun() + " " + command + file);
      EXPECT_EQ(r.exit_code, 2) << command << label << "\n" << r.output.substr(0, 2000);
      EXPECT_NE(r.output.find(file + at), std::string::npos) << command << label << "\n" << r.output.substr(0, 2000);
      EXPECT_NE(r.output.find(label.find("PATH_MAX") != std::string::npos ? "more than a path may have (4095)"
                                                                          : "more than a file name may have (255)"),
                std::string::npos)
          << r.output.substr(0, 2000);
    }
    EXPECT_FALSE(fs::exists(dir.file("out"))) << label;
  }
}

// The same limits for the path options that name a folder (issue 36, same mistake
// elsewhere): `train --run-dir` and `report DIR` ended with a raw filesystem error, exit 1.
TEST(HostilePaths, APathOptionTooLongForTheSystemIsRefusedWithExit2) {
  test::TempDir dir;
  const std::string long_dir = dir.file(std::string(300, 'r'));
  auto config = dir.write("c.yaml", test::small_run_config(dir.file("out"), 1));
  for (const auto& [command, option] : std::vector<std::pair<std::string, std::string>>{
           {"train " + config + " --run-dir " + long_dir, "--run-dir"}, {"report " + long_dir, "dir"}}) {
    test::FaultCase fc("aimrun " + command.substr(0, command.find(' ')) + " with a path component of 300 bytes");
    auto r = test::run_command(test::aimrun() + " " + command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.output;
    EXPECT_NE(r.output.find(option), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("more than a file name may have (255)"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("filesystem error"), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

// The file a command writes, in a folder that does not exist or being a folder itself:
// exit 2 naming the option, before any work (the run folder here is empty: loading it
// would fail with exit 1, so exit 2 shows the path was checked first). It used to be
// found only when the file was written, after the evaluation or the report.
TEST(HostilePaths, AnOutputFileInAMissingFolderOrBeingAFolderIsRefusedFirst) {
  test::TempDir dir;
  fs::create_directories(dir.file("run"));
  fs::create_directories(dir.file("folder"));
  const std::string run = dir.file("run"), missing = dir.file("no/such/out.h5");
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"evaluate --run " + run + " --out ", "--out "},
      {"predict --run " + run + " --images " + run + " --out ", "--out "},
      {"pictures --run " + run + " --out ", "--out "},
      {"collect " + run + " ", "OUT "},
      {"report " + run + " --html ", "--html "},
  };
  for (const auto& [command, option] : commands) {
    test::FaultCase fc("aimrun " + command.substr(0, command.find(' ')) + ": output in a missing folder, or a folder");
    auto r = test::run_command(test::aimrun() + " " + command + missing);
    EXPECT_EQ(r.exit_code, 2) << command << r.output;
    EXPECT_NE(r.output.find(option + missing + ": the folder " + dir.file("no/such") + " does not exist"),
              std::string::npos)
        << command << r.output;
    auto f = test::run_command(test::aimrun() + " " + command + dir.file("folder"));
    EXPECT_EQ(f.exit_code, 2) << command << f.output;
    EXPECT_NE(f.output.find(option + dir.file("folder") + ": is a folder"), std::string::npos) << command << f.output;
    EXPECT_FALSE(fs::exists(dir.file("no")));
  }
}

// Slurm reads '%' and '\' in a log's path as a file name pattern (and drops the
// backslash): a sweep whose logs would go there is refused by `sweep submit` only.
TEST(HostilePaths, APercentOrABackslashInTheLogFolderIsRefusedBySubmitOnly) {
  for (const std::string bad : {"o%j", "o\\b"}) {
    test::FaultCase fc("sweep submit into an output_dir holding " + bad);
    test::TempDir dir;
    auto spec = dir.write("s.yaml", spec_text(dir.file(bad), "ok"));
    expect_refused(test::aimrun() + " sweep submit --dry-run --profile local " + spec,
                   spec + ":1: output_dir: Slurm cannot write logs into", dir.file(bad), dir.file("pwned"));
    EXPECT_EQ(test::run_command(test::aimrun() + " sweep plan " + spec).exit_code, 0);
  }
}

TEST(HostilePaths, EveryValueComesBackFromBashExactlyAsWritten) {
  test::TempDir dir;
  for (const auto& h : test::hostile_names()) {
    if (h.value.find('\0') != std::string::npos) continue;  // bash strings end at a NUL
    test::FaultCase fc("shell_quote of " + h.label);
    const auto marker = dir.file("pwned");
    const auto value = h.with_marker(marker);
    auto script = dir.write("q.sh", "printf '%s' " + shell_quote(value) + " > " + shell_quote(dir.file("got")) + "\n");
    auto r = test::run_command("bash " + script);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_text(dir.file("got")), value) << h.label;
    EXPECT_FALSE(fs::exists(marker)) << h.label;
  }
}

namespace {

std::vector<Hostile> hostile_path_parts() {
  std::vector<Hostile> out;
  for (const auto& h : test::hostile_names())
    if (h.value.find_first_of(std::string("\n\0%\\", 4)) == std::string::npos && h.value.size() <= 200)
      out.push_back(h);
  return out;
}

// Every file below `root`, relative to it (links not followed).
using test::files_below;  // tests/test_util.h

// Stands in for srun: writes its folder and its arguments, one per line, to $AIM_STUB_OUT.
std::string write_srun_stub(const test::TempDir& dir) {
  return test::write_stub(
      dir, "srun",
      "{ printf '%s\\n' \"$PWD\"; for a in \"$@\"; do printf '%s\\n' \"$a\"; done; } > \"$AIM_STUB_OUT\"\n");
}

}  // namespace

// The hostile text in the folder `sweep submit` starts in, in the (relative) output_dir and
// in the sweep file's name. The dry-run's script passes bash -n, and run by bash with a
// stand-in srun, it runs nothing else and hands srun every path intact.
TEST_P(HostilePath, ReachesTheScriptQuotedAndRunsNothing) {
  const auto& h = GetParam();
  test::FaultCase fc("paths holding " + h.label + " in a generated sbatch script");
  test::TempDir dir;
  const auto marker = dir.file("pwned");
  const std::string part = h.with_marker(marker);
  const fs::path cwd = dir.file("w" + part);
  const std::string out_rel = "o" + part, spec = (cwd / ("s" + part + ".yaml")).string();
  fs::create_directories(fs::path(spec).parent_path());
  std::ofstream(spec) << spec_text(test::yaml_quote(out_rel), "ok");
  // No sbatch here: bash -n is the check (test_hostile_slurm adds sbatch --test-only).
  fs::create_directories(dir.file("bin"));
  fs::create_symlink("/bin/bash", dir.file("bin/bash"));
  // The dry run writes nothing below output_dir; --script-dir keeps its files where a
  // submission would write them (a hostile path too).
  const std::string out = cwd.string() + "/" + out_rel;
  auto r = test::run_command("cd " + shell_quote(cwd.string()) + " && PATH=" + dir.file("bin") + " " + test::aimrun() +
                             " sweep submit --dry-run --profile local " + shell_quote(spec) + " --script-dir " +
                             shell_quote(out + "/ok/slurm"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("passed bash -n"), std::string::npos) << r.output;
  for (const auto& f : files_below(cwd))
    EXPECT_TRUE(cwd / f == fs::path(spec) || starts_with((cwd / f).string(), out + "/")) << "outside output_dir: " << f;
  std::vector<fs::path> scripts;
  for (const auto& e : fs::directory_iterator(out + "/ok/slurm"))
    if (e.path().extension() == ".sbatch") scripts.push_back(e.path());
  ASSERT_EQ(scripts.size(), 1u);
  const auto stub = write_srun_stub(dir);
  auto run = test::run_command("cd " + shell_quote(out + "/ok/slurm") + " && PATH=" + stub + ":$PATH SLURM_ARRAY_TASK_ID=0 "
                               "SLURM_ARRAY_JOB_ID=7 AIM_STUB_OUT=" + dir.file("srun.args") + " bash " +
                               shell_quote(scripts[0].string()));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_FALSE(fs::exists(marker)) << "the script ran a command from a path";
  const std::string run_dir = out + "/runs/" + load_sweep(spec, {}).runs[0].run_id;
  EXPECT_EQ(split(read_text(dir.file("srun.args")), '\n'),
            (std::vector<std::string>{cwd.string(), "--mpi=pmix", "--kill-on-bad-exit=1", test::aimrun(), "train",
                                      run_dir + "/config.yaml", "--run-dir", run_dir, ""}));
}

INSTANTIATE_TEST_SUITE_P(Values, HostilePath, ::testing::ValuesIn(hostile_path_parts()),
                         [](const auto& info) { return info.param.id; });

// Profile fields: the ones that go into #SBATCH lines unquoted are checked, the user's own
// lines (partition, account, modules, extra_sbatch) must be single lines.
TEST(HostileProfiles, FieldsThatCannotBeQuotedAreRefusedWithFileAndLine) {
  test::TempDir dir;
  const auto out = dir.file("out"), marker = dir.file("pwned");
  auto spec = dir.write("s.yaml", spec_text(out, "ok"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"partition", "\"debug\\ntouch MARKER\""},  {"account", "\"me\\rtouch MARKER\""},
      {"partition", "[a, b]"},                     {"time", "\"01:00:00\\ntouch MARKER\""},
      {"time", "\"$(touch MARKER)\""},            {"mem", "\"`touch MARKER`\""},
      {"mem", "\"1G; touch MARKER\""},            {"signal", "\"USR2@60 #\""},
      {"srun_mpi", "\"pmix' ; touch MARKER '\""}, {"srun_mpi", "\"pmix\\ntouch MARKER\""},
      {"modules", "[\"module load x\\ntouch MARKER\"]"},
      {"extra_sbatch", "[\"--constraint=a\\ntouch MARKER\"]"},
      {"extra_sbatch", "[{a: 1}]"},               {"modules", "module load x"}};
  for (const auto& [key, value] : cases) {
    std::string v = value;
    for (size_t p; (p = v.find("MARKER")) != std::string::npos;) v.replace(p, 6, marker);
    test::FaultCase fc("profile " + key + ": " + value);
    auto profile = dir.write("p.yaml", "nodes: 1\n" + key + ": " + v + "\n");
    expect_refused(test::aimrun() + " sweep submit " + spec + " --profile " + profile, profile + ":2: " + key + ": ",
                   out, marker);
  }
}

// Issue 36: profile values that would defeat the checkpoint before the time limit: a signal
// the trainer cannot stop on (KILL, STOP cannot even be caught), a time sbatch would read
// otherwise, a signal as early as the limit itself.
TEST(HostileProfiles, ASignalOrATimeThatDefeatsTheCheckpointIsRefusedWithFileAndLine) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto spec = dir.write("s.yaml", spec_text(out, "ok"));
  // {profile line 2, what the error says}
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"signal: KILL@60", "signal: 'KILL@60': KILL and STOP cannot be caught"},
      {"signal: SIGSTOP@60", "signal: 'SIGSTOP@60': KILL and STOP cannot be caught"},
      {"signal: \"9@60\"", "signal: '9@60': KILL and STOP cannot be caught"},
      {"signal: HUP@60", "signal: expected SIGNAL@SECONDS (e.g. USR2@300), got 'HUP@60': the trainer"},
      {"signal: USR1@60", "signal: NCCL uses USR1 internally"},
      {"signal: USR2@", "signal: expected SIGNAL@SECONDS"},
      {"signal: USR2@0",
       "signal: expected SIGNAL@SECONDS (e.g. USR2@300), got 'USR2@0': SECONDS is a whole number in [1, 65535]"},
      {"signal: USR2@-5",
       "signal: expected SIGNAL@SECONDS (e.g. USR2@300), got 'USR2@-5': SECONDS is a whole number in [1, 65535]"},
      {"signal: USR2@99999",
       "signal: expected SIGNAL@SECONDS (e.g. USR2@300), got 'USR2@99999': SECONDS is a whole number in [1, 65535]"},
      {"signal: \"@60\"", "signal: expected SIGNAL@SECONDS"},
      {"signal: B:USR2@60", "signal: expected SIGNAL@SECONDS"},
      {"signal: ~", "signal: expected SIGNAL@SECONDS"},
      {"time: \"-5\"", "time: expected minutes, minutes:seconds"},
      {"time: 1:2:3:4", "time: expected minutes"},
      {"time: \"00:61:00\"", "time: expected minutes"},
      {"time: 1-25:00", "time: expected minutes"},
      {"time: 1h", "time: expected minutes"},
      {"time: \"00:04:00\"\nsignal: USR2@300",
       "signal: USR2@300 comes 300 s before the time limit, but time 00:04:00 is 240 s"},
  };
  for (const auto& [yaml, what] : cases) {
    test::FaultCase fc("profile " + yaml);
    auto profile = dir.write("p.yaml", "nodes: 1\n" + yaml + "\n");
    const std::string line = yaml.find('\n') == std::string::npos ? "2" : "3";
    expect_refused(test::aimrun() + " sweep submit --dry-run " + spec + " --profile " + profile,
                   profile + ":" + line + ": " + what.substr(0, what.find(": ")), out, dir.file("pwned"));
    auto r = test::run_command(test::aimrun() + " sweep submit --dry-run " + spec + " --profile " + profile);
    EXPECT_NE(r.output.find(what), std::string::npos) << yaml << "\n" << r.output;
  }
}

TEST(HostileProfiles, EverySignalAndTimeFormThatKeepsThePromiseIsAccepted) {
  test::TempDir dir;
  for (const std::string signal : {"USR2", "USR2@300", "SIGUSR2@60", "R:USR2@60", "TERM@30", "INT", "12@60", "usr2@60"})
    for (const std::string time :
         {"30", "30:00", "01:00:00", "48:00:00", "2-00", "2-12:30", "2-12:30:15", "UNLIMITED", "0", "~"}) {
      auto profile =
          dir.write("p.yaml", "signal: \"" + signal + "\"\ntime: " + (time == "~" ? time : "\"" + time + "\"") + "\n");
      try {
        auto p = load_slurm_profile(profile, dir.path());
        EXPECT_EQ(p.signal, signal);
      } catch (const std::exception& e) {
        ADD_FAILURE() << signal << " " << time << ": " << e.what();
      }
    }
  for (const auto& e : fs::directory_iterator(std::string(AIM_SOURCE_DIR) + "/slurm/profiles"))
    EXPECT_NO_THROW(load_slurm_profile(e.path().string(), "")) << e.path();
}

// Issue 36: one strict reader for profiles too: a key set twice, or a second document.
TEST(HostileProfiles, ADuplicateKeyOrASecondDocumentIsRefused) {
  test::TempDir dir;
  const auto out = dir.file("out");
  auto spec = dir.write("s.yaml", spec_text(out, "ok"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nodes: 1\ntime: \"01:00:00\"\ntime: \"00:10:00\"\n", ":3: time: duplicate key (first set on line 2)"},
      {"nodes: 1\n---\nnodes: 2\n", ":2: a second YAML document"},
  };
  for (const auto& [yaml, what] : cases) {
    test::FaultCase fc("profile: " + yaml);
    auto profile = dir.write("p.yaml", yaml);
    expect_refused(test::aimrun() + " sweep submit --dry-run " + spec + " --profile " + profile, profile + what, out,
                   dir.file("pwned"));
  }
}

TEST(HostileProfiles, AModulesLineThatIsNotBashFailsTheDryRunCheck) {
  test::FaultCase fc("profile modules line with a bash syntax error");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "ok"));
  auto profile = dir.write("p.yaml", "modules: [\"if then fi (\"]\n");
  auto r = test::run_command(test::aimrun() + " sweep submit --dry-run " + spec + " --profile " + profile);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bash -n rejects the generated script"), std::string::npos) << r.output;
}

// ---------------------------------------------------------------------------------------
// Two commands at once

namespace {

int trained_count(const std::string& output) {
  auto p = output.rfind(" trained, ");
  if (p == std::string::npos) return -1;
  auto b = output.rfind(' ', p - 1);
  return std::stoi(output.substr(b + 1, p - b - 1));
}

// A sweep of `seeds` whose first run this process holds the lock of, as a trainer would.
struct SweepWithAHeldRun {
  std::string spec;
  Sweep sweep;
  std::string held;  // that run's folder
  std::unique_ptr<FileLock> lock = std::make_unique<FileLock>();
};

SweepWithAHeldRun sweep_with_a_held_run(const test::TempDir& dir, const std::string& name, const std::string& seeds) {
  SweepWithAHeldRun s;
  s.spec = dir.write("s.yaml", spec_text(dir.file("out"), name, seeds));
  s.sweep = load_sweep(s.spec, {});
  s.held = s.sweep.run_dir(s.sweep.runs[0].run_id);
  fs::create_directories(s.held);
  EXPECT_TRUE(s.lock->try_lock(s.held + "/.lock"));
  return s;
}

}  // namespace

TEST(Concurrent, TrainOfARunAnotherProcessHoldsExits4AndLeavesNoFailure) {
  test::FaultCase fc("aimrun train of a run whose lock another process holds");
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", test::small_run_config(dir.file("out"), 1));
  fs::create_directories(dir.file("run"));
  FileLock lock;
  ASSERT_TRUE(lock.try_lock(dir.file("run/.lock")));
  auto r = test::run_command(test::aimrun() + " train " + cfg + " --run-dir " + dir.file("run"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("already being trained by another process"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run/FAILED")));
}

TEST(Concurrent, SweepRunLeavesARunningRunToItsProcessWithoutAFailure) {
  test::FaultCase fc("sweep run (--no-wait) while another process trains one of its runs");
  test::TempDir dir;
  const auto s = sweep_with_a_held_run(dir, "busy", "[0, 1]");
  const auto& held = s.held;
  auto r = test::run_command(test::aimrun() + " sweep run --no-wait " + s.spec);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 trained, 0 skipped, 0 failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 left running in another process"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("failed:"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(held + "/FAILED"));
}

TEST(Concurrent, SweepRunWaitsForTheOtherProcessAndTrainsWhatItLeft) {
  test::FaultCase fc("sweep run waits while another process holds a run, then trains what it left pending");
  test::TempDir dir;
  auto s = sweep_with_a_held_run(dir, "wait", "[0, 1]");
  const std::string held = s.held, other = s.sweep.run_dir(s.sweep.runs[1].run_id);
  test::CommandResult r;
  std::thread t([&] { r = test::run_command(test::aimrun() + " sweep run " + s.spec); });
  // The other process "stops" (without a result) once this one has trained the free run.
  for (int i = 0; i < 1200 && !fs::exists(other + "/result.h5"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_FALSE(fs::exists(held + "/result.h5"));
  s.lock.reset();
  t.join();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("is running in another process"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 trained, 0 skipped, 0 failed"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(held + "/result.h5"));
}

TEST(Concurrent, TwoSweepRunsOfOneSweepTrainEachRunOnceAndBothSucceed) {
  test::FaultCase fc("two sweep run of the same sweep started together");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "twice", "[0, 1, 2]"));
  const std::string cmd = "OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec;
  auto [a, b] = test::run_at_once(cmd, cmd);
  EXPECT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(b.exit_code, 0) << b.output;
  EXPECT_GE(trained_count(a.output), 0) << a.output;
  EXPECT_GE(trained_count(b.output), 0) << b.output;
  for (const auto& out : {a.output, b.output}) {
    EXPECT_NE(out.find(" 0 failed"), std::string::npos) << out;
    EXPECT_EQ(out.find("failed"), out.rfind("failed")) << "a failure besides the summary:\n" << out;
    EXPECT_EQ(out.find("File exists"), std::string::npos) << out;
  }
  auto plan = test::run_command(test::aimrun() + " sweep plan " + spec);
  EXPECT_NE(plan.output.find("3 done"), std::string::npos) << plan.output;
  // Each run trained once: one training session ended with "run <id> complete: ".
  auto sweep = load_sweep(spec, {});
  for (const auto& r : sweep.runs) {
    const auto log = read_text(sweep.run_dir(r.run_id) + "/train.log");
    const std::string done = "run " + r.run_id + " complete: ";
    EXPECT_NE(log.find(done), std::string::npos) << log;
    EXPECT_EQ(log.find(done), log.rfind(done)) << "trained twice:\n" << log;
  }
}

TEST(Concurrent, PreparingOneSweepTwiceAtOnceNeverFailsOnItsLinks) {
  // sweep run of a sweep whose runs are all "running" elsewhere: each command only prepares
  // the sweep's folders and links (300 of them), at the same time as the other.
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "links", "[" + [] {
    std::string s;
    for (int i = 0; i < 300; ++i) s += (i ? ", " : "") + std::to_string(i);
    return s;
  }() + "]"));
  auto sweep = load_sweep(spec, {});
  std::vector<std::unique_ptr<FileLock>> locks;
  for (const auto& r : sweep.runs) {
    fs::create_directories(sweep.run_dir(r.run_id));
    locks.push_back(std::make_unique<FileLock>());
    ASSERT_TRUE(locks.back()->try_lock(sweep.run_dir(r.run_id) + "/.lock"));
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    test::FaultCase fc("two sweep run --no-wait preparing a 300-run sweep at once, try " + std::to_string(attempt + 1));
    fs::remove_all(dir.file("out/links"));
    const std::string cmd = test::aimrun() + " sweep run --no-wait " + spec;
    auto [a, b] = test::run_at_once(cmd, cmd);
    for (const auto& r : {a, b}) {
      EXPECT_EQ(r.exit_code, 0) << r.output;
      EXPECT_EQ(r.output.find("cannot create link"), std::string::npos) << r.output;
    }
    for (const auto& r : sweep.runs)
      EXPECT_EQ(fs::read_symlink(dir.file("out/links/" + r.run_id)), fs::path("../runs") / r.run_id);
  }
}

// A `sweep submit` stopped with Ctrl-Z (or frozen) while it holds the sweep's submission
// lock holds the next one up for --wait seconds at most: it says what it waits for, then
// exits 1 naming the lock and submitting nothing. Before, it waited forever, without a word.
TEST(Concurrent, ASubmitStoppedWhileItSubmitsHoldsTheNextUpForItsWaitOnly) {
  test::FaultCase fc("sweep submit while another one of the sweep is stopped holding its lock");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "held", "[0, 1]"));
  auto sweep = load_sweep(spec, {});
  fs::create_directories(sweep.sweep_dir() + "/slurm");
  FileLock stopped;
  ASSERT_TRUE(stopped.try_lock(sweep.sweep_dir() + "/slurm/.submit.lock"));
  // A real submission (stand-ins for sbatch and squeue): a dry run takes no lock, it writes nothing.
  test::write_stub(dir, "sbatch", "echo 4545\n");
  test::write_stub(dir, "squeue", "exit 0\n");
  const std::string cmd = "PATH=" + dir.file("stub") + ":$PATH timeout 60 " + test::aimrun() +
                          " sweep submit --profile local " + spec;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = test::run_command(cmd + " --wait 2");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(".submit.lock: another `sweep submit` of sweep held has held it for 2 s"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("nothing was submitted"), std::string::npos) << r.output;
  EXPECT_LT(seconds, 30.0) << r.output;
  EXPECT_FALSE(fs::exists(sweep.sweep_dir() + "/slurm/submissions.yaml")) << r.output;
  stopped.unlock();
  auto after = test::run_command(cmd + " --wait 2");
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("submitted job array 4545"), std::string::npos) << after.output;
}

// The job script closes the session of a process killed outright (it could not write its
// end line), and only its own: a last start line of another process (this element found
// its run busy and exited 4, writing none; a local `sweep run`; another job, even one whose
// id begins with this one's) is left open. Before, an element that found its run busy
// closed the session of the process that was training it.
namespace {

// The job script `sweep submit --dry-run` writes for a one-run sweep "led" (no sbatch on
// PATH: bash -n is its check), and that run's folder.
std::pair<std::string, std::string> one_run_script(const test::TempDir& dir) {
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "led", "[0]"));
  fs::create_directories(dir.file("bin"));
  fs::create_symlink("/bin/bash", dir.file("bin/bash"));
  auto r = test::run_command("PATH=" + dir.file("bin") + " " + test::aimrun() +
                             " sweep submit --dry-run --profile local " + spec + " --script-dir " +
                             dir.file("out/led/slurm"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string script;
  for (const auto& e : fs::directory_iterator(dir.file("out/led/slurm")))
    if (e.path().extension() == ".sbatch") script = e.path().string();
  return {script, dir.file("out/runs/" + load_sweep(spec, {}).runs[0].run_id)};
}

}  // namespace

TEST(SlurmScript, ClosesOnlyItsOwnSessionInTheLedger) {
  test::FaultCase fc("a job element that finds its run busy, and the session ledger");
  test::TempDir dir;
  const auto [script, run_dir] = one_run_script(dir);
  test::write_stub(dir, "srun", "exit $AIM_STUB_RC\n");
  struct Case {
    std::string start;  // the ledger's last line
    int rc;
    bool closed;
    const char* why;
  };
  const std::string t = "{\"event\": \"start\", \"time\": 1, \"hosts\": \"n1\"";
  const std::vector<Case> cases = {
      {t + ", \"slurm\": \"job 77 (array 70_0)\"}", 137, true, "its own session, killed outright"},
      {t + ", \"slurm\": \"job 77 (array 70_0), restart 2\"}", 137, true, "its own session after requeues"},
      {t + ", \"slurm\": \"job 5 (array 3_0)\"}", 4, false, "another job's session: this one found the run busy"},
      {t + "}", 4, false, "a local process's session"},
      {t + ", \"slurm\": \"job 777 (array 70_1)\"}", 137, false, "a job whose id begins with this one's"},
  };
  for (const auto& c : cases) {
    dir.write(run_dir.substr(dir.path().size() + 1) + "/sessions.jsonl", c.start + "\n");
    auto run = test::run_command("cd " + dir.file("out/led/slurm") + " && PATH=" + dir.file("stub") +
                                 ":$PATH SLURM_JOB_ID=77 SLURM_ARRAY_JOB_ID=70 SLURM_ARRAY_TASK_ID=0 AIM_STUB_RC=" +
                                 std::to_string(c.rc) + " bash " + script);
    EXPECT_EQ(run.exit_code, c.rc) << run.output;
    const std::string ledger = read_text(run_dir + "/sessions.jsonl");
    const bool closed = ledger.find("\"by\": \"sbatch\", \"exit_code\": " + std::to_string(c.rc)) != std::string::npos;
    EXPECT_EQ(closed, c.closed) << c.why << "\n" << ledger;
    // The script's end line carries its CRC-32 (gzip's), read back as aimrun's own lines are.
    std::vector<std::string> damaged;
    const auto entries = read_ledger(RunPaths{run_dir}, &damaged);
    EXPECT_TRUE(damaged.empty()) << ledger;
    ASSERT_EQ(entries.size(), c.closed ? 2u : 1u) << ledger;
    if (c.closed) {
      EXPECT_EQ(entries.back().exit_code, c.rc) << ledger;
    }
  }
}

// Number options of the command line: NaN, infinities, out of range, not a number. CLI11's
// own checks let NaN through: `sweep submit --wait nan` waited forever for another
// submission, `report --margin nan` judged every cell as if no interval were too wide.
TEST(HostileArgument, NonFiniteOrOutOfRangeNumberOptionsAreRefused) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "nums", "[0]"));
  const std::vector<std::string> commands = {
      " sweep submit --dry-run --profile local " + spec + " --wait ",
      " sweep status " + spec + " --watch --interval ",
      " report " + dir.path() + " --margin ",
  };
  for (const auto& cmd : commands)
    for (const std::string v : {"nan", "NaN", "-nan", "inf", "-inf", "1e999", "-1", "0", "abc", "1e9999999"}) {
      test::FaultCase fc("number option" + cmd.substr(cmd.rfind(" --")) + v);
      auto r = test::run_command(test::aimrun() + cmd + v);
      EXPECT_EQ(r.exit_code, 2) << cmd << v << "\n" << r.output;
      EXPECT_NE(r.output.find("expected a"), std::string::npos) << cmd << v << "\n" << r.output;
    }
  EXPECT_FALSE(fs::exists(dir.file("out"))) << "nothing is written";
}

// squeue failing (the controller does not answer, a timeout): `sweep submit` cannot tell
// which runs are queued, so it submits nothing (exit 1) rather than queue every queued run
// a second time; `sweep status` says the queue is not shown; `sweep status --watch` watches
// on instead of ending with "nothing running or queued". Before, each run already queued
// was queued again, and the watch ended at once. (Stand-ins for sbatch and squeue.)
TEST(HostileCluster, WhenSqueueFailsSubmitQueuesNothingTwiceAndTheWatchGoesOn) {
  test::FaultCase fc("squeue failing while a sweep is queued");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "q", "[0, 1]"));
  test::write_stub(dir, "sbatch", "echo \"$@\" >> \"$AIM_STUB_LOG\"\necho 4242\n");
  test::write_stub(dir, "squeue",
                   "if [ -n \"$AIM_SQUEUE_FAIL\" ]; then\n"
                   "  echo 'squeue: error: slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1\n"
                   "fi\nprintf '4242_0 PENDING\\n4242_1 PENDING\\n'\n");
  const std::string env = "PATH=" + dir.file("stub") + ":$PATH AIM_STUB_LOG=" + dir.file("sbatch.log") + " ";
  const std::string submit = test::aimrun() + " sweep submit --profile local " + spec;
  auto submissions = [&] { return split(read_text(dir.file("sbatch.log")), '\n').size() - 1; };
  auto first = test::run_command(env + submit);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_EQ(submissions(), 1u);
  auto again = test::run_command(env + submit);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("nothing to submit"), std::string::npos) << again.output;
  auto blind = test::run_command(env + "AIM_SQUEUE_FAIL=1 " + submit);
  EXPECT_EQ(blind.exit_code, 1) << blind.output;
  EXPECT_NE(blind.output.find("cannot tell which of its runs are queued: squeue failed (exit 1): squeue: error: "
                              "slurm_load_jobs error"),
            std::string::npos)
      << blind.output;
  EXPECT_EQ(submissions(), 1u) << "no run is queued twice";
  auto status = test::run_command(env + "AIM_SQUEUE_FAIL=1 " + test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("Slurm's queued and running states are not shown"), std::string::npos) << status.output;
  auto watch = test::run_command(env + "AIM_SQUEUE_FAIL=1 timeout 15 " + test::aimrun() + " sweep status " + spec +
                                 " --watch --interval 0.5");
  EXPECT_NE(watch.output.find("the queue is not known; watching on"), std::string::npos) << watch.output;
  EXPECT_EQ(watch.output.find("nothing running or queued"), std::string::npos) << watch.output;
}

// The requeue after a stop (exit 75) is tried again when the controller does not answer
// for a moment (5 tries; AIM_REQUEUE_PAUSE seconds apart, 10 by default); when none
// succeeds the job log says the run keeps its checkpoint and `sweep submit` queues it
// again. Before, one failed `scontrol requeue` left the run stopped without a word.
TEST(SlurmScript, ARequeueTheControllerRefusesIsTriedAgain) {
  test::TempDir dir;
  const auto [script, run_dir] = one_run_script(dir);
  test::write_stub(dir, "srun", "exit 75\n");
  test::write_stub(dir, "scontrol",
                   "echo \"$@\" >> \"$AIM_STUB_LOG\"\nn=$(wc -l < \"$AIM_STUB_LOG\")\n[ \"$n\" -gt \"$AIM_FAILS\" ]\n");
  for (int fails : {2, 5}) {
    test::FaultCase fc("scontrol requeue failing " + std::to_string(fails) + " time(s) after a stop");
    fs::remove(dir.file("scontrol.log"));
    auto run =
        test::run_command("cd " + dir.file("out/led/slurm") + " && PATH=" + dir.file("stub") +
                          ":$PATH SLURM_JOB_ID=77 SLURM_ARRAY_JOB_ID=70 SLURM_ARRAY_TASK_ID=0 AIM_REQUEUE_PAUSE=0 "
                          "AIM_STUB_LOG=" +
                          dir.file("scontrol.log") + " AIM_FAILS=" + std::to_string(fails) + " bash " + script);
    EXPECT_EQ(run.exit_code, 75) << run.output;
    const auto calls = split(read_text(dir.file("scontrol.log")), '\n');
    EXPECT_EQ(calls.size(), size_t(std::min(fails + 1, 5) + 1)) << read_text(dir.file("scontrol.log"));
    EXPECT_EQ(calls[0], "requeue 70_0");
    EXPECT_NE(run.output.find("scontrol requeue failed (attempt 1 of 5)"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("could not requeue") != std::string::npos, fails >= 5) << run.output;
  }
}

// A submission sbatch queued but that cannot be recorded in <sweep>/slurm/submissions.yaml
// (a full disk): the next `sweep submit` would not know its runs are queued and queue them
// again, so it is cancelled at once (exit 1, saying so). Before, it stayed queued, unknown.
TEST(HostileCluster, ASubmissionThatCannotBeRecordedIsCancelled) {
  test::FaultCase fc("a full disk while a submission is recorded");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "rec", "[0, 1]"));
  test::write_stub(dir, "sbatch", "echo \"$@\" >> \"$AIM_STUB_LOG\"\necho 4343\n");
  test::write_stub(dir, "squeue", "exit 0\n");
  test::write_stub(dir, "scancel", "echo \"scancel $@\" >> \"$AIM_STUB_LOG\"\n");
  const std::string env = "PATH=" + dir.file("stub") + ":$PATH AIM_STUB_LOG=" + dir.file("stub.log") + " ";
  const std::string submit = test::aimrun() + " sweep submit --profile local " + spec;
  auto full = test::run_command(env + "LD_PRELOAD=" AIM_SHIM " AIM_SHIM_FAIL=write AIM_SHIM_PATTERN=submissions.yaml " +
                                submit);
  EXPECT_EQ(full.exit_code, 1) << full.output;
  EXPECT_NE(full.output.find("job 4343 was queued but cannot be recorded (no space left on device"), std::string::npos)
      << full.output;
  EXPECT_NE(full.output.find("it is cancelled again, none of it runs"), std::string::npos) << full.output;
  EXPECT_NE(read_text(dir.file("stub.log")).find("scancel 4343"), std::string::npos) << read_text(dir.file("stub.log"));
  EXPECT_FALSE(fs::exists(dir.file("out/rec/slurm/submissions.yaml")));
  auto again = test::run_command(env + submit);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(read_text(dir.file("out/rec/slurm/submissions.yaml")).find("4343"), std::string::npos);
}
