// `sweep run --jobs N` (docs/sweeps.md, "Runs at once"): runs trained at once overlap, give
// the numbers of the same runs trained one after another, tag every line of their output;
// a stop reaches every running run and starts no other; a stage starts after the stages
// before it; --fail-fast starts no run after a failure; the option's range.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "core/exit_codes.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "run_compare.h"
#include "runner/session_ledger.h"
#include "runner/sweep/run_pool.h"
#include "runner/sweep/sweep_spec.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

// A copy of Fashion-MNIST with damaged training images (test_sweeps.cpp).
std::string damaged_fashion_mnist(const test::TempDir& dir);

namespace {

// The tests' small run: `train_size` images, one thread pinned (`threads: 1`, so that runs at
// once and one after another compute alike), a progress line every 0.2 s.
std::string pinned_run(const std::string& out, int epochs, int train_size = 1000) {
  auto text = test::small_run_config(out, epochs, 0, train_size);
  return text.replace(text.find("log_every: 0"), 12, "log_every: 0.2") + "threads: 1\n";
}

std::string sweep_run(const std::string& spec, int jobs, const std::string& more = "") {
  return test::aimrun() + " sweep run " + spec + " --jobs " + std::to_string(jobs) + more;
}

// The first start and the last end (unix seconds) of a run, from its session ledger.
std::pair<double, double> span_of(const std::string& run_dir) {
  const auto ledger = read_ledger(RunPaths{run_dir});
  double start = -1, end = -1;
  for (const auto& e : ledger) {
    if (e.event == "start" && start < 0) start = e.time;
    if (e.event == "end") end = e.time;
  }
  return {start, end};
}

// Every line of `output` is a whole line of one run, behind that run's tag ("[3/4] " and
// then the line as the run wrote it: "[HH:MM:SS] ..."; short, so the lines fit 120 columns:
// the sweep's own "[HH:MM:SS] [3/4] <run id> ..." names the run), or one of the sweep's own
// log lines ("[HH:MM:SS] ...", no tag). No line holds two runs' tags or two log lines. A
// tagged run names itself as run k's id ("run <id>: ..."). Each run's tag is seen.
void expect_whole_tagged_lines(const std::string& output, const Sweep& sweep) {
  const std::regex tagged(R"(^\[(\d+)/(\d+)\] (\[\d\d:.*)$)"), stamp(R"(\[\d\d:\d\d:\d\d\] )"),
      any_tag(R"(\[\d+/\d+\] \[\d\d:)"), names(R"(\] run ([0-9a-f]{12}): )");
  std::set<size_t> seen;
  for (const auto& line : split(output, '\n')) {
    if (line.empty()) continue;
    std::smatch m;
    std::string rest = line;
    if (std::regex_match(line, m, tagged)) {
      const size_t k = std::stoul(m[1]);
      ASSERT_EQ(std::stoul(m[2]), sweep.runs.size()) << line;
      ASSERT_TRUE(k >= 1 && k <= sweep.runs.size()) << line;
      rest = m[3];
      std::smatch id;
      if (std::regex_search(rest, id, names)) {
        EXPECT_EQ(id[1].str(), sweep.runs[k - 1].run_id) << line;
      }
      seen.insert(k);
    }
    EXPECT_FALSE(std::regex_search(rest, any_tag)) << "two runs in one line: " << line;
    const auto stamps = std::distance(std::sregex_iterator(rest.begin(), rest.end(), stamp), std::sregex_iterator());
    EXPECT_LE(stamps, 1) << "two log lines in one: " << line;
    if (rest == line) {
      EXPECT_EQ(line.rfind('[', 0), 0u) << "a line without a tag that is not the sweep's: " << line;
    }
  }
  EXPECT_EQ(seen.size(), sweep.runs.size()) << output;
}

// Whether a line of `log` begins with `tag` and holds `text`.
bool has_line(const std::string& log, const std::string& tag, const std::string& text) {
  for (const auto& line : split(log, '\n'))
    if (line.rfind(tag, 0) == 0 && test::contains(line, text)) return true;
  return false;
}

// A pretrain stage (seeds 0, 1; the second trains on three times the images, so the first
// ends well before it) and a finetune stage starting from it, two runs each.
std::string two_stages(const std::string& out) {
  return pinned_run(out, 1) +
         "sweep:\n  name: staged\n  stages:\n    - name: pretrain\n"
         "      zip:\n        - {seed: [0, 1], dataset.train_size: [1000, 3000]}\n"
         "    - name: finetune\n      init_from: pretrain\n      grid: {seed: [0, 1]}\n";
}

}  // namespace

// Four runs, two at once: all done, the first two trained at the same time, every line tagged
// with its run and whole; each run's numbers those of the same run trained one after another
// (--jobs 1), bit for bit.
TEST(SweepJobs, TwoAtOnceOverlapTagEveryLineAndMatchOneAfterAnother) {
  test::TempDir dir;
  // The first run trains on three times the images, so that it still trains when the second
  // begins (with equal runs of a few seconds each, the second's start came after the first's
  // end in 1 of 6 tries on a loaded machine).
  const std::string grid =
      "sweep:\n  name: four\n  zip:\n    - {seed: [0, 1, 2, 3], dataset.train_size: [3000, 1000, 1000, 1000]}\n";
  auto at_once = dir.write("a.yaml", pinned_run(dir.file("a"), 1) + grid);
  auto in_turn = dir.write("b.yaml", pinned_run(dir.file("b"), 1) + grid);
  auto r = test::run_command(sweep_run(at_once, 2));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sweep four: 2 runs at once, "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 trained, 0 skipped, 0 failed"), std::string::npos) << r.output;
  const auto a = load_sweep(at_once, {}), b = load_sweep(in_turn, {});
  expect_whole_tagged_lines(r.output, a);
  const auto first = span_of(a.run_dir(a.runs[0].run_id)), second = span_of(a.run_dir(a.runs[1].run_id));
  ASSERT_GT(first.second, 0);
  ASSERT_GT(second.second, 0);
  EXPECT_LT(second.first, first.second) << "the second run started after the first ended";
  EXPECT_LT(first.first, second.second);
  auto one = test::run_command(sweep_run(in_turn, 1));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(one.output.find("runs at once"), std::string::npos) << one.output;
  EXPECT_EQ(one.output.find("[1/4] ["), std::string::npos) << "--jobs 1 tags no line:\n" << one.output;
  for (size_t i = 0; i < a.runs.size(); ++i) {
    SCOPED_TRACE(a.runs[i].run_id);
    ASSERT_EQ(a.runs[i].run_id, b.runs[i].run_id);
    test::expect_same_results(a.run_dir(a.runs[i].run_id) + "/result.h5", b.run_dir(b.runs[i].run_id) + "/result.h5");
  }
}

// SIGTERM to `sweep run --jobs 2` while two runs train: both end with a checkpoint (exit 75),
// the sweep exits 75 saying so, the third run never starts; `sweep run --jobs 2` again
// resumes both and trains the third, and the stopped runs end with the numbers of
// uninterrupted twins.
TEST(SweepJobs, TermStopsEveryRunningRunAndASecondSweepRunResumesThem) {
  test::TempDir dir;
  auto spec =
      dir.write("s.yaml", pinned_run(dir.file("out"), 3) + "sweep:\n  name: stop\n  grid:\n    seed: [3, 4, 5]\n");
  const auto s = load_sweep(spec, {});
  std::vector<std::string> runs;
  for (const auto& r : s.runs) runs.push_back(s.run_dir(r.run_id));
  test::Background sweep(sweep_run(spec, 2), dir.file("log"));
  // Both in their second epoch: each has its first checkpoint.
  ASSERT_TRUE(test::wait_until(
      [&] { return fs::exists(runs[0] + "/checkpoint.pt") && fs::exists(runs[1] + "/checkpoint.pt"); }, 180))
      << test::text_or_empty(dir.file("log"));
  sweep.signal(SIGTERM);
  EXPECT_EQ(sweep.wait(180), kExitStopped) << test::text_or_empty(dir.file("log"));
  const auto log = test::text_or_empty(dir.file("log"));
  EXPECT_NE(log.find("sweep run stopped by SIGTERM"), std::string::npos) << log;
  for (size_t i = 0; i < 2; ++i) {
    const std::string tag = "[" + std::to_string(i + 1) + "/3] ";
    EXPECT_TRUE(has_line(log, tag, "checkpoint written at epoch")) << tag << "\n" << log;
    FileLock lock;
    EXPECT_TRUE(lock.try_lock(runs[i] + "/.lock")) << "still held by a training process:\n" << log;
    EXPECT_FALSE(fs::exists(runs[i] + "/result.h5"));
    const auto ledger = read_ledger(RunPaths{runs[i]});
    ASSERT_FALSE(ledger.empty());
    EXPECT_EQ(ledger.back().exit_code, kExitStopped) << runs[i];
  }
  EXPECT_FALSE(fs::exists(runs[2] + "/checkpoint.pt")) << "a third run started after the stop:\n" << log;
  EXPECT_TRUE(read_ledger(RunPaths{runs[2]}).empty()) << log;
  auto again = test::run_command(sweep_run(spec, 2));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("resuming from"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("3 trained, 0 skipped, 0 failed"), std::string::npos) << again.output;
  auto twins = test::run_at_once(test::aimrun() + " train " + runs[0] + "/config.yaml --run-dir " + dir.file("twin0"),
                                 test::aimrun() + " train " + runs[1] + "/config.yaml --run-dir " + dir.file("twin1"));
  ASSERT_EQ(twins.first.exit_code, 0) << twins.first.output;
  ASSERT_EQ(twins.second.exit_code, 0) << twins.second.output;
  for (size_t i = 0; i < 2; ++i)
    test::expect_same_results(runs[i] + "/result.h5", dir.file("twin" + std::to_string(i) + "/result.h5"));
}

// Pretrain, then fine-tune, two at once: no fine-tune run starts before every pretrain run
// has ended (its own upstream run among them); all done.
TEST(SweepJobs, AStagesRunsStartAfterTheRunsOfTheStagesBefore) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", two_stages(dir.file("out")));
  auto r = test::run_command(sweep_run(spec, 2));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 trained, 0 skipped, 0 failed"), std::string::npos) << r.output;
  const auto s = load_sweep(spec, {});
  double pretrain_end = 0;
  for (const auto* p : s.stage_runs("pretrain"))
    pretrain_end = std::max(pretrain_end, span_of(s.run_dir(p->run_id)).second);
  ASSERT_GT(pretrain_end, 0);
  for (const auto* f : s.stage_runs("finetune")) {
    const auto span = span_of(s.run_dir(f->run_id));
    EXPECT_GE(span.first, pretrain_end) << f->run_id << " started before the pretrain stage ended";
    EXPECT_GE(span.first, span_of(s.run_dir(f->upstream)).second) << f->run_id;
    EXPECT_TRUE(fs::exists(s.run_dir(f->run_id) + "/result.h5")) << f->run_id;
  }
}

// --fail-fast with two at once: the first run fails (damaged images) while the second trains;
// the second finishes, the third and fourth never start, and the sweep exits 1.
TEST(SweepJobs, FailFastStartsNoRunAfterTheFirstFailure) {
  test::TempDir dir;
  const std::string damaged = damaged_fashion_mnist(dir), real = "/usr/share/datasets/fashion-mnist";
  auto spec = dir.write("s.yaml", pinned_run(dir.file("out"), 1, 2000) +
                                      "sweep:\n  name: ff\n  zip:\n"
                                      "    - {seed: [0, 1, 2, 3], dataset.train_size: [1001, 2000, 2000, 2000], "
                                      "dataset.source: [" +
                                      damaged + ", " + real + ", " + real + ", " + real + "], dataset.cache_dir: [" +
                                      dir.file("cache") + ", ~, ~, ~]}\n");
  auto r = test::run_command(sweep_run(spec, 2, " --fail-fast"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("1 trained, 0 skipped, 1 failed"), std::string::npos) << r.output;
  const auto s = load_sweep(spec, {});
  EXPECT_TRUE(fs::exists(s.run_dir(s.runs[1].run_id) + "/result.h5")) << "the running run did not finish";
  for (size_t i = 2; i < 4; ++i)
    EXPECT_TRUE(read_ledger(RunPaths{s.run_dir(s.runs[i].run_id)}).empty()) << "run " << i + 1 << " started:\n"
                                                                            << r.output;
}

// --jobs is a whole number in [1, 1024]: anything else is refused (exit 2) before anything runs.
TEST(SweepJobs, JobsOutOfRangeOrNotAWholeNumberIsRefused) {
  test::TempDir dir;
  auto spec = dir.write("s.yaml", pinned_run(dir.file("out"), 1) + "sweep:\n  name: n\n  grid:\n    seed: [0]\n");
  for (const std::string v : {"0", "-1", "nan", "inf", "2.5", "1e3", "1025", "99999999999999999999", "abc", "''"}) {
    auto r = test::run_command(test::aimrun() + " sweep run " + spec + " --jobs " + v);
    EXPECT_EQ(r.exit_code, 2) << v << "\n" << r.output;
    EXPECT_NE(r.output.find("expected a whole number in [1, 1024]"), std::string::npos) << v << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(dir.file("out"))) << "nothing is written";
}

// OMP_NUM_THREADS that is not a whole number above 0 in the environment of `sweep run
// --jobs 2` is named in a warning, and each run gets the number the sweep logs (usable cores /
// 2), not the bad value (each run then took every core while the log said otherwise). The
// runs here have no `threads:` key, which would win.
TEST(SweepJobs, AnInvalidOmpNumThreadsIsNamedAndTheRunsGetTheLoggedNumber) {
  test::TempDir dir;
  const int expected = std::max(1, usable_cores() / 2);
  for (const std::string bad : {"abc", "0", "2,1"}) {
    SCOPED_TRACE(bad);
    const std::string out = dir.file("out-" + std::to_string(bad.size()) + bad.substr(0, 1));
    auto spec = dir.write("s" + bad.substr(0, 1) + ".yaml",
                          test::small_run_config(out, 1, 0, 500) + "sweep:\n  name: t\n  grid:\n    seed: [0, 1]\n");
    auto r = test::run_command("OMP_NUM_THREADS='" + bad + "' " + sweep_run(spec, 2));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(test::contains(r.output, "OMP_NUM_THREADS=" + bad + " is not a whole number above 0: each run gets " +
                                             std::to_string(expected) + " thread(s) instead"))
        << r.output;
    EXPECT_TRUE(test::contains(r.output, "2 runs at once, " + std::to_string(expected) + " thread(s) each"))
        << r.output;
    for (const std::string tag : {"[1/2] ", "[2/2] "})
      EXPECT_TRUE(has_line(r.output, tag, "1 rank(s) x " + std::to_string(expected) + " thread(s)")) << tag << r.output;
  }
}

// The pool itself, with children that write half lines, lines of both streams, a line longer
// than 64 KiB and no newline at the end: each child's lines go whole, behind its tag, to the
// stream it wrote them to; its exit code comes back under its key; OMP_NUM_THREADS is the
// number the pool is given, in place of the environment's own.
TEST(SweepJobs, ThePoolWritesWholeTaggedLinesOfEachChildToItsOwnStream) {
  const char* had = std::getenv("OMP_NUM_THREADS");
  const std::string saved = had ? had : "";
  ::unsetenv("OMP_NUM_THREADS");
  const auto env = environment_with_threads(7);
  ::setenv("OMP_NUM_THREADS", "3", 1);
  const auto env_set = environment_with_threads(7);
  if (had)
    ::setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  else
    ::unsetenv("OMP_NUM_THREADS");
  const std::string a =
      "printf 'half '; sleep 0.3; printf \"line\\nthreads $OMP_NUM_THREADS\\n\"; printf 'err a\\n' >&2; "
      "head -c 70000 /dev/zero | tr '\\0' x; echo; printf 'no newline at the end'; exit 3";
  const std::string b = "sleep 0.1; printf \"b1\\nb2 threads $OMP_NUM_THREADS\\n\"; printf 'err b' >&2";
  std::map<size_t, int> codes;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  {
    RunPool pool;
    pool.start(10, {"bash", "-c", a}, env, "[A] ");
    pool.start(20, {"bash", "-c", b}, env_set, "[B] ");
    EXPECT_TRUE(pool.runs(10) && pool.runs(20) && !pool.runs(0));
    while (pool.running() > 0) {
      const auto ended = pool.wait_one();
      codes[ended.key] = ended.exit_code;
    }
  }
  const std::string out = ::testing::internal::GetCapturedStdout(), err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(codes, (std::map<size_t, int>{{10, 3}, {20, 0}}));
  std::vector<std::string> a_lines, b_lines;
  for (const auto& line : split(out, '\n')) {
    if (line.rfind("[A] ", 0) == 0)
      a_lines.push_back(line.substr(4));
    else if (line.rfind("[B] ", 0) == 0)
      b_lines.push_back(line.substr(4));
    else if (!line.empty())
      ADD_FAILURE() << "a line without a tag: " << line.substr(0, 80);
  }
  ASSERT_EQ(a_lines.size(), 5u) << out.size();
  EXPECT_EQ(a_lines[0], "half line");
  EXPECT_EQ(a_lines[1], "threads 7");
  EXPECT_EQ(a_lines[2], std::string(65536, 'x'));  // 64 KiB, then the rest of the line
  EXPECT_EQ(a_lines[3], std::string(70000 - 65536, 'x'));
  EXPECT_EQ(a_lines[4], "no newline at the end");
  EXPECT_EQ(b_lines, (std::vector<std::string>{"b1", "b2 threads 7"}));  // not the environment's 3
  EXPECT_TRUE(test::contains(err, "[A] err a\n")) << err;
  EXPECT_TRUE(test::contains(err, "[B] err b\n")) << err;
  EXPECT_EQ(split(err, '\n').size(), 3u) << err;  // two lines and the end
}
