// Result files: round trip, atomic writes, clear errors for broken files; group metrics;
// the report's grouping and statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.h"
#include "core/h5.h"
#include "core/strings.h"
#include "fault_log.h"
#include "results/collection.h"
#include "results/comparison.h"
#include "results/report.h"
#include "results/run_file.h"
#include "results/run_groups.h"
#include "runner/evaluate.h"
#include "runner/sweep/run_state.h"
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

// True when one line of `text` holds every part.
bool has_line(const std::string& text, const std::vector<std::string>& parts) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) return true;
  }
  return false;
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
  // Two vanilla runs: a 95% CI far wider than 2 points, so the cell is underpowered.
  EXPECT_NE(table.find("| paper acc | Δ acc | verdict acc  | paper wg | Δ wg | verdict wg |"), std::string::npos)
      << table;
  EXPECT_NE(table.find("| 61.5      | +3.5  | underpowered | -        | -    | -          |"), std::string::npos)
      << table;
  // The aim row's runs do not all have seed 1: no match, and the row is named as unmatched.
  EXPECT_NE(table.find("Paper rows with no runs here: masked."), std::string::npos) << table;
  EXPECT_NE(table.find("1 paper rows concern datasets not in this report."), std::string::npos) << table;

  options.format = "csv";
  auto csv = report_of(dir.path(), options);
  EXPECT_NE(csv.find("builtin,vanilla,small_cnn,2,65.0000"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",61.5000,3.5000,underpowered,-,-,-,-,-,-,-"), std::string::npos) << csv;
}

namespace {

// An AIM or vanilla run as the protocol branch writes them: explain, select, the new
// attributions, worst-group EPG, per-stage test-time areas.
RunRecord protocol_record(const std::string& method, int seed, double acc, const std::string& select) {
  RunRecord r = sample_record(method, seed, acc);
  r.text["explain"] = "true";
  r.text["select"] = select;
  r.numbers["selected_epoch"] = 3 + seed;
  auto& s = r.splits[0];
  s.scalars["epg_gradcam"] = method == "aim" ? 0.5 + 0.01 * seed : 0.5;
  s.scalars["epg_gradcam_backbone"] = 0.4;
  s.scalars["worst_group_epg_gradcam"] = 0.25;
  if (method == "aim") {
    s.scalars["mask_area_stage_3"] = 0.42;
    r.mask_curves[0].target = {1.0, 0.35};
  } else {
    s.scalars.erase("mask_area");
    r.mask_curves.clear();
  }
  return r;
}

}  // namespace

// aimrun report's default (md, --columns paper): the paper's columns and their differences
// only, every line within a 120-column terminal, the others named; --columns all and csv
// keep every column.
TEST(Report, PaperColumnsFitA120ColumnTerminalAndNameTheOthers) {
  test::TempDir dir;
  for (int seed : {0, 1})
    for (const std::string method : {"vanilla", "bottom_up", "aim"}) {
      auto run = dir.path() + "/runs/" + method + std::to_string(seed);
      std::filesystem::create_directories(run);
      auto r = protocol_record(method, seed, 0.9 + 0.01 * seed, "last");
      r.splits[0].scalars["epg_ixg"] = 0.1;
      if (method != "vanilla") r.splits[0].scalars["epg_mask"] = 0.3, r.splits[0].scalars["mask_area"] = 0.35;
      write_run_file(run + "/result.h5", r);
    }
  ReportOptions paper;
  paper.paper_columns = true;
  const auto table = report_of(dir.path(), paper);
  size_t widest = 0;  // in code points (± and − are one column, three bytes)
  for (const auto& line : split(table, '\n'))
    widest =
        std::max(widest, size_t(std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; })));
  EXPECT_LE(widest, 120u) << table;
  EXPECT_NE(table.find("| method    | n | test acc "), std::string::npos) << table;
  EXPECT_NE(table.find("Every row: dataset.name = builtin, model.backbone = small_cnn."), std::string::npos) << table;
  EXPECT_NE(table.find("| EPG gradcam "), std::string::npos) << table;
  EXPECT_NE(table.find("| EPG mask "), std::string::npos) << table;
  EXPECT_EQ(table.find("EPG ixg |"), std::string::npos) << table;
  EXPECT_EQ(table.find("| EPG gradcam worst-group "), std::string::npos) << table;
  EXPECT_EQ(table.find("| mask area stage 3 |"), std::string::npos) << table;
  EXPECT_NE(table.find("5 more (EPG gradcam worst-group, EPG gradcam_backbone, EPG ixg, mask area stage"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("with --columns all"), std::string::npos) << table;
  // The differences: only of the paper's metrics (test acc of aim and bottom_up among them).
  EXPECT_TRUE(has_line(table, {"| aim − vanilla ", "| test acc "})) << table;
  EXPECT_FALSE(has_line(table, {"| aim − vanilla ", "| EPG ixg "})) << table;
  const auto all = report_of(dir.path());
  EXPECT_NE(all.find("EPG ixg"), std::string::npos) << all;
  EXPECT_TRUE(has_line(all, {"| aim − vanilla ", "| EPG ixg "})) << all;
  ReportOptions csv;
  csv.format = "csv";
  csv.paper_columns = true;
  EXPECT_NE(report_of(dir.path(), csv).find("EPG ixg"), std::string::npos);
}

TEST(Report, ShowsTheProtocolExplainSelectWorstGroupEpgAndStageAreas) {
  test::TempDir dir;
  for (int seed : {0, 1, 2})
    for (const std::string method : {"vanilla", "aim"}) {
      auto run = dir.path() + "/runs/" + method + std::to_string(seed);
      std::filesystem::create_directories(run);
      write_run_file(run + "/result.h5",
                     protocol_record(method, seed, method == "aim" ? 0.8 + 0.01 * seed : 0.7,
                                     method == "aim" ? "best_val_worst_group" : "best_val_accuracy"));
    }
  auto table = report_of(dir.path());
  EXPECT_NE(table.find("| EPG gradcam | EPG gradcam worst-group | EPG gradcam_backbone |"), std::string::npos) << table;
  EXPECT_NE(table.find("| mask area stage 3 | target stage 3 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| 42.0 ± 0.0        | 35.0 ± 0.0     |"), std::string::npos) << table;
  EXPECT_NE(table.find("| aim †   |"), std::string::npos) << table;
  EXPECT_NE(table.find("best val worst-group (epochs 3-5)"), std::string::npos) << table;
  EXPECT_NE(table.find("best val acc (epochs 3-5)"), std::string::npos) << table;
  EXPECT_NE(table.find("Grad-CAM and Input x Gradient explain the true class (eval.explain: true)."), std::string::npos)
      << table;
  EXPECT_NE(table.find("† scored at the epoch of best validation worst-group accuracy"), std::string::npos) << table;
  // Paired by seed: aim - vanilla in test acc is +10, +11, +12 -> mean +11.0, sd 1, n = 3:
  // CI 11 -+ t(0.975, 2) / sqrt(3) = 11 -+ 2.484 (scipy.stats.t.ppf(0.975, 2) = 4.302653);
  // p = 2 * t.sf(11 * sqrt(3), 2) = 0.00272 (scipy.stats.ttest_rel).
  EXPECT_TRUE(has_line(table, {"| aim † − vanilla |", "| test acc ", "| +11.0 [+8.5, +13.5] ", "| 0.003 ", "| 3 ",
                               "| paired |"}))
      << table;
  // EPG gradcam: +0, +1, +2 points against a constant vanilla value -> mean +1.0, p = 0.225.
  EXPECT_TRUE(has_line(table, {"| EPG gradcam ", "| +1.0 [-1.5, +3.5] ", "| 0.23 ", "| paired |"})) << table;
  // Zero spread: worst-group EPG is 25.0 everywhere -> difference 0, interval [0, 0], p = 1.
  EXPECT_TRUE(has_line(table, {"| EPG gradcam worst-group ", "| +0.0 [+0.0, +0.0] ", "| 1.00 ", "| paired |"})) << table;
  ReportOptions csv;
  csv.format = "csv";
  auto text = report_of(dir.path(), csv);
  EXPECT_NE(text.find(",scored epoch,explains,baseline,test acc - vanilla,test acc - vanilla lo,"), std::string::npos)
      << text;
  EXPECT_NE(text.find(",vanilla,11.0000,8.5159,13.4841,0.00274349,3,3,paired"), std::string::npos) << text;
  ReportOptions latex;
  latex.format = "latex";
  auto tex = report_of(dir.path(), latex);
  EXPECT_NE(tex.find("& aim $\\dagger$ -- vanilla & test acc & +11.0 [+8.5, +13.5] & 0.003 & 3 & paired \\\\"),
            std::string::npos)
      << tex;
  EXPECT_NE(tex.find("EPG gradcam\\_backbone"), std::string::npos) << tex;  // escaped outside $...$
  EXPECT_NE(tex.find("\n% Grad-CAM and Input x Gradient explain the true class"), std::string::npos) << tex;
}

TEST(Report, WhereAndGroupByFilterAndRegroupWithClearErrors) {
  test::TempDir dir;
  write_five_runs(dir);
  ReportOptions options;
  options.where = {parse_where("method.name=aim")};
  auto table = report_of(dir.path(), options);
  EXPECT_EQ(table.find("| vanilla"), std::string::npos) << table;
  EXPECT_NE(table.find("no comparison: no vanilla runs here (--baseline)"), std::string::npos) << table;
  EXPECT_NE(table.find("| builtin | aim    | small_cnn | 3 |"), std::string::npos) << table;
  options.where = {parse_where("seed=1.0")};  // numbers compare as numbers: vanilla1 and aim1
  options.group_by = {"model.backbone"};
  table = report_of(dir.path(), options);
  EXPECT_NE(table.find("| small_cnn | 2 |"), std::string::npos) << table;
  EXPECT_NE(table.find("no comparison with vanilla: method.name is not a grouping key"), std::string::npos) << table;
  options.group_by = {"model.backbon"};
  try {
    report_of(dir.path(), options);
    ADD_FAILURE() << "an unknown --group-by key was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--group-by model.backbon: no complete run has this config key (did you mean "
                                         "model.backbone?)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_where("method.name"), ConfigError);
  EXPECT_THROW(parse_where("=aim"), ConfigError);
}

TEST(Report, WelchWhereSeedsDoNotPairAmbiguousBaselinesAndQuotedCsvCells) {
  test::TempDir dir;
  write_five_runs(dir);  // vanilla seeds 0, 1; aim seeds 0, 1, 2: seed 2 has no partner
  auto table = report_of(dir.path());
  // scipy.stats.ttest_ind([80, 90, 100], [60, 70], equal_var=False): p = 0.0494, df = 2.88,
  // 95% CI 25 -+ t.ppf(0.975, 2.88) * se = [0.12, 49.88].
  EXPECT_TRUE(has_line(table, {"| aim − vanilla |", "| test acc ", "| +25.0 [+0.1, +49.9] ", "| 0.05 ", "| 3 vs 2 ",
                               "| Welch |"}))
      << table;

  test::TempDir other;
  auto write = [&](const std::string& name, const std::string& method, const std::string& extra) {
    RunRecord r = sample_record(method, 0, 0.5);
    r.run_id = name;
    r.config_yaml += extra;
    r.text["identity_yaml"] = r.config_yaml;
    auto run = other.path() + "/runs/" + name;
    std::filesystem::create_directories(run);
    write_run_file(run + "/result.h5", r);
  };
  // Two vanilla rows that differ only in a key the AIM rows lack: both fit, none is chosen.
  write("v1", "vanilla", "extra:\n  k: 1\n");
  write("v2", "vanilla", "extra:\n  k: 2\n");
  write("a1", "aim", "extra:\n  targets: [0.4, 0.65]\n");
  write("a2", "aim", "extra:\n  targets: [0.3, 0.5]\n");
  table = report_of(other.path());
  EXPECT_NE(table.find("more than one vanilla row fits; none compared"), std::string::npos) << table;
  ReportOptions csv;
  csv.format = "csv";
  auto text = report_of(other.path(), csv);
  EXPECT_NE(text.find("builtin,aim,small_cnn,-,\"[0.3, 0.5]\",1,"), std::string::npos) << text;  // quoted list
}

// Runs fine-tuned from one pretraining run per seed (model.init_from: that run's id) form one
// row over seeds, paired by seed, labelled with their upstream runs; a second pretraining
// setting is a row of its own; an upstream not found keeps its id (no pooling).
TEST(Report, RunsFinetunedFromOnePretrainingPerSeedPoolOverSeeds) {
  test::TempDir dir;
  auto write = [&](const std::string& id, const std::string& method, int seed, double acc, const std::string& upstream,
                   const std::string& extra = "") {
    RunRecord r = sample_record(method, seed, acc);
    r.run_id = id;
    const std::string model = "model:\n  backbone: small_cnn\n";
    r.config_yaml.replace(r.config_yaml.find(model), model.size(),
                          model + (upstream.empty() ? "" : "  init_from: " + upstream + "\n"));
    r.config_yaml += extra;
    r.text["identity_yaml"] = r.config_yaml;
    auto run = dir.path() + "/runs/" + id;
    std::filesystem::create_directories(run);
    write_run_file(run + "/result.h5", r);
  };
  for (int seed = 0; seed < 3; ++seed) {
    const std::string s = std::to_string(seed);
    write("p" + s, "vanilla", seed, 0.5, "", "train:\n  epochs: 10\n");  // two pretraining settings
    write("q" + s, "vanilla", seed, 0.5, "", "train:\n  epochs: 20\n");
    write("vp" + s, "vanilla", seed, 0.6 + 0.1 * seed, "p" + s);
    write("ap" + s, "aim", seed, seed == 1 ? 0.9 : 0.7 + 0.1 * seed, "p" + s);
    write("vq" + s, "vanilla", seed, 0.5, "q" + s);
  }
  write("vx", "vanilla", 0, 0.5, "x0");  // its upstream is not here
  auto table = report_of(dir.path());
  EXPECT_TRUE(has_line(table, {"| vanilla ", "| p0,p1,p2 ", "| 3 "})) << table;
  EXPECT_TRUE(has_line(table, {"| aim ", "| p0,p1,p2 ", "| 3 "})) << table;
  EXPECT_TRUE(has_line(table, {"| vanilla ", "| q0,q1,q2 ", "| 3 "})) << table;
  EXPECT_TRUE(has_line(table, {"| vanilla ", "| x0 ", "| 1 "})) << table;
  // Differences [10, 20, 10]: scipy.stats.ttest_rel: mean 13.3, t = 4, p = 0.057, 95% CI
  // 13.33 -+ t.ppf(0.975, 2) * 3.333 = [-1.0, +27.7].
  EXPECT_TRUE(has_line(table, {"| p0,p1,p2 ", "| aim − vanilla |", "| test acc ", "| +13.3 [-1.0, +27.7] ", "| 0.06 ",
                               "| 3 ", "| paired |"}))
      << table;
  // The upstreams are found before --where filters: they need not pass it.
  ReportOptions options;
  options.where = {parse_where("method.name=aim")};
  EXPECT_TRUE(has_line(report_of(dir.path(), options), {"| aim ", "| 3 "})) << report_of(dir.path(), options);
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
  // Issue 36: read by the strict reader of config files (load_yaml_file): a key set twice at
  // any depth, or a second document, is an error naming its line; neither is dropped.
  check("metrics: {acc: test acc}\nrows:\n  - name: a\n    match: {method.name: aim}\n    acc: 5\n    acc: 7\n",
        ":6: rows[0].acc: duplicate key (first set on line 5)");
  check("metrics: {acc: test acc}\nmetrics: {acc: test acc}\nrows: []\n", ":2: metrics: duplicate key");
  check("metrics: {acc: test acc}\nrows:\n  - name: a\n    match: {method.name: aim}\n    acc: 5\n---\nrows: []\n",
        ":6: a second YAML document");
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
  // The same table; the run its /problems names is said to be left out, never dropped silently.
  EXPECT_EQ(report_of(dir.file("moved.h5")),
            expected + "\n1 runs were left out of the collection by aimrun collect (its /problems): they are not in "
                       "this table (listed on stderr).\n");
  auto found = find_runs(dir.file("moved.h5"));
  ASSERT_EQ(found.size(), 6u);  // the five runs, and the left-out one
  EXPECT_EQ(found[5].state, kLeftOut);
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

// ---------------------------------------------------------------- hostile cases: full disk,
// lock-less file systems, damaged files (docs/reliability.md, section results)

namespace {

// A record with `samples` incompressible per-sample values (4 bytes each).
RunRecord big_record(int samples) {
  auto r = sample_record("aim", 7, 0.5);
  auto& s = r.splits[0];
  s.label.assign(size_t(samples), 0);
  s.pred.assign(size_t(samples), 0);
  s.group.assign(size_t(samples), 0);
  s.n = samples;
  s.correct = samples;
  uint32_t x = 12345;
  auto& v = s.per_sample["mask_area"];
  v.resize(size_t(samples));
  for (auto& f : v) {
    x = x * 1664525u + 1013904223u;
    f = float(x) / 4294967296.0f;
  }
  return r;
}

void write_at(const std::string& path, const RunRecord& r) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_run_file(path, r);
}

// Temporary files of writers (".<name>.tmp-<pid>") left anywhere below dir.
std::vector<std::string> temp_files(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) out.push_back(e.path().string());
  return out;
}

// A 3 MB tmpfs mounted on a folder of the test (root only; else `why` says why not).
struct SmallTmpfs {
  std::string path, why;
  bool mounted = false;
  explicit SmallTmpfs(const std::string& p) : path(p) {
    std::filesystem::create_directories(path);
    auto r = test::run_command("mount -t tmpfs -o size=3m tmpfs " + path);
    mounted = r.exit_code == 0;
    why = "cannot mount a tmpfs (needs root): " + r.output;
  }
  ~SmallTmpfs() {
    if (mounted) test::run_command("umount " + path);
  }
  // Fills the file system but for about `free_bytes`.
  void fill_leaving(size_t free_bytes) {
    std::string filler = path + "/filler";
    {
      std::ofstream out(filler, std::ios::binary);
      std::string block(65536, 'x');
      while (out.write(block.data(), block.size())) {
      }
    }
    auto size = std::filesystem::file_size(filler);
    std::filesystem::resize_file(filler, size > free_bytes ? size - free_bytes : 0);
  }
};

std::string shim_env(const std::string& pattern, const std::string& fail, size_t budget = 0) {
  return "LD_PRELOAD=" + std::string(AIM_ENOSPC_SHIM) + " AIM_SHIM_PATTERN='" + pattern + "' AIM_SHIM_FAIL=" + fail +
         " AIM_SHIM_BUDGET=" + std::to_string(budget) + " ";
}

const char* kTinyRun =
    "dataset: {train_size: 128, val_size: 64, test_size: 256}\n"
    "model: {width: 8}\n"
    "train: {epochs: 1, batch_size: 64}\n"
    "eval: {attributions: [gradcam], keep_maps: 4, pictures: 0}\n";

}  // namespace

TEST(RunFileFaults, DiskFullDuringTheResultWriteThrowsAndLeavesNothing) {
  test::FaultCase fc("disk full (3 MB tmpfs) at 6 points of the result write");
  test::TempDir dir;
  SmallTmpfs fs(dir.file("disk"));
  if (!fs.mounted) GTEST_SKIP() << fs.why;
  const auto record = big_record(600000);  // about 2.4 MB that does not compress
  const std::string path = fs.path + "/run/result.h5";
  std::filesystem::create_directories(fs.path + "/run");
  for (size_t free_bytes : {size_t(0), size_t(2048), size_t(16384), size_t(131072), size_t(512 << 10), size_t(1 << 20)}) {
    SCOPED_TRACE("free bytes: " + std::to_string(free_bytes));
    fs.fill_leaving(free_bytes);
    try {
      write_run_file(path, record);
      ADD_FAILURE() << "the write succeeded on a full disk";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("no space left on device: " + path, 0), 0u) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_EQ(temp_files(fs.path), std::vector<std::string>{});
    auto state = inspect_run(RunPaths{fs.path + "/run"});
    EXPECT_NE(state.state, RunState::Done) << state.detail;
    std::filesystem::remove(fs.path + "/filler");
  }
  // With room again the same write succeeds and reads back.
  write_run_file(path, big_record(1000));
  EXPECT_EQ(read_run_file(path).splits[0].n, 1000);
  EXPECT_EQ(inspect_run(RunPaths{fs.path + "/run"}).state, RunState::Done);
}

TEST(RunFileFaults, FailingWriteFsyncOrCloseOfTheResultFailsTheRunCleanly) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", kTinyRun);
  auto train = [&](const std::string& env, const std::string& out) {
    return test::run_command(env + "OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " + out);
  };
  ASSERT_EQ(train("", dir.file("good")).exit_code, 0);
  const size_t size = std::filesystem::file_size(dir.file("good/result.h5"));
  struct Case {
    std::string fail;
    size_t budget;
  };
  for (const Case& c : {Case{"write", 0}, Case{"write", size / 3}, Case{"write", size * 2 / 3}, Case{"write", size - 600},
                        Case{"fsync", 0}, Case{"close", 0}}) {
    test::FaultCase fc("result write: " + c.fail + " fails with ENOSPC after " + std::to_string(c.budget) + " bytes");
    SCOPED_TRACE(c.fail + " after " + std::to_string(c.budget));
    const std::string run = dir.file(c.fail + std::to_string(c.budget));
    auto r = train(shim_env(".result.h5.tmp-", c.fail, c.budget), run);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no space left on device: " + run + "/result.h5"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(run + "/result.h5"));
    EXPECT_EQ(temp_files(run), std::vector<std::string>{});
    EXPECT_NE(inspect_run(RunPaths{run}).state, RunState::Done);
    // The next attempt, with the disk fine again, completes.
    EXPECT_EQ(train("", run).exit_code, 0);
    EXPECT_EQ(inspect_run(RunPaths{run}).state, RunState::Done);
  }
}

TEST(CollectFaults, FullDiskDuringTheCollectionWriteExitsOneAndLeavesNothing) {
  test::TempDir dir;
  write_at(dir.file("runs/a/result.h5"), big_record(20000));
  write_at(dir.file("runs/b/result.h5"), sample_record("vanilla", 2, 0.5));
  const std::string out = dir.file("out/all.h5");
  std::filesystem::create_directories(dir.file("out"));
  for (std::string fail : {"write", "fsync", "close"}) {
    for (size_t budget : {size_t(0), size_t(30000)}) {
      if (fail != "write" && budget) continue;
      test::FaultCase fc("aimrun collect: " + fail + " fails with ENOSPC after " + std::to_string(budget) + " bytes");
      auto r = test::run_command(shim_env(".all.h5.tmp-", fail, budget) + test::aimrun() + " collect " +
                                 dir.file("runs") + " " + out);
      EXPECT_EQ(r.exit_code, 1) << r.output;
      EXPECT_NE(r.output.find("no space left on device: " + out), std::string::npos) << r.output;
      EXPECT_FALSE(std::filesystem::exists(out));
      EXPECT_EQ(temp_files(dir.path()), std::vector<std::string>{});
    }
  }
  EXPECT_EQ(test::run_command(test::aimrun() + " collect " + dir.file("runs") + " " + out).exit_code, 0);
  EXPECT_EQ(find_runs(out).size(), 2u);
}

TEST(CollectFaults, DiskFullOnTmpfsDuringCollect) {
  test::FaultCase fc("aimrun collect onto a full 3 MB tmpfs");
  test::TempDir dir;
  SmallTmpfs fs(dir.file("disk"));
  if (!fs.mounted) GTEST_SKIP() << fs.why;
  write_at(dir.file("runs/a/result.h5"), big_record(400000));
  fs.fill_leaving(200000);
  auto r = test::run_command(test::aimrun() + " collect " + dir.file("runs") + " " + fs.path + "/all.h5");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no space left on device: " + fs.path + "/all.h5"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(fs.path + "/all.h5"));
  EXPECT_EQ(temp_files(fs.path), std::vector<std::string>{});
}

// The other whole-file HDF5 writers go through the same h5::write_whole_file: predict's
// output fails cleanly, and a dataset cache that cannot be written does not stop the run.
TEST(WriterFaults, PredictOutputOnAFullDiskExitsOneAndLeavesNothing) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", kTinyRun);
  ASSERT_EQ(test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " + dir.file("run")).exit_code, 0);
  // A folder of two images for predict.
  std::filesystem::create_directories(dir.file("images"));
  auto kept = read_run_file(dir.file("run/result.h5")).splits.back().kept;
  ASSERT_FALSE(kept.empty());
  const std::string out = dir.file("out/pred.h5");
  std::filesystem::create_directories(dir.file("out"));
  auto h5_in = dir.file("images.h5");
  {
    std::vector<float> images(size_t(2 * 3 * kept.height * kept.width), 0.25f);
    auto f = h5::create_file(h5_in);
    h5::write_raw(f, "images", h5::Dtype::f32, images.data(), h5::Dtype::f32,
                  {2, 3, hsize_t(kept.height), hsize_t(kept.width)});
  }
  for (std::string fail : {"write", "fsync", "close"}) {
    test::FaultCase fc("aimrun predict: " + fail + " of the output fails with ENOSPC");
    auto r = test::run_command(shim_env(".pred.h5.tmp-", fail) + test::aimrun() + " predict --run " + dir.file("run") +
                               " --h5 " + h5_in + " --out " + out);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no space left on device: " + out), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_EQ(temp_files(dir.file("out")), std::vector<std::string>{});
  }
  auto r = test::run_command(test::aimrun() + " predict --run " + dir.file("run") + " --h5 " + h5_in + " --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(h5::read<int64_t>(h5::open_file(out), "pred").size(), 2u);
}

// `aimrun pictures` (and the grids a run draws) on a full disk: cv::imwrite did not see a
// failing write, fsync or close; now exit 1 naming the file, no PNG, no temporary file.
TEST(WriterFaults, PicturesOnAFullDiskExitOneAndLeaveNothing) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", kTinyRun);
  ASSERT_EQ(test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " --run-dir " + dir.file("run"))
                .exit_code,
            0);
  std::filesystem::create_directories(dir.file("out"));
  const std::string out = dir.file("out/grid.png");
  for (std::string fail : {"write", "fsync", "close"}) {
    test::FaultCase fc("aimrun pictures: " + fail + " of the PNG fails with ENOSPC");
    auto r = test::run_command(shim_env(dir.file("out/"), fail) + test::aimrun() + " pictures --run " +
                               dir.file("run") + " --out " + out);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no space left on device: " + out), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_EQ(temp_files(dir.file("out")), std::vector<std::string>{});
  }
  auto ok = test::run_command(test::aimrun() + " pictures --run " + dir.file("run") + " --out " + out);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(std::filesystem::exists(out));
}

TEST(WriterFaults, ABuiltinDatasetCacheThatCannotBeWrittenDoesNotStopTheRun) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", kTinyRun);
  const std::string cache = dir.file("cache");
  auto cache_files = [&] {
    std::vector<std::string> out;
    if (std::filesystem::exists(cache))
      for (const auto& e : std::filesystem::directory_iterator(cache))
        if (e.path().extension() == ".h5") out.push_back(e.path().filename().string());
    return out;
  };
  for (std::string fail : {"write", "close"}) {
    test::FaultCase fc("built-in dataset cache: " + fail + " fails with ENOSPC");
    auto r = test::run_command(shim_env(cache + "/", fail) + "OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg +
                               " dataset.cache_dir=" + cache + " --run-dir " + dir.file("run_" + fail));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("not cached (no space left on device: " + cache), std::string::npos) << r.output;
    EXPECT_EQ(cache_files(), std::vector<std::string>{});
    EXPECT_EQ(temp_files(cache), std::vector<std::string>{});
  }
  // The same run's numbers with the cache written: the data did not depend on the cache.
  auto r = test::run_command("OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " dataset.cache_dir=" + cache +
                             " --run-dir " + dir.file("run_ok"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(cache_files().size(), 1u);
  EXPECT_EQ(read_run_file(dir.file("run_ok/result.h5")).splits.back().pred,
            read_run_file(dir.file("run_write/result.h5")).splits.back().pred);
}

TEST(H5Locking, WritesAndReadsWithFileLockingOnOffOrUnset) {
  test::TempDir dir;
  const char* saved = std::getenv("HDF5_USE_FILE_LOCKING");
  std::string before = saved ? saved : "";
  for (std::string value : {"", "FALSE", "TRUE"}) {
    SCOPED_TRACE("HDF5_USE_FILE_LOCKING=" + value);
    if (value.empty()) unsetenv("HDF5_USE_FILE_LOCKING");
    else setenv("HDF5_USE_FILE_LOCKING", value.c_str(), 1);
    const std::string path = dir.file("r" + value + "/a/result.h5");
    write_at(path, sample_record("aim", 1, 0.5));
    EXPECT_EQ(read_run_file(path).run_id, "aim1");
    auto c = test::run_command("HDF5_USE_FILE_LOCKING=" + value + " " + test::aimrun() + " collect " + dir.file("r" + value) +
                               " " + dir.file("c" + value + ".h5"));
    EXPECT_EQ(c.exit_code, 0) << c.output;
  }
  if (saved) setenv("HDF5_USE_FILE_LOCKING", before.c_str(), 1);
  else unsetenv("HDF5_USE_FILE_LOCKING");
}

TEST(H5Locking, ReadersAndWritersWorkWhereFlockFails) {
  test::FaultCase fc("HDF5 files on a file system without flock (ENOLCK)");
  test::TempDir dir;
  write_at(dir.file("runs/a/result.h5"), sample_record("aim", 1, 0.5));
  auto r = test::run_command("env -u HDF5_USE_FILE_LOCKING " + shim_env(".h5", "flock") + test::aimrun() + " collect " +
                             dir.file("runs") + " " + dir.file("all.h5"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto rep = test::run_command("env -u HDF5_USE_FILE_LOCKING " + shim_env(".h5", "flock") + test::aimrun() + " report " +
                               dir.file("all.h5"));
  EXPECT_EQ(rep.exit_code, 0) << rep.output;
  EXPECT_NE(rep.output.find("| aim    | 1 |"), std::string::npos) << rep.output;
  // A --link collection: HDF5 opens the linked run files with the same (lock-less) access.
  ASSERT_EQ(test::run_command(test::aimrun() + " collect --link " + dir.file("runs") + " " + dir.file("links.h5")).exit_code, 0);
  auto linked = test::run_command("env -u HDF5_USE_FILE_LOCKING " + shim_env(".h5", "flock") + test::aimrun() +
                                  " report " + dir.file("links.h5"));
  EXPECT_EQ(linked.exit_code, 0) << linked.output;
  EXPECT_NE(linked.output.find("| aim    | 1 |"), std::string::npos) << linked.output;
  // The user's own HDF5_USE_FILE_LOCKING=TRUE wins: HDF5 locks, and says so when it cannot.
  auto forced = test::run_command("HDF5_USE_FILE_LOCKING=TRUE " + shim_env(".h5", "flock") + test::aimrun() + " collect " +
                                  dir.file("runs") + " " + dir.file("forced.h5"));
  EXPECT_EQ(forced.exit_code, 1) << forced.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("forced.h5")));
  EXPECT_EQ(temp_files(dir.path()), std::vector<std::string>{});
}

TEST(ReadFaults, DamagedFilesAreUnreadableNeverDoneAndNeverCrashTheReader) {
  test::FaultCase fc("sweep state and report on result files with lying shapes, garbage YAML and bad run ids");
  test::TempDir dir;
  auto good = sample_record("aim", 1, 0.5);
  write_at(dir.file("runs/good/result.h5"), good);
  auto damaged = [&](const std::string& name, const std::function<void(H5::H5File&)>& change) {
    auto path = dir.file("runs/" + name + "/result.h5");
    write_at(path, good);
    auto f = h5::open_file(path, true);
    change(f);
    return name;
  };
  std::vector<std::string> names = {
      damaged("yaml", [](H5::H5File& f) { h5::set_attr(f, "identity_yaml", "{[: : ]]"); }),
      damaged("runid", [](H5::H5File& f) { h5::set_attr(f, "run_id", "../x"); }),
      damaged("short", [](H5::H5File& f) {
        auto g = f.openGroup("eval/test/samples");
        h5::write(g, "label", std::vector<int64_t>{1, 2});
      }),
      damaged("vector_attr", [](H5::H5File& f) {
        f.removeAttr("status");
        hsize_t n = 3;
        f.createAttribute("status", H5::PredType::STD_I64LE, H5::DataSpace(1, &n));
      }),
  };
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto st = inspect_run(RunPaths{dir.file("runs/" + name)});
    EXPECT_NE(st.state, RunState::Done);
    EXPECT_NE(st.detail.find("unreadable"), std::string::npos) << st.detail;
  }
  EXPECT_EQ(inspect_run(RunPaths{dir.file("runs/good")}).state, RunState::Done);
  auto rep = test::run_command(test::aimrun() + " report " + dir.file("runs") + " --format csv");
  EXPECT_EQ(rep.exit_code, 3) << rep.output;
  EXPECT_NE(rep.output.find("builtin,aim,small_cnn,1,"), std::string::npos) << rep.output;
  for (const auto& name : names) EXPECT_NE(rep.output.find("runs/" + name + "/result.h5"), std::string::npos) << name;
}
