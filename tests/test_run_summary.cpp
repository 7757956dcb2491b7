// Run summaries (results/run_summary.h): what they keep equals what result.h5 holds; a
// summary that is damaged, edited, truncated, another run's, or written for another
// result.h5 is never used; the report over summaries equals the report over result files.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "results/found_runs.h"
#include "results/report.h"
#include "results/run_file.h"
#include "results/run_folder.h"
#include "results/run_summary.h"
#include "runner/evaluate.h"
#include "test_util.h"

using namespace aim;
using namespace aim::results;
namespace fs = std::filesystem;

namespace {

// A masking run's record with 40 test samples: more than a summary keeps of its least
// confident ones, with ties in confidence.
RunRecord masked_record(const std::string& id, int seed, double acc) {
  RunRecord r;
  r.run_id = id;
  r.config_yaml = "dataset:\n  name: builtin\nmethod:\n  name: aim\nseed: " + std::to_string(seed) + "\n";
  r.text["identity_yaml"] = r.config_yaml;
  r.text["method"] = "aim";
  r.text["note"] = "quote \" backslash \\ tab \t newline \n unicode \xc3\xa9";
  r.config = {{"method.name", "aim"}, {"seed", std::to_string(seed)}, {"train.lr", "1e-3"}, {"weird", "0x1p3"},
              {"name", "12abc"}};
  r.numbers["world_size"] = 2;
  r.numbers["train_seconds"] = 12.5 + seed;
  r.numbers["tiny"] = 1e-300;
  r.numbers["nan_value"] = NAN;
  r.curves.epoch = {1, 2};
  r.curves.series["train_loss"] = {0.9, 0.5};
  MaskCurve m;
  m.stage = 2, m.bins = 1, m.active_mean = {0.9, 0.5}, m.active_std = {0.1, 0.2}, m.target = {1.0, 0.25};
  m.histogram = {1, 1};
  r.mask_curves.push_back(m);
  for (const char* name : {"test", "val"}) {
    SplitResult s;
    s.split = name;
    const int n = 40;
    for (int i = 0; i < n; ++i) {
      s.label.push_back(i % 2);
      s.pred.push_back((i * 7 + seed) % 3 == 0 ? 1 - i % 2 : i % 2);
      s.group.push_back(i % 4);
      s.per_sample[kMaskConfidence].push_back(float((i * 37 + seed) % 11) / 11.0f);  // ties
      s.per_sample[kMaskMargin].push_back(float(i) / 40.0f);
      s.per_sample[kMaskAgreement].push_back(1.0f - float(i) / 80.0f);
    }
    s.group_names = {"a@x", "a@y", "b@x", "b@y"};
    fill_group_metrics(s, 4);
    s.accuracy = acc;
    s.scalars["mask_area"] = 0.3;
    s.scalars["epg_mask"] = 0.123456789012345678;
    s.group_means["epg_mask"] = {0.1, NAN, 0.3, 0.4};
    r.splits.push_back(s);
  }
  r.skipped_files["train"] = {"a.jpg", "b.jpg"};
  return r;
}

std::string run_dir(const test::TempDir& dir, const std::string& id) {
  auto d = dir.path() + "/runs/" + id;
  fs::create_directories(d);
  return d;
}

// A run folder with result.h5 and its summary, as the trainer leaves it.
RunPaths write_run(const test::TempDir& dir, const std::string& id, int seed, double acc) {
  RunPaths p{run_dir(dir, id)};
  auto r = masked_record(id, seed, acc);
  write_run_file(p.result(), r);
  write_run_summary(p, r);
  return p;
}

void flip_byte(const std::string& path, size_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(at));
  char c = 0;
  f.get(c);
  f.seekp(std::streamoff(at));
  f.put(char(c ^ 0x10));
}

void set_mtime_ns(const std::string& path, int64_t ns) {
  struct timespec t[2] = {{ns / 1000000000, ns % 1000000000}, {ns / 1000000000, ns % 1000000000}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, 0), 0);
}

int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool same_double(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void expect_same_scalars(const RunRecord& summary, const RunRecord& full) {
  EXPECT_EQ(summary.run_id, full.run_id);
  EXPECT_EQ(summary.config_yaml, full.config_yaml);
  EXPECT_EQ(summary.text, full.text);
  ASSERT_EQ(summary.numbers.size(), full.numbers.size());
  for (const auto& [k, v] : full.numbers) EXPECT_TRUE(same_double(summary.numbers.at(k), v)) << k;
  std::map<std::string, std::string> a(summary.config.begin(), summary.config.end()),
      b(full.config.begin(), full.config.end());
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : b) {  // the same typed value as /config holds
    auto x = typed_config_value(a.at(k)), y = typed_config_value(v);
    ASSERT_EQ(x.index(), y.index()) << k;
    if (auto* d = std::get_if<double>(&x)) EXPECT_TRUE(same_double(*d, std::get<double>(y))) << k;
    else EXPECT_EQ(x, y) << k;
  }
  ASSERT_EQ(summary.splits.size(), full.splits.size());
  for (size_t i = 0; i < full.splits.size(); ++i) {
    const auto &s = summary.splits[i], &f = full.splits[i];
    EXPECT_EQ(s.split, f.split);
    EXPECT_EQ(s.n, f.n);
    EXPECT_EQ(s.correct, f.correct);
    EXPECT_EQ(s.accuracy, f.accuracy);
    EXPECT_EQ(s.loss, f.loss);
    EXPECT_TRUE(same_double(s.worst_group_accuracy, f.worst_group_accuracy));
    EXPECT_EQ(s.scalars, f.scalars);
    EXPECT_EQ(s.group_names, f.group_names);
    EXPECT_EQ(s.group_correct, f.group_correct);
    EXPECT_EQ(s.group_count, f.group_count);
    ASSERT_EQ(s.group_means.size(), f.group_means.size());
    for (const auto& [k, v] : f.group_means)
      for (size_t g = 0; g < v.size(); ++g) EXPECT_TRUE(same_double(s.group_means.at(k).at(g), v[g]));
    auto ls = least_confident(s, kLeastConfidentKept), lf = least_confident(f, kLeastConfidentKept);
    EXPECT_EQ(ls.index, lf.index);
    EXPECT_EQ(ls.confidence, lf.confidence);
    EXPECT_EQ(ls.margin, lf.margin);
    EXPECT_EQ(ls.agreement, lf.agreement);
    EXPECT_EQ(ls.label, lf.label);
    EXPECT_EQ(ls.pred, lf.pred);
  }
  ASSERT_EQ(summary.mask_curves.size(), full.mask_curves.size());
  EXPECT_EQ(summary.mask_curves[0].target, full.mask_curves[0].target);
}

// Without fsync: hundreds of damaged versions are written in a row.
void write_plain(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

}  // namespace

TEST(RunSummary, KeepsEveryScalarOfTheResultFileExactly) {
  test::TempDir dir;
  auto p = write_run(dir, "run-a", 1, 0.625);
  auto read = read_run_summary(p);
  ASSERT_TRUE(read.ok) << read.why;
  EXPECT_FALSE(read.restamp);
  expect_same_scalars(read.record, read_run_file(p.result()));
  EXPECT_EQ(read.record.skipped_files.at("train").size(), 2u);  // counted (the names stay in result.h5)
  auto state = read_run_summary(p, false);  // a run's state: the head alone
  ASSERT_TRUE(state.ok) << state.why;
  EXPECT_EQ(state.record.run_id, "run-a");
  EXPECT_TRUE(state.record.splits.empty());
  EXPECT_EQ(inspect_run_folder(p, ResultDepth::State).state, RunState::Done);
  // The least confident samples: the 32 lowest, ties by position, from the full arrays.
  auto l = least_confident(read_run_file(p.result()).splits[0], kLeastConfidentKept);
  ASSERT_EQ(l.index.size(), kLeastConfidentKept);
  for (size_t i = 1; i < l.index.size(); ++i)
    EXPECT_TRUE(l.confidence[i - 1] < l.confidence[i] ||
                (l.confidence[i - 1] == l.confidence[i] && l.index[i - 1] < l.index[i]));
  // Written again from result.h5 alone (aimrun summarize): the same record.
  fs::remove(p.summary());
  rebuild_run_summary(p);
  auto again = read_run_summary(p);
  ASSERT_TRUE(again.ok) << again.why;
  expect_same_scalars(again.record, read_run_file(p.result()));
}

TEST(RunSummary, ADamagedTruncatedOrEditedSummaryIsNeverUsed) {
  test::TempDir dir;
  auto p = write_run(dir, "run-a", 1, 0.5);
  const std::string good = read_text(p.summary());
  auto expect_refused = [&](const std::string& content, const std::string& why) {
    write_text_atomic(p.summary(), content);
    auto read = read_run_summary(p);
    EXPECT_FALSE(read.ok) << why;
    EXPECT_NE(read.why.find(p.summary()), std::string::npos) << read.why;
    auto state = inspect_run_folder(p);  // the run is still done: result.h5 is read instead
    EXPECT_EQ(state.state, RunState::Done) << why;
    EXPECT_FALSE(state.summary_problem.empty()) << why;
    EXPECT_EQ(state.record.splits[0].per_sample.count(kMaskConfidence), 1u) << why;
  };
  // Every byte flipped, one at a time (a bit at 0x10), and cut at every length.
  for (size_t at = 0; at < good.size(); ++at) {
    flip_byte(p.summary(), at);
    EXPECT_FALSE(read_run_summary(p).ok) << "flip at " << at;
    EXPECT_FALSE(read_run_summary(p, false).ok) << "flip at " << at << " (state only)";
    flip_byte(p.summary(), at);  // back
  }
  ASSERT_TRUE(read_run_summary(p).ok);
  for (size_t len = 0; len < good.size(); len += 7) {
    write_plain(p.summary(), good.substr(0, len));
    EXPECT_FALSE(read_run_summary(p).ok) << "cut at " << len;
    EXPECT_FALSE(read_run_summary(p, false).ok) << "cut at " << len << " (state only)";
  }
  expect_refused(good.substr(0, good.size() / 2), "truncated");
  expect_refused("", "empty");
  expect_refused("[]\n", "not a summary");
  // Edited with a checksum to match, but the accuracy no longer the file's: the edited
  // summary is consistent in itself; what binds it is result.h5's bytes (unchanged), so an
  // edit that recomputes the checksum is a forgery this does not catch: documented.
  std::string edited = good;
  edited.replace(edited.find("\"version\": 1"), 12, "\"version\": 9");
  expect_refused(edited, "a newer version");
}

TEST(RunSummary, ASummaryWrittenForAnotherResultFileIsNeverUsed) {
  test::TempDir dir;
  auto a = write_run(dir, "0000000000aa", 1, 0.5);
  auto b = write_run(dir, "0000000000bb", 2, 0.75);
  // b's summary in a's folder: bound to b's result.h5, not a's.
  // Files that disagree: the run is neither done nor read from either file; the message
  // names both and the command that writes them anew.
  auto expect_disagreement = [](const RunPaths& p, const std::string& what) {
    auto read = read_run_summary(p);
    EXPECT_FALSE(read.ok) << what;
    EXPECT_TRUE(read.result_mismatch) << what;
    EXPECT_TRUE(read_run_summary(p, false).result_mismatch) << what;
    for (auto depth : {ResultDepth::State, ResultDepth::Summary, ResultDepth::Full}) {
      auto state = inspect_run_folder(p, depth);
      EXPECT_EQ(state.state, RunState::Unreadable) << what;
      EXPECT_NE(state.detail.find("result.h5 and summary.json disagree"), std::string::npos) << state.detail;
      EXPECT_NE(state.detail.find("aimrun train " + p.config() + " --run-dir " + p.dir), std::string::npos)
          << state.detail;
    }
    return read.why;
  };
  // Another run's summary in a's folder is not a's: refused, and a is read from its result.h5.
  fs::copy_file(b.summary(), a.summary(), fs::copy_options::overwrite_existing);
  auto other = read_run_summary(a);
  EXPECT_FALSE(other.ok);
  EXPECT_FALSE(other.result_mismatch);
  EXPECT_NE(other.why.find("is not the folder's run id 0000000000aa"), std::string::npos) << other.why;
  auto state = inspect_run_folder(a);
  ASSERT_EQ(state.state, RunState::Done);
  EXPECT_EQ(state.record.run_id, "0000000000aa");
  EXPECT_DOUBLE_EQ(state.record.splits[0].accuracy, 0.5);
  // a's result.h5 replaced by b's under a's own summary.
  write_run_summary(a, read_run_file(a.result()));
  fs::copy_file(b.result(), a.result(), fs::copy_options::overwrite_existing);
  expect_disagreement(a, "another run's result.h5");
  // One byte of result.h5 changed in place (its mtime changes with it).
  auto c = write_run(dir, "run-c", 3, 0.5);
  flip_byte(c.result(), fs::file_size(c.result()) / 2);
  EXPECT_NE(expect_disagreement(c, "a flipped byte").find("crc32"), std::string::npos);
  // Without the summary, the same file is judged by result.h5 alone (as before summaries).
  fs::remove(c.summary());
  EXPECT_NE(inspect_run_folder(c).state, RunState::Running);
  // The same flip with the mtime set back: the one change the stamp cannot see without
  // reading the bytes (docs/hdf5-schema.md says so); the summary still holds the numbers
  // result.h5 was written with.
  auto d = write_run(dir, "run-d", 4, 0.5);
  const auto t = mtime_ns(d.result());
  flip_byte(d.result(), fs::file_size(d.result()) / 2);
  set_mtime_ns(d.result(), t);
  EXPECT_TRUE(read_run_summary(d).ok);
}

TEST(RunSummary, ACopiedFolderIsCheckedByItsBytesAndStampedAgainOnRequest) {
  test::TempDir dir;
  auto a = write_run(dir, "run-a", 1, 0.5);
  set_mtime_ns(a.result(), mtime_ns(a.result()) + 1000000000);  // as `cp -r` leaves it
  auto read = read_run_summary(a);
  ASSERT_TRUE(read.ok) << read.why;
  EXPECT_TRUE(read.restamp);
  restamp_run_summary(a, read);
  auto again = read_run_summary(a);
  ASSERT_TRUE(again.ok) << again.why;
  EXPECT_FALSE(again.restamp);
  expect_same_scalars(again.record, read_run_file(a.result()));
}

TEST(RunSummary, TheReportOverSummariesEqualsTheReportOverResultFiles) {
  test::TempDir dir;
  for (int seed = 0; seed < 3; ++seed) write_run(dir, "aim" + std::to_string(seed), seed, 0.5 + 0.1 * seed);
  for (const std::string format : {"md", "csv", "latex"}) {
    ReportOptions options;
    options.format = format;
    options.least_confident = 20;
    std::ostringstream from_summaries, from_files, p1, p2;
    auto runs = find_runs(dir.path());
    for (const auto& r : runs) EXPECT_TRUE(r.summary_problem.empty()) << r.summary_problem;
    write_report(runs, options, from_summaries, p1);
    write_report(find_runs(dir.path(), ResultDepth::Full), options, from_files, p2);
    EXPECT_EQ(from_summaries.str(), from_files.str()) << format;
    EXPECT_EQ(p1.str(), p2.str());
    if (format == "md") {
      EXPECT_NE(from_summaries.str().find("Least confident"), std::string::npos);
    }
  }
  // Without summaries: the same report, and one note naming the missing ones.
  for (int seed = 0; seed < 3; ++seed) fs::remove(dir.path() + "/runs/aim" + std::to_string(seed) + "/summary.json");
  auto runs = find_runs(dir.path());
  EXPECT_NE(summary_problems(runs).find("3 complete runs were read from result.h5"), std::string::npos)
      << summary_problems(runs);
}

// `aimrun summarize DIR`: --check lists the runs that need a summary (exit 3) and changes
// nothing; without it, writes the missing and damaged ones, stamps the copied one again,
// after which `report` reads every run from its summary, without a warning.
TEST(RunSummary, SummarizeWritesMissingDamagedAndStaleSummaries) {
  test::TempDir dir;
  auto missing = write_run(dir, "run-a", 1, 0.5);
  auto damaged = write_run(dir, "run-b", 2, 0.75);
  auto copied = write_run(dir, "run-c", 3, 0.25);
  fs::remove(missing.summary());
  flip_byte(damaged.summary(), 100);
  set_mtime_ns(copied.result(), mtime_ns(copied.result()) + 1000000000);
  const auto before = read_text(damaged.summary());
  auto check = test::run_command(test::aimrun() + " summarize --check " + dir.path());
  EXPECT_EQ(check.exit_code, 3) << check.output;
  EXPECT_NE(check.output.find("needs a summary: " + missing.dir), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("needs a summary: " + damaged.dir), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("stale stamp: " + copied.dir), std::string::npos) << check.output;
  EXPECT_FALSE(fs::exists(missing.summary()));
  EXPECT_EQ(read_text(damaged.summary()), before);
  auto write = test::run_command(test::aimrun() + " summarize " + dir.path());
  EXPECT_EQ(write.exit_code, 0) << write.output;
  for (const auto& p : {missing, damaged, copied}) {
    auto read = read_run_summary(p);
    EXPECT_TRUE(read.ok) << read.why;
    EXPECT_FALSE(read.restamp) << p.dir;
  }
  EXPECT_EQ(test::run_command(test::aimrun() + " summarize --check " + dir.path()).exit_code, 0);
  auto report = test::run_command(test::aimrun() + " report " + dir.path());
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_EQ(report.output.find("without a valid summary.json"), std::string::npos) << report.output;
}
