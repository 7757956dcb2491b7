// The records that steer `sweep submit` (<sweep>/slurm/submissions.yaml) are never misread:
// random single-bit flips and cuts are refused naming the file, or read back equal; an empty,
// scalar or cut record is refused by `sweep status` and `sweep submit` (exit 2) with the
// command that rebuilds it from squeue; a job of the sweep in squeue that the record lacks is
// never queued twice (stand-ins for sbatch and squeue, and the real cluster with a held
// array). And the read-only commands are read-only: plan, status (also --watch), submit
// --dry-run (also with a profile of another rank count) and report change no file of a sweep
// with done, failed and pending runs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/random.h"
#include "core/strings.h"
#include "fault_log.h"
#include "results/run_folder.h"
#include "runner/sweep/slurm_queue.h"
#include "runner/sweep/slurm_records.h"
#include "runner/sweep/sweep_spec.h"
#include "runner/sweep/upstream.h"
#include "slurm_test.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

const std::string kRebuild = "aimrun sweep submit s.yaml --profile p --rebuild-records";

// The tests' small run, smaller still (seconds of training), plus `sweep:`.
std::string spec_text(const std::string& out, const std::string& sweep_name, const std::string& seeds) {
  std::string run = test::small_run_config(out, 1);
  run.replace(run.find("train_size: 3000, val_size: 200, test_size: 400"), 47,
              "train_size: 320, val_size: 64, test_size: 64");
  return run + "sweep:\n  name: " + sweep_name + "\n  grid:\n    seed: " + seeds + "\n";
}

// Two stages' submissions: one of two arrays (a throttle, an afterany), one waiting for it.
std::vector<Submission> sample_submissions() {
  std::vector<Submission> subs(2);
  subs[0].stage = "pretrain";
  for (int k = 0; k < 2; ++k) {
    SubmittedArray a;
    a.job_id = std::to_string(1200 + k);
    a.script = "/data/out/s/slurm/array-20261207-030000-77-pretrain-part" + std::to_string(k + 1) + ".sbatch";
    a.throttle = 3;
    if (k == 1) a.dependency = "afterany:1200";
    for (int i = 0; i < 6; ++i)
      a.run_ids.push_back("r" + std::to_string(k) + "-" + hex32(uint32_t(0x9e3779b9u * (i + 1))));
    subs[0].parts.push_back(a);
  }
  subs[1].stage = "finetune";
  subs[1].dependency = "afterok:1200:1201_4";
  SubmittedArray b;
  b.job_id = "1202";
  b.script = "/data/out/s/slurm/array-20261207-030001-77-finetune.sbatch";
  b.dependency = subs[1].dependency;
  for (int i = 0; i < 5; ++i) b.run_ids.push_back("ft-" + std::to_string(i));
  subs[1].parts.push_back(b);
  return subs;
}

// "detected": refused naming the file, what is wrong and the rebuild; "harmless": read back
// equal; "misread": anything else (a test failure).
std::string judge(const std::string& text, const std::string& path, const std::vector<Submission>& original) {
  try {
    auto got = parse_submission_record(text, path, kRebuild);
    return got == original ? "harmless" : "misread";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    const bool named =
        starts_with(m, path + ": ") && m.find("rebuild it from squeue with " + kRebuild) != std::string::npos;
    return named ? "detected" : "unnamed: " + m;
  } catch (const std::exception& e) {
    return std::string("other error: ") + e.what();
  }
}

// Every entry below `root`: its name, type, size, mtime (ns) and link target, for a before
// and after comparison.
std::map<std::string, std::string> listing(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::ostringstream line;
    line << std::oct << st.st_mode << std::dec << " " << st.st_size << " " << st.st_mtim.tv_sec << "."
         << st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(it->path()).string();
    out[fs::relative(it->path(), root).string()] = line.str();
  }
  return out;
}

std::string differences(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  std::string d;
  for (const auto& [k, v] : a)
    if (!b.count(k))
      d += "removed: " + k + "\n";
    else if (b.at(k) != v)
      d += "changed: " + k + " (" + v + " -> " + b.at(k) + ")\n";
  for (const auto& [k, v] : b)
    if (!a.count(k)) d += "added: " + k + "\n";
  return d;
}

size_t lines_of(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  return split(trim(read_text(path)), '\n').size();
}

}  // namespace

TEST(SubmissionRecord, ReadsBackAsWrittenAndAnAppendKeepsTheFileChecked) {
  test::TempDir dir;
  const auto subs = sample_submissions();
  const std::string path = dir.file("submissions.yaml");
  write_submission_record(path, subs, {"gpu", "gpu"}, "20261207-030000");
  EXPECT_EQ(parse_submission_record(read_text(path), path, kRebuild), subs);
  const std::string text = read_text(path);
  EXPECT_TRUE(starts_with(text, "# aimrun sweep submit: ")) << text;
  EXPECT_NE(text.rfind("\n# crc32 "), std::string::npos) << text;
  write_submission_record(path, {}, {}, "x");
  EXPECT_FALSE(fs::exists(path)) << "an empty record is no file";
}

// Hundreds of random single-bit flips anywhere in the record, and cuts at random lengths (and
// then at every length): each is refused naming the file and the rebuild, or read back equal;
// none is read as other submissions. Before, a flipped digit of a job id or a run id was read
// as another job or run, and a cut record read as fewer submissions (or none).
TEST(SubmissionRecord, RandomBitFlipsAndCutsAreRefusedOrReadBackEqual) {
  test::TempDir dir;
  const auto subs = sample_submissions();
  const std::string path = dir.file("submissions.yaml");
  write_submission_record(path, subs, {"gpu", "gpu"}, "20261207-030000");
  const std::string text = read_text(path);
  ASSERT_EQ(judge(text, path, subs), "harmless");
  Rng rng(36);
  std::map<std::string, int> seen;
  for (int i = 0; i < 400; ++i) {
    const size_t at = rng.below(text.size());
    const int bit = int(rng.below(8));
    test::FaultCase fc("submissions.yaml with bit " + std::to_string(bit) + " of byte " + std::to_string(at) +
                       " flipped");
    std::string flipped = text;
    flipped[at] = char(flipped[at] ^ (1 << bit));
    const auto verdict = judge(flipped, path, subs);
    EXPECT_TRUE(verdict == "detected" || verdict == "harmless") << "byte " << at << " bit " << bit << ": " << verdict;
    seen[verdict]++;
  }
  for (int i = 0; i < 200; ++i) {
    const size_t length = rng.below(text.size());
    test::FaultCase fc("submissions.yaml cut to " + std::to_string(length) + " of " + std::to_string(text.size()) +
                       " bytes");
    const auto verdict = judge(text.substr(0, length), path, subs);
    EXPECT_EQ(verdict, "detected") << "cut to " << length;
    seen[verdict]++;
  }
  {
    test::FaultCase fc("submissions.yaml cut at every length");
    for (size_t length = 0; length < text.size(); ++length)
      EXPECT_EQ(judge(text.substr(0, length), path, subs), "detected") << "cut to " << length;
  }
  EXPECT_GT(seen["detected"], 550) << "a CRC-32 sees every single-bit flip";
  for (const auto& [verdict, n] : seen) std::cout << verdict << ": " << n << "\n";
}

// What the issue found read as "nothing queued", and records an earlier aimrun wrote without
// a checksum: each refused, naming the file, what is wrong and the rebuild.
TEST(SubmissionRecord, EmptyScalarCutOrUncheckedRecordsAreRefusedNamingWhatIsWrong) {
  test::TempDir dir;
  const std::string path = dir.file("submissions.yaml");
  write_submission_record(path, sample_submissions(), {"gpu", "gpu"}, "20261207-030000");
  const std::string whole = read_text(path);
  const std::string head = whole.substr(0, whole.find('\n') + 1);
  auto checked = [&](const std::string& body) {
    const std::string before = head + body;
    return before + "# crc32 " + hex32(crc32_of(before)) + " " + std::to_string(before.size()) + "\n";
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the file is empty"},
      {"\n", "its first line is not aimrun's"},
      {"42\n", "its first line is not aimrun's"},
      {"- job_id: '7'\n  runs: [a]\n", "written without a checksum by an aimrun before"},
      {head.substr(0, 10), "cut short (it ends within its first line)"},
      {head, "cut short or changed: its last line is not its checksum"},
      {whole.substr(0, whole.size() / 2), "cut short"},
      {whole.substr(0, whole.rfind('\n', whole.size() / 2) + 1), "its last line is not its checksum"},
      {whole.substr(0, whole.size() - 1), "cut short (its last line is not whole)"},
      {whole + "- job_id: '9'\n", "its last line is not its checksum"},
      {checked(""), "holds no submissions"},
      {checked("[]\n"), "an empty list of submissions"},
      {checked("42\n"), "a single value, where a list of submissions was expected"},
      {checked("a: 1\n"), "a mapping, where a list of submissions was expected"},
      {checked("- 42\n"), "line 2: a submission that is not a mapping"},
      {checked("- parts: []\n"), "`parts` is not a list of arrays"},
      {checked("- parts:\n    - script: x\n      runs: [a]\n"), "line 3: an entry without `job_id`"},
      {checked("- parts:\n    - job_id: 12a\n      runs: [a]\n"), "job_id '12a' is not a Slurm job id"},
      {checked("- parts:\n    - job_id: 12\n"), "job 12 has no list of runs"},
      {checked("- parts:\n    - job_id: 12\n      runs: [a, ../b]\n"), "job 12: a run that is not a run id"},
  };
  for (const auto& [text, what] : cases) {
    try {
      parse_submission_record(text, path, kRebuild);
      ADD_FAILURE() << "accepted:\n" << text;
    } catch (const ConfigError& e) {
      EXPECT_TRUE(starts_with(e.what(), path + ": ")) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(
          std::string(e.what()).find("; nothing is queued or shown from it: rebuild it from squeue with " + kRebuild),
          std::string::npos)
          << e.what();
    }
  }
}

// Stand-ins for sbatch and squeue (squeue prints $AIM_SQUEUE: the first array, queued, with
// its name and script as the real squeue's %j %o). An empty, scalar or cut record: `sweep
// status` and `sweep submit` exit 2 naming the file and the rebuild, and nothing is queued
// again. The record deleted: submit exits 2 naming the job that squeue shows and the record
// lacks. `--rebuild-records` writes it again from squeue and the job's run list, with the
// dependencies squeue still shows (%E; before, the rebuilt record had none); then submit
// queues nothing. Before, each of these queued both runs a second time.
TEST(SubmissionRecordCli, ADamagedOrLostRecordQueuesNothingTwiceAndIsRebuiltFromSqueue) {
  test::FaultCase fc("submissions.yaml empty, scalar, cut or deleted while its array is queued (stand-ins)");
  test::TempDir dir;
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), "rec", "[0, 1]"));
  test::write_stub(dir, "sbatch",
                   "[ \"$1\" = --test-only ] && { echo ok; exit 0; }\necho \"$@\" >> \"$AIM_STUB_LOG\"\necho 4646\n");
  test::write_stub(
      dir, "squeue",
      "case \"$*\" in *%E*) printf '%s' \"$AIM_SQUEUE_DEPENDENCY\";; *) printf '%s' \"$AIM_SQUEUE\";; esac\n");
  const std::string sbatch_log = dir.file("sbatch.log");
  std::string env = "PATH=" + dir.file("stub") + ":$PATH AIM_STUB_LOG=" + sbatch_log + " ";
  const std::string submit = test::aimrun() + " sweep submit --profile local " + spec;
  auto first = test::run_command(env + submit);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_EQ(lines_of(sbatch_log), 1u);
  const auto sweep = load_sweep(spec, {});
  const std::string record = submission_record_path(sweep);
  const auto subs = read_submissions(sweep);
  ASSERT_EQ(subs.size(), 1u);
  const auto& array = subs[0].parts.at(0);
  const std::string queued =
      "4646_0 PENDING aim-rec " + array.script + "\n4646_1 PENDING aim-rec " + array.script + "\n";
  env += "AIM_SQUEUE=" + shell_quote(queued) + " ";
  const std::string whole = read_text(record);
  auto status = test::run_command(env + test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("2 queued"), std::string::npos) << status.output;

  for (const auto& bad :
       {std::string(), std::string("0\n"), whole.substr(0, whole.size() * 2 / 3), whole.substr(0, 40)}) {
    std::ofstream(record, std::ios::trunc) << bad;
    for (const std::string& cmd : {"sweep status " + spec, "sweep submit --profile local " + spec,
                                   "sweep submit --dry-run --profile local " + spec}) {
      auto r = test::run_command(env + test::aimrun() + " " + cmd);
      EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.output;
      EXPECT_NE(r.output.find(record + ": "), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("rebuild it from squeue with aimrun sweep submit " + shell_quote(spec) +
                              " --profile <its profile> --rebuild-records"),
                std::string::npos)
          << r.output;
    }
    EXPECT_EQ(lines_of(sbatch_log), 1u) << "queued twice with the record " << shell_quote(bad);
  }

  fs::remove(record);
  auto lost = test::run_command(env + submit);
  EXPECT_EQ(lost.exit_code, 2) << lost.output;
  EXPECT_NE(lost.output.find("job 4646 of sweep rec (named aim-rec, scripts in " + sweep.sweep_dir() +
                             "/slurm) is in Slurm's queue but not in " + record),
            std::string::npos)
      << lost.output;
  EXPECT_NE(lost.output.find("--rebuild-records"), std::string::npos) << lost.output;
  EXPECT_EQ(lines_of(sbatch_log), 1u) << "queued twice without a record";
  auto blind = test::run_command(env + test::aimrun() + " sweep status " + spec);
  EXPECT_EQ(blind.exit_code, 0) << blind.output;
  EXPECT_NE(blind.output.find("is in Slurm's queue but not in " + record), std::string::npos) << blind.output;

  std::ofstream(record, std::ios::trunc) << "garbage";
  // squeue's %E as the real one prints it (Slurm 22: a whole array as <job>_*, each target
  // with its state): the array's dependencies come back into the record.
  const std::string dependency =
      "4646_[0-1] afterok:4600_*(unfulfilled),afterok:4601_2(unfulfilled),"
      "afterany:4602(unfulfilled)\n4646_7 (null)\n";
  auto rebuilt =
      test::run_command(env + "AIM_SQUEUE_DEPENDENCY=" + shell_quote(dependency) + " " + submit + " --rebuild-records");
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
  EXPECT_EQ(read_text(record + ".damaged"), "garbage");
  const auto again = read_submissions(sweep);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].parts.at(0).job_id, "4646");
  EXPECT_EQ(again[0].parts.at(0).run_ids, array.run_ids);
  EXPECT_EQ(again[0].dependency, "afterok:4600:4601_2");
  EXPECT_EQ(again[0].parts.at(0).dependency, "afterok:4600:4601_2,afterany:4602");
  auto after = test::run_command(env + submit);
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("nothing to submit"), std::string::npos) << after.output;
  EXPECT_EQ(lines_of(sbatch_log), 1u);
  status = test::run_command(env + test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("2 queued"), std::string::npos) << status.output;
}

// The real cluster: a held array (it never runs), its record emptied and then deleted; a
// second submit refuses each time and Slurm holds each run once; the rebuild finds the array
// by its name and script folder. The array is cancelled at the end.
TEST(SubmissionRecordSlurm, ALostRecordWhileAnArrayIsHeldQueuesNothingTwice) {
  test::FaultCase fc("submissions.yaml emptied, then deleted, while its array is held in Slurm");
  AIM_NEEDS_SLURM();
  test::TempDir dir;
  const std::string name = "lost" + std::to_string(getpid());
  auto spec = dir.write("s.yaml", spec_text(dir.file("out"), name, "[0, 1]"));
  auto profile = dir.write("held.yaml", "time: \"00:05:00\"\nextra_sbatch: [\"--hold\"]\n");
  struct Cancel {
    std::string name;
    ~Cancel() { test::run_command("scancel --name aim-" + name); }
  } cancel{name};
  const std::string submit = test::aimrun() + " sweep submit " + spec + " --profile " + profile;
  auto first = test::run_command(submit);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string job = trim(first.output.substr(first.output.rfind('\n', first.output.size() - 2) + 1));
  auto held = [&] { return split(trim(test::run_command("squeue -h -r -n aim-" + name + " -o %i").output), '\n'); };
  ASSERT_EQ(held(), (std::vector<std::string>{job + "_0", job + "_1"})) << first.output;
  const auto sweep = load_sweep(spec, {});
  const std::string record = submission_record_path(sweep);

  std::ofstream(record, std::ios::trunc) << "";
  auto emptied = test::run_command(submit);
  EXPECT_EQ(emptied.exit_code, 2) << emptied.output;
  EXPECT_NE(emptied.output.find(record + ": the file is empty"), std::string::npos) << emptied.output;
  fs::remove(record);
  auto lost = test::run_command(submit);
  EXPECT_EQ(lost.exit_code, 2) << lost.output;
  EXPECT_NE(lost.output.find("job " + job + " of sweep " + name), std::string::npos) << lost.output;
  EXPECT_EQ(held().size(), 2u) << "a run queued twice";

  auto rebuilt = test::run_command(submit + " --rebuild-records");
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
  EXPECT_EQ(trim(rebuilt.output.substr(rebuilt.output.rfind('\n', rebuilt.output.size() - 2) + 1)), job);
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_NE(status.output.find("2 queued"), std::string::npos) << status.output;
  auto after = test::run_command(submit);
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("nothing to submit"), std::string::npos) << after.output;
  EXPECT_EQ(held().size(), 2u) << "a run queued twice";
}

// A sweep with a done, a failed and a pending run (and a record of a submission): `sweep
// plan`, `sweep status` (also with another profile's ranks, and --watch), `sweep submit
// --dry-run` (also with a profile of 2 ranks, whose runs are others) and `report` in every
// format change no file below output_dir: names, sizes, mtimes and link targets are equal
// before and after. Before, a dry run wrote its scripts into <sweep>/slurm, and with the
// 2-rank profile unlinked the done run ("no longer in <file>") and linked runs never started.
TEST(ReadOnly, PlanStatusDryRunAndReportChangeNoFile) {
  test::FaultCase fc("read-only commands on a sweep with done, failed and pending runs");
  test::TempDir dir;
  const std::string out = dir.file("out");
  auto spec = dir.write("s.yaml", spec_text(out, "ro", "[0]"));
  auto trained = test::run_command(test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  dir.write("s.yaml", spec_text(out, "ro", "[0, 1, 2]"));
  test::write_stub(dir, "sbatch", "[ \"$1\" = --test-only ] && { echo ok; exit 0; }\necho 4747\n");
  test::write_stub(dir, "squeue", "exit 0\n");
  const std::string env = "PATH=" + dir.file("stub") + ":$PATH ";
  auto submitted = test::run_command(env + test::aimrun() + " sweep submit --profile local " + spec);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  const auto sweep = load_sweep(spec, {});
  mark_failed(RunPaths{sweep.run_dir(sweep.runs[1].run_id)}, "killed by the test");
  auto two_ranks = dir.write("two.yaml", "tasks_per_node: 2\n");
  auto plan = test::run_command(env + test::aimrun() + " sweep plan " + spec);
  ASSERT_NE(plan.output.find("1 done, 1 failed, 1 pending"), std::string::npos) << plan.output;

  const std::string sweep_dir = out + "/ro";
  const std::vector<std::string> commands = {
      "sweep plan " + spec,
      "sweep plan " + spec + " --ranks 2",
      "sweep status " + spec,
      "sweep status " + spec + " --profile " + two_ranks,
      "sweep status " + spec + " --watch --interval 0.2",
      "sweep submit --dry-run --profile local " + spec,
      "sweep submit --dry-run --profile " + two_ranks + " " + spec,
      "report " + sweep_dir,
      "report " + sweep_dir + " --format csv",
      "report " + sweep_dir + " --format latex",
      "report " + sweep_dir + " --least-confident 3",
      "report " + out + "/runs",
  };
  for (const auto& cmd : commands) {
    const auto before = listing(out);
    auto r = test::run_command(env + "timeout 60 " + test::aimrun() + " " + cmd);
    // report: 3 (runs not complete, listed); --watch: 1 (a run failed); the others 0.
    const int expected = starts_with(cmd, "report ") ? 3 : cmd.find("--watch") != std::string::npos ? 1 : 0;
    EXPECT_EQ(r.exit_code, expected) << cmd << "\n" << r.output;
    EXPECT_EQ(differences(before, listing(out)), "") << cmd << "\n" << r.output;
  }
  auto dry = test::run_command(env + test::aimrun() + " sweep submit --dry-run --profile " + two_ranks + " " + spec);
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("#SBATCH --array=0-2"), std::string::npos) << "3 runs of 2 ranks, none started\n"
                                                                       << dry.output;
  EXPECT_NE(dry.output.find("aim_run_list='" + fs::absolute(sweep_dir).string() + "/slurm/runs-"), std::string::npos)
      << "the script names the run list a submission would write\n"
      << dry.output;
  EXPECT_EQ(dry.output.find("unlinked"), std::string::npos) << dry.output;
}
