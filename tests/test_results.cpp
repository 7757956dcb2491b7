// Result files: round trip, atomic writes, clear errors for broken files; group metrics;
// the report's grouping and statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/h5.h"
#include "results/collection.h"
#include "results/comparison.h"
#include "results/report.h"
#include "results/run_file.h"
#include "runner/evaluate.h"
#include "test_util.h"

using namespace aim;
using namespace aim::results;

namespace {

RunRecord sample_record(const std::string& method, int seed, double acc) {
  RunRecord r;
  r.run_id = method + std::to_string(seed);
  r.config_yaml = "dataset:\n  name: builtin\nmethod:\n  name: " + method + "\nmodel:\n  backbone: small_cnn\nseed: " +
                  std::to_string(seed) + "\n";
  r.text["identity_yaml"] = r.config_yaml;
  r.config = {{"method.name", method}, {"seed", std::to_string(seed)}, {"train.lr", "0.05"}};
  r.text["method"] = method;
  r.numbers["world_size"] = 1;
  r.curves.epoch = {1, 2};
  r.curves.series["train_loss"] = {0.9, 0.5};
  r.eval_curves["val"] = {{1, 2}, {0.6, 0.7}, {0.2, 0.3}, {0.8, 0.6}};
  MaskCurve m;
  m.stage = 3;
  m.bins = 2;
  m.active_mean = {0.9, 0.5};
  m.active_std = {0.1, 0.2};
  m.target = {1.0, 0.5};
  m.histogram = {0.1, 0.9, 0.6, 0.4};
  r.mask_curves.push_back(m);
  SplitResult s;
  s.split = "test";
  s.label = {0, 1, 1, 0};
  s.pred = {0, 1, 0, 0};
  s.group = {0, 3, 1, 2};
  s.group_names = {"a@x", "a@y", "b@x", "b@y"};
  fill_group_metrics(s, 4);
  s.accuracy = acc;  // the report reads this value
  s.scalars["mask_area"] = 0.3;
  s.per_sample["mask_area"] = {0.1f, 0.2f, 0.3f, 0.4f};
  r.splits.push_back(s);
  return r;
}

}  // namespace

TEST(GroupMetrics, AccuracyPerGroupAndWorstGroup) {
  SplitResult s;
  s.label = {0, 0, 1, 1, 1, 0, 1};
  s.pred = {0, 1, 1, 1, 0, 0, 1};
  s.group = {0, 0, 1, 1, 1, 2, -1};  // -1: no group, counted in accuracy only
  fill_group_metrics(s, 4);           // group 3 is empty
  EXPECT_EQ(s.n, 7);
  EXPECT_EQ(s.correct, 5);
  EXPECT_DOUBLE_EQ(s.accuracy, 5.0 / 7.0);
  EXPECT_EQ(s.group_count, (std::vector<int64_t>{2, 3, 1, 0}));
  EXPECT_EQ(s.group_correct, (std::vector<int64_t>{1, 2, 1, 0}));
  EXPECT_DOUBLE_EQ(s.worst_group_accuracy, 0.5);  // the empty group has no accuracy, it is not 0
}

TEST(RunFile, RoundTripKeepsEveryValue) {
  test::TempDir dir;
  auto r = sample_record("aim", 1, 0.75);
  write_run_file(dir.file("result.h5"), r);
  auto back = read_run_file(dir.file("result.h5"));
  EXPECT_EQ(back.run_id, r.run_id);
  EXPECT_EQ(back.config_yaml, r.config_yaml);
  EXPECT_EQ(back.text.at("method"), "aim");
  EXPECT_EQ(back.numbers.at("world_size"), 1);
  EXPECT_EQ(back.curves.epoch, r.curves.epoch);
  EXPECT_EQ(back.curves.series.at("train_loss"), r.curves.series.at("train_loss"));
  EXPECT_EQ(back.eval_curves.at("val").worst_group_accuracy, r.eval_curves.at("val").worst_group_accuracy);
  ASSERT_EQ(back.mask_curves.size(), 1u);
  EXPECT_EQ(back.mask_curves[0].stage, 3);
  EXPECT_EQ(back.mask_curves[0].histogram, r.mask_curves[0].histogram);
  ASSERT_EQ(back.splits.size(), 1u);
  const auto& s = back.splits[0];
  EXPECT_EQ(s.label, r.splits[0].label);
  EXPECT_EQ(s.pred, r.splits[0].pred);
  EXPECT_EQ(s.group_count, r.splits[0].group_count);
  EXPECT_EQ(s.group_names, r.splits[0].group_names);
  EXPECT_DOUBLE_EQ(s.worst_group_accuracy, r.splits[0].worst_group_accuracy);
  EXPECT_DOUBLE_EQ(s.scalars.at("mask_area"), 0.3);
  EXPECT_EQ(s.per_sample.at("mask_area"), r.splits[0].per_sample.at("mask_area"));
  // Config values are typed attributes: numbers for pandas, strings otherwise.
  auto f = h5::open_file(dir.file("result.h5"));
  auto cfg = f.openGroup("config");
  EXPECT_DOUBLE_EQ(h5::attr_double(cfg, "train.lr"), 0.05);
  EXPECT_EQ(h5::attr_int(cfg, "seed"), 1);
  EXPECT_EQ(h5::attr_string(cfg, "method.name"), "aim");
  EXPECT_EQ(h5::attr_int(f, "schema_version"), kSchemaVersion);
}

TEST(RunFile, WrittenAtomicallyWithNoTemporaryLeftBehind) {
  test::TempDir dir;
  write_run_file(dir.file("result.h5"), sample_record("aim", 1, 0.5));
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "result.h5");
  }
  EXPECT_EQ(entries, 1);
}

TEST(RunFile, TruncatedCorruptAndForeignFilesAreNamedInTheError) {
  test::TempDir dir;
  write_run_file(dir.file("good.h5"), sample_record("aim", 1, 0.5));
  auto size = std::filesystem::file_size(dir.file("good.h5"));
  std::filesystem::copy_file(dir.file("good.h5"), dir.file("truncated.h5"));
  std::filesystem::resize_file(dir.file("truncated.h5"), size / 2);
  dir.write("garbage.h5", "this is not hdf5");
  {
    auto f = h5::create_file(dir.file("foreign.h5"));
    h5::set_attr(f, "something", "else");
  }
  for (std::string name : {"truncated.h5", "garbage.h5", "foreign.h5", "missing.h5"}) {
    try {
      read_run_file(dir.file(name));
      FAIL() << name << " was accepted";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(dir.file(name)), std::string::npos) << e.what();
    }
  }
}

TEST(Report, GroupsOverSeedsWithMeanStdAndListsProblems) {
  test::TempDir dir;
  for (auto [method, seed, acc] : {std::tuple{"vanilla", 0, 0.60}, {"vanilla", 1, 0.70}, {"aim", 0, 0.80},
                                   {"aim", 1, 0.90}, {"aim", 2, 1.00}}) {
    auto run = dir.path() + "/runs/" + method + std::to_string(seed);
    std::filesystem::create_directories(run);
    write_run_file(run + "/result.h5", sample_record(method, seed, acc));
  }
  std::filesystem::create_directories(dir.path() + "/runs/failedrun");
  dir.write("runs/failedrun/config.yaml", "seed: 5\n");
  dir.write("runs/failedrun/FAILED", "out of memory\n");
  std::filesystem::create_directories(dir.path() + "/runs/broken");
  dir.write("runs/broken/result.h5", "not hdf5");
  auto runs = find_runs(dir.path());
  std::ostringstream out, problems;
  bool complete = write_report(runs, {}, out, problems);
  EXPECT_FALSE(complete);
  auto table = out.str();
  // vanilla first; n; mean +- sample std in percent.
  EXPECT_NE(table.find("| builtin | vanilla | small_cnn | 2 | 65.0 ± 7.1"), std::string::npos) << table;
  EXPECT_NE(table.find("| builtin | aim     | small_cnn | 3 | 90.0 ± 10.0"), std::string::npos) << table;
  EXPECT_LT(table.find("vanilla"), table.find("| aim"));
  EXPECT_NE(problems.str().find("failed: " + dir.path() + "/runs/failedrun (out of memory)"), std::string::npos)
      << problems.str();
  EXPECT_NE(problems.str().find("unreadable: " + dir.path() + "/runs/broken/result.h5"), std::string::npos)
      << problems.str();
  std::ostringstream csv, ignored;
  ReportOptions as_csv;
  as_csv.format = "csv";
  write_report(runs, as_csv, csv, ignored);
  EXPECT_NE(csv.str().find("builtin,aim,small_cnn,3,90.0000"), std::string::npos) << csv.str();
}

namespace {

// Five runs (vanilla x2, aim x3) in <dir>/runs/<id>/result.h5, as a sweep leaves them.
void write_five_runs(const test::TempDir& dir) {
  for (auto [method, seed, acc] : {std::tuple{"vanilla", 0, 0.60}, {"vanilla", 1, 0.70}, {"aim", 0, 0.80},
                                   {"aim", 1, 0.90}, {"aim", 2, 1.00}}) {
    auto run = dir.path() + "/runs/" + method + std::to_string(seed);
    std::filesystem::create_directories(run);
    write_run_file(run + "/result.h5", sample_record(method, seed, acc));
  }
}

std::string report_of(const std::string& where, ReportOptions options = {}) {
  std::ostringstream out, problems;
  options.least_confident = 0;
  write_report(find_runs(where), options, out, problems);
  return out.str();
}

}  // namespace

TEST(Report, ComparesWithReferenceNumbersAndNamesUnmatchedRows) {
  test::TempDir dir;
  write_five_runs(dir);
  auto ref = dir.write("paper.yaml",
                       "source: the paper\n"
                       "metrics: {acc: test acc, wg: test worst-group}\n"
                       "rows:\n"
                       "  - name: plain\n"
                       "    match: {dataset.name: builtin, method.name: vanilla}\n"
                       "    acc: 61.5\n"
                       "  - name: masked\n"
                       "    match: {dataset.name: builtin, method.name: aim, seed: 1}\n"  // not shared by the aim runs
                       "    acc: [88.0, 0.5]\n"
                       "  - name: elsewhere\n"
                       "    match: {dataset.name: waterbirds, method.name: aim}\n"
                       "    wg: 90\n");
  ReportOptions options;
  options.compare = load_reference(ref);
  auto table = report_of(dir.path(), options);
  // vanilla: 65.0 ours vs 61.5 -> +3.5; no worst-group reference for it.
  EXPECT_NE(table.find("| paper acc | Δ acc | paper wg | Δ wg |"), std::string::npos) << table;
  EXPECT_NE(table.find("| 61.5      | +3.5  | -        | -    |"), std::string::npos) << table;
  // The aim row's runs do not all have seed 1: no match, and the row is named as unmatched.
  EXPECT_NE(table.find("Paper rows with no runs here: masked."), std::string::npos) << table;
  EXPECT_NE(table.find("1 paper rows concern datasets not in this report."), std::string::npos) << table;

  options.format = "csv";
  auto csv = report_of(dir.path(), options);
  EXPECT_NE(csv.find("builtin,vanilla,small_cnn,2,65.0000"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",61.5000,3.5000,-,-"), std::string::npos) << csv;
}

TEST(Report, ReferenceFileErrorsNameFileLineAndKey) {
  test::TempDir dir;
  auto check = [&](const std::string& text, const std::string& expected) {
    auto path = dir.write("ref.yaml", text);
    try {
      load_reference(path);
      ADD_FAILURE() << "accepted:\n" << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(path + expected), std::string::npos) << e.what();
    }
  };
  check("metrics: {acc: test acc}\nrows:\n  - name: a\n    match: {method.name: aim}\n    accuracy: 5\n",
        ":5: accuracy: unknown key (expected name, match or one of the metrics: acc)");
  check("metrics: {acc: test acc}\nrows:\n  - name: a\n    match: {method.name: aim}\n    acc: high\n",
        ":5: acc: expected a number (in %) or [mean, std]");
  check("metrics: {acc: test acc}\nrows:\n  - name: a\n    acc: 5\n", ":3: match: every row needs a match");
  check("rows: []\n", ": metrics: expected a map");
}

TEST(Collect, CopiesAreSelfContainedAndReportTheSameTable) {
  test::TempDir dir;
  write_five_runs(dir);
  std::filesystem::create_directories(dir.path() + "/runs/failedrun");
  dir.write("runs/failedrun/config.yaml", "seed: 5\n");
  dir.write("runs/failedrun/FAILED", "out of memory\n");
  auto runs = find_runs(dir.path() + "/runs");
  auto summary = collect_runs(runs, dir.file("all.h5"), /*link=*/false);
  EXPECT_EQ(summary.runs, 5);
  ASSERT_EQ(summary.left_out.size(), 1u);
  EXPECT_TRUE(is_collection(dir.file("all.h5")));
  {
    auto f = h5::open_file(dir.file("all.h5"));
    EXPECT_EQ(h5::read_strings(f.openGroup("index"), "run_id").size(), 5u);
    auto problems = h5::read_strings(f, "problems");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("failed: "), std::string::npos);
    // Every run keeps its own layout and attributes.
    auto run = f.openGroup("runs/aim2");
    EXPECT_EQ(h5::attr_int(run, "schema_version"), kSchemaVersion);
    EXPECT_DOUBLE_EQ(h5::attr_double(run.openGroup("eval/test"), "accuracy"), 1.0);
  }
  auto expected = report_of(dir.path() + "/runs");
  // Readable without the run folders.
  std::filesystem::rename(dir.file("all.h5"), dir.file("moved.h5"));
  std::filesystem::remove_all(dir.path() + "/runs");
  EXPECT_EQ(report_of(dir.file("moved.h5")), expected);
  auto found = find_runs(dir.file("moved.h5"));
  ASSERT_EQ(found.size(), 5u);
  EXPECT_EQ(found[0].path, dir.file("moved.h5") + ":/runs/aim0");
}

TEST(Collect, LinksFollowTheRunFilesAndAMissingTargetIsNamed) {
  test::TempDir dir;
  write_five_runs(dir);
  std::filesystem::create_directories(dir.path() + "/out");
  auto summary = collect_runs(find_runs(dir.path() + "/runs"), dir.file("out/links.h5"), /*link=*/true);
  EXPECT_EQ(summary.runs, 5);
  EXPECT_LT(std::filesystem::file_size(dir.file("out/links.h5")), 20000u);
  EXPECT_EQ(report_of(dir.file("out/links.h5")), report_of(dir.path() + "/runs"));
  // A folder holding both the runs and their collection counts each run once.
  auto both = find_runs(dir.path());
  int done = 0, duplicates = 0;
  for (const auto& r : both) {
    done += r.state == "done";
    duplicates += r.state == "duplicate";
  }
  EXPECT_EQ(done, 5);
  EXPECT_EQ(duplicates, 5);
  std::ostringstream out, problems;
  EXPECT_TRUE(write_report(both, {}, out, problems)) << problems.str();
  // Relative links: the pair moves together; a run file that disappears is named.
  std::filesystem::remove(dir.path() + "/runs/aim1/result.h5");
  auto runs = find_runs(dir.file("out/links.h5"));
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[1].path, dir.file("out/links.h5") + ":/runs/aim1");
  EXPECT_EQ(runs[1].state, "unreadable");
}
