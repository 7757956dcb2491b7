// Config files, includes, overrides, validation messages, run identity, sweep expansion.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "core/error.h"
#include "runner/schema.h"
#include "runner/sweep/sweep_spec.h"
#include "test_util.h"

using namespace aim;
using aim::test::TempDir;

TEST(Config, DefaultsAreFilledAndTyped) {
  TempDir dir;
  auto cfg = load_run_config(dir.write("a.yaml", "train:\n  epochs: 3\n"), {});
  EXPECT_EQ(cfg.get_int("train.epochs"), 3);
  EXPECT_EQ(cfg.get_int("train.batch_size"), 128);
  EXPECT_DOUBLE_EQ(cfg.get_float("dataset.correlation"), 0.95);
  EXPECT_EQ(cfg.get_string("method.name"), "vanilla");
  EXPECT_TRUE(cfg.is_null("dataset.train_size"));
}

TEST(Config, UnknownKeyNamesFileLineAndSuggestsClosest) {
  TempDir dir;
  auto path = dir.write("a.yaml", "seed: 1\ntrain:\n  epoch: 5\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find(path + ":3: train.epoch: unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'train.epochs'"), std::string::npos) << msg;
}

TEST(Config, KeyInWrongSectionSuggestsTheRightOne) {
  TempDir dir;
  auto msg = test::error_of<ConfigError>([&] { load_run_config(dir.write("a.yaml", "model:\n  lr: 0.1\n"), {}); });
  EXPECT_NE(msg.find("did you mean 'train.lr'"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesFileLineKeyAndExpectation) {
  TempDir dir;
  auto path = dir.write("a.yaml", "train:\n  epochs: 2\n  lr: fast\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find(path + ":3: train.lr: expected a number, got 'fast'"), std::string::npos) << msg;
  msg = test::error_of<ConfigError>([&] { load_run_config(dir.write("b.yaml", "train: {epochs: 2.5}\n"), {}); });
  EXPECT_NE(msg.find("train.epochs: expected an integer, got '2.5'"), std::string::npos) << msg;
  msg = test::error_of<ConfigError>([&] { load_run_config(dir.write("c.yaml", "dataset: {scale: 0.5}\n"), {}); });
  EXPECT_NE(msg.find("dataset.scale: expected a list of numbers"), std::string::npos) << msg;
}

TEST(Config, RangeAndChoiceViolations) {
  TempDir dir;
  auto msg =
      test::error_of<ConfigError>([&] { load_run_config(dir.write("a.yaml", "dataset:\n  correlation: 1.5\n"), {}); });
  EXPECT_NE(msg.find(":2: dataset.correlation: expected a value in [0.0, 1.0], got 1.5"), std::string::npos) << msg;
  msg = test::error_of<ConfigError>([&] { load_run_config(dir.write("b.yaml", "train:\n  optimizer: adamW\n"), {}); });
  EXPECT_NE(msg.find("train.optimizer: expected one of [sgd, adamw], got 'adamW' (did you mean 'adamw'?)"),
            std::string::npos)
      << msg;
}

TEST(Config, DuplicateKeysAreErrorsNotSilentlyDropped) {
  TempDir dir;
  auto path = dir.write("a.yaml", "train: {epochs: 2}\nseed: 1\ntrain: {lr: 0.1}\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find(path + ":3: train: duplicate key (first set on line 1)"), std::string::npos) << msg;
  msg =
      test::error_of<ConfigError>([&] { load_run_config(dir.write("b.yaml", "train:\n  lr: 0.1\n  lr: 0.2\n"), {}); });
  EXPECT_NE(msg.find(":3: train.lr: duplicate key (first set on line 2)"), std::string::npos) << msg;
}

TEST(Config, ScalarWhereASectionIsExpected) {
  TempDir dir;
  auto msg = test::error_of<ConfigError>([&] { load_run_config(dir.write("a.yaml", "train: 5\n"), {}); });
  EXPECT_NE(msg.find("train: expected a mapping of keys, got '5'"), std::string::npos) << msg;
}

TEST(Config, YamlSyntaxErrorNamesLine) {
  TempDir dir;
  auto path = dir.write("a.yaml", "train:\n  epochs: [1, 2\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find(path + ":"), std::string::npos) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

TEST(Config, IncludesAreOverriddenByLaterFilesAndTheIncluder) {
  TempDir dir;
  dir.write("base.yaml", "train: {epochs: 3, lr: 0.1}\nseed: 4\n");
  dir.write("mid.yaml", "train: {epochs: 4}\n");
  auto path = dir.write("sub/top.yaml", "include: [../base.yaml, ../mid.yaml]\ntrain:\n  batch_size: 32\n");
  auto cfg = load_run_config(path, {});
  EXPECT_EQ(cfg.get_int("train.epochs"), 4);   // mid overrides base
  EXPECT_DOUBLE_EQ(cfg.get_float("train.lr"), 0.1);
  EXPECT_EQ(cfg.get_int("train.batch_size"), 32);
  EXPECT_EQ(cfg.get_int("seed"), 4);
}

TEST(Config, MissingIncludeAndCyclesAreReported) {
  TempDir dir;
  auto path = dir.write("a.yaml", "seed: 1\ninclude: nothere.yaml\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find(path + ":2: include: file not found"), std::string::npos) << msg;
  dir.write("x.yaml", "include: y.yaml\n");
  dir.write("y.yaml", "include: x.yaml\n");
  msg = test::error_of<ConfigError>([&] { load_run_config(dir.file("x.yaml"), {}); });
  EXPECT_NE(msg.find("include cycle"), std::string::npos) << msg;
}

TEST(Config, CommandLineOverridesWinAndAreValidated) {
  TempDir dir;
  auto path = dir.write("a.yaml", "train: {epochs: 3}\nmethod: {name: vanilla}\n");
  auto cfg = load_run_config(path, {"train.epochs=7", "dataset={correlation: 1.0, classes: all}"});
  EXPECT_EQ(cfg.get_int("train.epochs"), 7);
  EXPECT_DOUBLE_EQ(cfg.get_float("dataset.correlation"), 1.0);
  EXPECT_EQ(cfg.get_string("dataset.classes"), "all");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {"train.epochs=many"}); });
  EXPECT_NE(msg.find("command line (train.epochs=many): train.epochs: expected an integer"), std::string::npos) << msg;
  msg = test::error_of<ConfigError>([&] { load_run_config(path, {"train.epochs"}); });
  EXPECT_NE(msg.find("expected key=value"), std::string::npos) << msg;
}

TEST(Config, RunIdDependsOnWhatChangesResultsOnly) {
  TempDir dir;
  auto a = load_run_config(dir.write("a.yaml", "train: {lr: 0.10, epochs: 3}\nseed: 1\n"), {});
  auto b = load_run_config(dir.write("b.yaml", "seed: 1\ntrain:\n  epochs: 3\n  lr: 1e-1\n"), {});
  EXPECT_EQ(a.run_id(), b.run_id());  // same values, other order and spelling
  EXPECT_EQ(a.run_id().size(), 12u);
  auto c = load_run_config(dir.file("a.yaml"), {"threads=1", "output_dir=/elsewhere", "name=x"});
  EXPECT_EQ(a.run_id(), c.run_id());  // where and how fast it runs is not identity
  auto d = load_run_config(dir.file("a.yaml"), {"seed=2"});
  auto e = load_run_config(dir.file("a.yaml"), {"train.lr=0.2"});
  EXPECT_NE(a.run_id(), d.run_id());
  EXPECT_NE(a.run_id(), e.run_id());
  // Settings of components the run does not use are not part of its identity.
  auto v1 = load_run_config(dir.file("a.yaml"), {"method.target=0.25"});
  auto v2 = load_run_config(dir.file("a.yaml"), {"method.target=0.35"});
  EXPECT_EQ(v1.run_id(), v2.run_id());  // vanilla ignores the masking target
  auto m1 = load_run_config(dir.file("a.yaml"), {"method.name=aim", "method.target=0.25"});
  auto m2 = load_run_config(dir.file("a.yaml"), {"method.name=aim", "method.target=0.35"});
  EXPECT_NE(m1.run_id(), m2.run_id());
  EXPECT_NE(m1.run_id(), v1.run_id());
  // The resolved YAML reads back to the same config.
  auto f = Config::from_yaml_text(a.to_yaml(), full_schema(), "stored");
  EXPECT_EQ(f.run_id(), a.run_id());
  EXPECT_EQ(f.to_yaml(), a.to_yaml());
}

TEST(Config, MissingFilesAreReportedBeforeAnythingRuns) {
  TempDir dir;
  auto path = dir.write("a.yaml", "model:\n  backbone: resnet18\n  weights: /nowhere/w.h5\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find(path + ":3: model.weights: no such file or folder: /nowhere/w.h5"), std::string::npos) << msg;
  auto s = dir.write("s.yaml", "sweep:\n  grid:\n    dataset.source: [/usr/share/datasets/fashion-mnist, /nowhere/fmnist]\n");
  msg = test::error_of<ConfigError>([&] { load_sweep(s, {}); });
  EXPECT_NE(msg.find(s + ":3: dataset.source: no such file or folder: /nowhere/fmnist"), std::string::npos) << msg;
}

TEST(Config, TrainRefusesASweepFile) {
  TempDir dir;
  auto path = dir.write("s.yaml", "seed: 1\nsweep:\n  grid: {seed: [1, 2]}\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(path, {}); });
  EXPECT_NE(msg.find("is a sweep"), std::string::npos) << msg;
}

TEST(Sweep, GridTimesZipExpandsToDistinctValidatedRuns) {
  TempDir dir;
  auto path = dir.write("s.yaml",
                        "output_dir: out\ntrain: {epochs: 2}\n"
                        "sweep:\n"
                        "  name: demo\n"
                        "  grid:\n"
                        "    dataset: [{correlation: 0.9}, {correlation: 1.0, classes: all}]\n"
                        "    seed: [0, 1, 2]\n"
                        "  zip:\n"
                        "    - {train.lr: [0.1, 0.01], train.batch_size: [64, 32]}\n");
  auto s = load_sweep(path, {"train.epochs=3"});
  EXPECT_EQ(s.name, "demo");
  ASSERT_EQ(s.runs.size(), 12u);
  std::set<std::string> ids;
  for (const auto& r : s.runs) {
    ids.insert(r.run_id);
    EXPECT_EQ(r.config.get_int("train.epochs"), 3);  // command-line override applies to every run
  }
  EXPECT_EQ(ids.size(), 12u);
  // First axis slowest; zipped values vary together; a mapping value merges into the base.
  EXPECT_DOUBLE_EQ(s.runs[0].config.get_float("dataset.correlation"), 0.9);
  EXPECT_EQ(s.runs[0].config.get_string("dataset.classes"), "binary");
  EXPECT_EQ(s.runs[11].config.get_string("dataset.classes"), "all");
  EXPECT_EQ(s.runs[1].config.get_int("train.batch_size"), 32);
  EXPECT_DOUBLE_EQ(s.runs[1].config.get_float("train.lr"), 0.01);
  EXPECT_EQ(s.runs[2].config.get_int("seed"), 1);
  EXPECT_EQ(s.sweep_dir(), "out/demo");
}

TEST(Sweep, MistakesAreReportedWithFileLineAndKey) {
  TempDir dir;
  auto p1 = dir.write("a.yaml", "sweep:\n  grid:\n    seed: [0, 1]\n  zip:\n    - {train.lr: [0.1, 0.2], train.epochs: [1]}\n");
  auto msg = test::error_of<ConfigError>([&] { load_sweep(p1, {}); });
  EXPECT_NE(msg.find(p1 + ":5: sweep.zip.train.epochs: has 1 values"), std::string::npos) << msg;
  auto p2 = dir.write("b.yaml", "sweep:\n  grids:\n    seed: [0, 1]\n");
  msg = test::error_of<ConfigError>([&] { load_sweep(p2, {}); });
  EXPECT_NE(msg.find(p2 + ":2: sweep.grids: unknown key (did you mean 'grid'?)"), std::string::npos) << msg;
  auto p3 = dir.write("c.yaml", "sweep:\n  grid:\n    train.epoch: [1, 2]\n");
  msg = test::error_of<ConfigError>([&] { load_sweep(p3, {}); });
  EXPECT_NE(msg.find("train.epoch: unknown key (did you mean 'train.epochs'?)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p3 + ":3"), std::string::npos) << msg;
  auto p4 = dir.write("d.yaml", "sweep:\n  grid:\n    seed: 3\n");
  msg = test::error_of<ConfigError>([&] { load_sweep(p4, {}); });
  EXPECT_NE(msg.find(p4 + ":3: sweep.grid.seed: expected a non-empty list"), std::string::npos) << msg;
}

// Issue 36: every key under sweep: is checked as strictly as a top-level key.
TEST(Sweep, EveryKeyUnderSweepIsCheckedLikeATopLevelKey) {
  TempDir dir;
  // {sweep section, the error's line and text}
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sweep:\n  nmae: x\n  stages:\n    - {name: a}\n", ":2: sweep.nmae: unknown key (did you mean 'name'?)"},
      {"sweep:\n  stage:\n    - {name: a}\n", ":2: sweep.stage: unknown key (did you mean 'stages'?)"},
      {"sweep:\n  stages:\n    - {name: a, grdi: {seed: [0]}}\n",
       ":3: sweep.stages[a].grdi: unknown key (did you mean 'grid'?)"},
      {"sweep:\n  stages:\n    - {name: a, set: [seed]}\n", ":3: sweep.stages[a].set: expected a mapping"},
      {"sweep:\n  stages: {name: a}\n", ":2: sweep.stages: expected a non-empty list"},
      // Two axes over one key: the later would silently win.
      {"sweep:\n  grid:\n    seed: [0, 1]\n  zip:\n    - {seed: [2, 3], train.lr: [0.1, 0.2]}\n",
       ":5: sweep.zip.seed: seed is an axis already"},
      {"sweep:\n  zip:\n    - {seed: [0, 1]}\n    - {seed: [2, 3]}\n", ":4: sweep.zip.seed: seed is an axis already"},
      // A stage's set under one of its own axes: the axis would replace it in every run.
      {"sweep:\n  stages:\n    - name: a\n      set: {train: {lr: 0.1}}\n      grid: {train.lr: [0.2, 0.3]}\n",
       ":4: sweep.stages[a].set.train.lr: also an axis of this stage"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto path = dir.write("s" + std::to_string(i) + ".yaml", cases[i].first);
    auto msg = test::error_of<ConfigError>([&] { load_sweep(path, {}); });
    EXPECT_NE(msg.find(path + cases[i].second), std::string::npos) << cases[i].first << msg;
  }
}

// A sweep section in an included file: its errors name that file and its lines.
TEST(Sweep, ASweepSectionInAnIncludeNamesTheIncludedFile) {
  TempDir dir;
  auto inc = dir.write("inc.yaml", "seed: 1\nsweep:\n  grid:\n    seed: 5\n");
  auto path = dir.write("s.yaml", "include: inc.yaml\ntrain: {epochs: 1}\n");
  auto msg = test::error_of<ConfigError>([&] { load_sweep(path, {}); });
  EXPECT_NE(msg.find(inc + ":4: sweep.grid.seed: expected a non-empty list"), std::string::npos) << msg;
  inc = dir.write("inc2.yaml", "sweep:\n  stages:\n    - name: a\n      set: {train.lr: fast}\n");
  path = dir.write("s2.yaml", "include: inc2.yaml\n");
  msg = test::error_of<ConfigError>([&] { load_sweep(path, {}); });
  EXPECT_NE(msg.find(inc + ":4: train.lr: expected a number, got 'fast'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("of sweep " + path), std::string::npos) << msg;
}

// Issue 36: a misspelt command is named with the closest one and the list, exit 2.
TEST(Cli, AMisspeltCommandIsNamedWithTheClosestOneAndTheList) {
  auto r = test::run_command(test::aimrun() + " tarin c.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown command 'tarin'; did you mean 'train'?"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train, sweep, report"), std::string::npos) << r.output;
  r = test::run_command(test::aimrun() + " sweep stauts s.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown command 'stauts'; did you mean 'status'?"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the commands of aimrun sweep: plan, run"), std::string::npos) << r.output;
  r = test::run_command(test::aimrun() + " frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown command 'frobnicate'\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("A subcommand is required"), std::string::npos) << r.output;
  EXPECT_EQ(test::run_command(test::aimrun() + " --version").exit_code, 0);
}

TEST(Cli, BadConfigExitsWithCode2AndNamesTheKey) {
  TempDir dir;
  auto path = dir.write("bad.yaml", "train:\n  epochs: -1\n");
  auto r = test::run_command(test::aimrun() + " train " + path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":2: train.epochs: expected a value in [1, 1000000], got -1"), std::string::npos)
      << r.output;
  r = test::run_command(test::aimrun() + " train " + dir.file("missing.yaml"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.yaml"), std::string::npos) << r.output;
}

TEST(Cli, EveryCommandHasHelp) {
  for (std::string cmd : {"", " train", " sweep", " sweep run", " sweep plan", " report", " config"}) {
    auto r = test::run_command(test::aimrun() + cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << cmd;
  }
}

TEST(Config, ReferenceDocIsInStepWithTheSchema) {
  auto r = test::run_command(test::aimrun() + " config --markdown");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(std::string(AIM_SOURCE_DIR) + "/docs/config-reference.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(r.output.size(), 1000u);
  EXPECT_TRUE(doc.size() >= r.output.size() && doc.compare(doc.size() - r.output.size(), r.output.size(), r.output) == 0)
      << "docs/config-reference.md is out of date: regenerate its table with `aimrun config --markdown`";
}
