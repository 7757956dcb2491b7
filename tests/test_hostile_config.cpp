// Hostile config input (issue 15, items 3-6): alias bombs, include tricks, non-finite and
// degenerate numbers, checks that used to run only at train time, parse errors without a
// file name. Every case must exit 2 with "file:line" and the key, before any run folder
// exists, in bounded time and memory.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "fault_log.h"
#include "test_util.h"

namespace fs = std::filesystem;
using aim::test::FaultCase;
using aim::test::run_command;
using aim::test::TempDir;

namespace {

// Under a time limit: a hostile case that slipped through validation would start training.
std::string aimrun() { return "timeout 120 " + aim::test::aimrun(); }

// A config error: exit code 2, and the output names `where` ("file:line") and `what`.
void expect_config_error(const aim::test::CommandResult& r, const std::string& where, const std::string& what) {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(where), std::string::npos) << "expected '" << where << "' in:\n" << r.output;
  EXPECT_NE(r.output.find(what), std::string::npos) << "expected '" << what << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("yaml-cpp"), std::string::npos) << r.output;
}

// Ten levels of aliases, each level ten references to the one below: 10^10 nodes when
// expanded, a few hundred bytes on disk.
std::string alias_bomb(const std::string& indent = "") {
  std::string y = indent + "l0: &l0 {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1, j: 1}\n";
  for (int level = 1; level < 10; ++level) {
    const std::string below = "*l" + std::to_string(level - 1);
    y += indent + "l" + std::to_string(level) + ": &l" + std::to_string(level) + " {";
    for (char k = 'a'; k <= 'j'; ++k) y += std::string(k == 'a' ? "" : ", ") + k + ": " + below;
    y += "}\n";
  }
  return y;
}

struct Bounded {
  aim::test::CommandResult result;
  double seconds = 0;
  double peak_mib = 0;  // the largest resident size of any child so far
};

// Runs `args` under a 60 s time limit; reports its wall time and peak resident memory.
Bounded run_bounded(const std::string& args) {
  Bounded b;
  const auto start = std::chrono::steady_clock::now();
  b.result = run_command("timeout 60 " + aimrun() + " " + args);
  b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  b.peak_mib = double(usage.ru_maxrss) / 1024.0;
  return b;
}

void expect_bounded(const Bounded& b) {
  EXPECT_LT(b.seconds, 30.0) << b.result.output;
  EXPECT_LT(b.peak_mib, 400.0) << b.result.output;
}

std::string small_config(const TempDir& dir) { return aim::test::small_run_config(dir.file("out"), 1); }

// The small config with `yaml` merged into it (its sections replace the small config's).
std::string with(const TempDir& dir, const std::string& yaml, const std::string& sweep = "") {
  return "output_dir: " + dir.file("out") + "\ninclude: " + dir.write("base.yaml", small_config(dir)) + "\n" + yaml +
         sweep;
}


}  // namespace

// --- 3. alias bombs and include tricks --------------------------------------------------

TEST(HostileConfig, AliasBombInAConfigIsRefusedInBoundedTimeAndMemory) {
  FaultCase fc("YAML alias bomb (10 levels x 10 aliases) in a run config");
  TempDir dir;
  auto path = dir.write("bomb.yaml", small_config(dir) + alias_bomb());
  ASSERT_LT(fs::file_size(path), 1500u);
  auto b = run_bounded("train " + path);
  expect_config_error(b.result, path + ":", "YAML aliases expand to more than 100000 nodes");
  expect_bounded(b);
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(HostileConfig, AliasBombInsideASectionIsRefused) {
  FaultCase fc("YAML alias bomb nested below a known section (train:)");
  TempDir dir;
  auto path = dir.write("bomb.yaml", "train:\n" + alias_bomb("  "));
  auto b = run_bounded("train " + path);
  expect_config_error(b.result, path + ":", "YAML aliases expand to more than");
  expect_bounded(b);
}

TEST(HostileConfig, AliasBombInASweepAxisIsRefused) {
  FaultCase fc("YAML alias bomb as the values of a sweep grid axis");
  TempDir dir;
  auto path = dir.write("sweep.yaml", small_config(dir) + alias_bomb() + "sweep:\n  grid:\n    method: [*l9, *l9]\n");
  for (const std::string cmd : {"sweep plan ", "sweep run "}) {
    auto b = run_bounded(cmd + path);
    expect_config_error(b.result, path + ":", "YAML aliases expand to more than");
    expect_bounded(b);
  }
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(HostileConfig, AliasBombOfListsIsRefused) {
  FaultCase fc("YAML alias bomb of nested lists (leaves for flattening, expanded when printed)");
  TempDir dir;
  std::string y = "l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int l = 1; l < 10; ++l) {
    std::string below = "*l" + std::to_string(l - 1);
    y += "l" + std::to_string(l) + ": &l" + std::to_string(l) + " [" + below;
    for (int k = 1; k < 10; ++k) y += ", " + below;
    y += "]\n";
  }
  auto path = dir.write("bomb.yaml", y + "sweep:\n  grid:\n    train.betas: [*l9]\n");
  auto b = run_bounded("sweep plan " + path);
  expect_config_error(b.result, path + ":", "YAML aliases expand to more than");
  expect_bounded(b);
}

TEST(HostileConfig, AliasBombSpreadOverIncludesIsRefused) {
  FaultCase fc("YAML alias bomb in an included file");
  TempDir dir;
  auto inc = dir.write("inc.yaml", alias_bomb());
  auto path = dir.write("top.yaml", "include: inc.yaml\n" + small_config(dir));
  auto b = run_bounded("train " + path);
  expect_config_error(b.result, inc + ":", "YAML aliases expand to more than");
  expect_bounded(b);
}

TEST(HostileConfig, AliasBombInAnOverrideIsRefused) {
  FaultCase fc("YAML alias bomb in a key=value override");
  TempDir dir;
  auto path = dir.write("c.yaml", small_config(dir));
  std::string flow = "[&a [1,1,1,1,1,1,1,1,1,1]";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, char(c - 1));
    flow += ", &" + std::string(1, c) + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" +
            prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]";
  }
  flow += "]";
  auto b = run_bounded("train " + path + " 'train.betas=" + flow + "'");
  expect_config_error(b.result, "command line", "YAML aliases expand to more than");
  expect_bounded(b);
}

TEST(HostileConfig, IncludeFanOutIsBounded) {
  FaultCase fc("includes that fan out exponentially without a cycle (each file includes the next 8 times)");
  TempDir dir;
  for (int level = 0; level < 8; ++level) {
    std::string next = "f" + std::to_string(level + 1) + ".yaml";
    std::string list = "include: [" + next;
    for (int k = 1; k < 8; ++k) list += ", " + next;
    dir.write("f" + std::to_string(level) + ".yaml", list + "]\n");
  }
  dir.write("f8.yaml", "seed: 1\n");
  auto b = run_bounded("train " + dir.file("f0.yaml"));
  expect_config_error(b.result, ".yaml", "more than 64 files read for one config");
  expect_bounded(b);
}

TEST(HostileConfig, IncludeCycleNamesTheIncludeLine) {
  FaultCase fc("include cycle a -> b -> a");
  TempDir dir;
  auto a = dir.write("a.yaml", "seed: 1\ninclude: b.yaml\n");
  auto b = dir.write("b.yaml", "include: [a.yaml]\n");
  expect_config_error(run_command(aimrun() + " train " + a), b + ":1: include cycle", "a.yaml");
}

TEST(HostileConfig, FolderOrDeviceGivenAsIncludeIsAConfigError) {
  TempDir dir;
  fs::create_directories(dir.file("folder"));
  {
    FaultCase fc("a folder given as an include");
    auto path = dir.write("a.yaml", "seed: 1\ninclude: folder\n");
    expect_config_error(run_command(aimrun() + " train " + path), path + ":2: include:", "is a folder");
  }
  {
    FaultCase fc("a device (/dev/zero) given as an include");
    auto path = dir.write("b.yaml", "include: [/dev/zero]\n");
    expect_config_error(run_command(aimrun() + " train " + path), path + ":1: include:", "not a regular file");
  }
  {
    FaultCase fc("a folder given as the config file");
    auto r = run_command(aimrun() + " train " + dir.file("folder"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(dir.file("folder")), std::string::npos) << r.output;
  }
}

TEST(HostileConfig, DeepNestingIsRefused) {
  TempDir dir;
  {
    FaultCase fc("mappings nested 200 levels deep");
    std::string y;
    for (int i = 0; i < 200; ++i) y += "{a: ";
    y += "1" + std::string(200, '}') + "\n";
    auto path = dir.write("deep.yaml", "train: " + y);
    auto b = run_bounded("train " + path);
    expect_config_error(b.result, path + ":1", "nested deeper than 64 levels");
    expect_bounded(b);
  }
  {
    FaultCase fc("lists nested 100000 levels deep (the YAML parser's own recursion)");
    auto path = dir.write("deeper.yaml", "seed: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
    auto b = run_bounded("train " + path);
    EXPECT_EQ(b.result.exit_code, 2) << b.result.output.substr(0, 2000);
    EXPECT_NE(b.result.output.find(path + ":"), std::string::npos) << b.result.output.substr(0, 2000);
    expect_bounded(b);
  }
}

TEST(HostileConfig, HugeFileIsRefused) {
  FaultCase fc("a 20 MiB config file");
  TempDir dir;
  auto path = dir.write("big.yaml", "seed: 1\n# " + std::string(20u << 20, 'x') + "\n");
  auto b = run_bounded("train " + path);
  expect_config_error(b.result, path, "more than a config file may have (16 MiB)");
  expect_bounded(b);
}

TEST(HostileConfig, SweepGridWithTooManyRunsIsRefusedBeforeExpanding) {
  FaultCase fc("a sweep grid of 6 axes x 10 values (10^6 runs)");
  TempDir dir;
  std::string grid = "sweep:\n  grid:\n";
  for (const std::string key : {"seed", "train.epochs", "dataset.seed", "eval.keep_maps", "train.eval_every", "model.width"})
    grid += "    " + key + ": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
  auto path = dir.write("sweep.yaml", small_config(dir) + grid);
  auto b = run_bounded("sweep plan " + path);
  expect_config_error(b.result, path + ":", "the axes make more than 10000 runs");
  expect_bounded(b);
}

// --- 4. non-finite and degenerate numbers -----------------------------------------------

TEST(HostileConfig, NonFiniteNumbersAreRefusedEverywhere) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train:\n  lr: .inf\n", "train.lr"},         {"train:\n  lr: inf\n", "train.lr"},
      {"train:\n  lr: .nan\n", "train.lr"},         {"train:\n  lr: nan\n", "train.lr"},
      {"train:\n  lr: -.inf\n", "train.lr"},        {"train:\n  lr: 1e999\n", "train.lr"},
      {"train:\n  weight_decay: NaN\n", "train.weight_decay"},
      {"dataset:\n  mean: [0.5, .nan, 0.5]\n", "dataset.mean"},
      {"dataset:\n  std: [0.2, 0.2, .inf]\n", "dataset.std"},
      {"method:\n  name: aim\n  keep_bias: .inf\n", "method.keep_bias"},
      {"train:\n  betas: [0.9, nan]\n", "train.betas"},
      {"train:\n  log_every: .inf\n", "train.log_every"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    FaultCase fc("non-finite number: " + cases[i].first);
    auto path = dir.write("c" + std::to_string(i) + ".yaml", with(dir, cases[i].first));
    auto r = run_command(aimrun() + " train " + path);
    expect_config_error(r, path + ":", cases[i].second + ": expected a finite number");
    EXPECT_FALSE(fs::exists(dir.file("out"))) << cases[i].first;
  }
}

TEST(HostileConfig, NonFiniteOverrideIsRefused) {
  FaultCase fc("train.lr=inf on the command line");
  TempDir dir;
  auto path = dir.write("c.yaml", small_config(dir));
  for (const std::string v : {"inf", ".inf", "nan", "-inf", "1e400"}) {
    auto r = run_command(aimrun() + " train " + path + " train.lr=" + v);
    expect_config_error(r, "command line (train.lr=" + v + ")", "train.lr: expected a finite number");
  }
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(HostileConfig, DegenerateNumbersAreOutsideTheirDomain) {
  TempDir dir;
  // section, its value, what the domain says
  const std::vector<std::array<std::string, 3>> cases = {
      {"dataset", "{std: [0, 0, 0]}", "dataset.std: expected a value in (0.0, inf), got 0.0"},
      {"dataset", "{std: [0.2, -0.1, 0.2]}", "dataset.std: expected a value in (0.0, inf), got -0.1"},
      {"train", "{lr: 0}", "train.lr: expected a value in (0.0, inf), got 0.0"},
      {"train", "{lr: -0.1}", "train.lr: expected a value in (0.0, inf)"},
      {"train", "{momentum: 1.0}", "train.momentum: expected a value in [0.0, 1.0)"},
      {"train", "{betas: [0.9, 1.0]}", "train.betas: expected a value in [0.0, 1.0)"},
      {"train", "{betas: [0.9]}", "train.betas: expected 2 values, got 1"},
      {"train", "{epochs: 0}", "train.epochs: expected a value in [1, 1000000]"},
      {"train", "{min_lr: 0.5}", "train.min_lr: larger than train.lr"},
      {"method", "{name: aim, target: 0}", "method.target: expected a value in (0.0, 1.0]"},
      {"method", "{name: aim, target: 1.5}", "method.target: expected a value in (0.0, 1.0]"},
      {"method", "{name: aim, anneal_fraction: -0.5}", "method.anneal_fraction: expected a value in [0.0, 1.0]"},
      {"method", "{name: aim, temperature: 0}", "method.temperature: expected a value in [0.001, 1000.0]"},
      {"model", "{backbone: convnext_tiny, drop_path: 1.0}", "model.drop_path: expected a value in [0.0, 1.0)"},
      {"dataset", "{correlation: 1.01}", "dataset.correlation: expected a value in [0.0, 1.0]"},
      {"dataset", "{scale: [0, 0.5]}", "dataset.scale: expected a value in (0.0, 1.0)"},
      {"dataset", "{scale: [0.5, 1.0]}", "dataset.scale: expected a value in (0.0, 1.0)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [section, value, message] = cases[i];
    FaultCase fc("degenerate value: " + section + ": " + value);
    // In a file (line 3: the section's line), and on the command line.
    auto path = dir.write("c" + std::to_string(i) + ".yaml", with(dir, section + ": " + value + "\n"));
    expect_config_error(run_command(aimrun() + " train " + path), path + ":3: ", message);
    auto r = run_command(aimrun() + " train " + dir.file("base.yaml") + " '" + section + "=" + value + "'");
    expect_config_error(r, "command line (" + section + "=", message);
    EXPECT_FALSE(fs::exists(dir.file("out"))) << value;
  }
}

TEST(HostileConfig, ImageDatasetCropRangesAreChecked) {
  FaultCase fc("dataset.crop_scale out of order and crop_ratio <= 0 for an image dataset");
  TempDir dir;
  fs::create_directories(dir.file("cub"));
  auto base = "output_dir: " + dir.file("out") + "\ndataset:\n  name: cub\n  root: " + dir.file("cub") + "\n";
  auto path = dir.write("a.yaml", base + "  crop_scale: [0.5, 0.2]\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":5: dataset.crop_scale",
                      "expected ascending values");
  path = dir.write("b.yaml", base + "  crop_ratio: [0, 1.0]\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":5: dataset.crop_ratio",
                      "expected a value in (0.0, inf)");
  path = dir.write("c.yaml", "output_dir: " + dir.file("out") + "\ndataset:\n  name: cub\n");
  expect_config_error(run_command(aimrun() + " train " + path), "dataset.root", "required for dataset 'cub'");
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(HostileConfig, DegenerateNumberInAFileNamesItsLine) {
  FaultCase fc("dataset.std: [0, 0, 0] in a config file");
  TempDir dir;
  auto path = dir.write("c.yaml", "output_dir: " + dir.file("out") + "\ndataset:\n  hflip: true\n  std: [0, 0, 0]\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":4: dataset.std", "expected a value in (0.0, inf)");
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(HostileConfig, HugeIntegersAreRefusedAsOutOfRange) {
  FaultCase fc("integers beyond int64 (train.epochs: 99999999999999999999)");
  TempDir dir;
  auto path = dir.write("c.yaml", "train:\n  epochs: 99999999999999999999\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":2: train.epochs",
                      "out of the range of 64-bit integers");
  path = dir.write("d.yaml", "seed: -99999999999999999999\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":1: seed", "out of the range");
  path = dir.write("e.yaml", "train:\n  batch_size: 9223372036854775807\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":2: train.batch_size", "expected a value in");
}

TEST(HostileConfig, StopOnNanKeyIsDeclared) {
  FaultCase fc("train.stop_on_nan: declared, boolean, default true");
  auto r = run_command(aimrun() + " config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("train.stop_on_nan = true"), std::string::npos) << r.output;
  TempDir dir;
  auto path = dir.write("c.yaml", "train:\n  stop_on_nan: maybe\n");
  expect_config_error(run_command(aimrun() + " train " + path), path + ":2: train.stop_on_nan", "expected a boolean");
}

// --- 5. checks that used to run only at train time --------------------------------------

namespace {

struct LateCase {
  std::string description, yaml, where_key, message;
};

std::vector<LateCase> late_cases() {
  return {
      {"train.batch_size larger than the training split", "train:\n  batch_size: 5000\n", "train.batch_size",
       "is larger than the training split (3000 samples)"},
      {"eval.splits naming a split the dataset lacks", "eval:\n  splits: [val, valid]\n", "eval.splits",
       "has no split 'valid'"},
      {"an unknown eval.attributions entry", "eval:\n  attributions: [gradcam, lime]\n", "eval.attributions",
       "expected one of [gradcam, gradcam_backbone, ixg, mask], got 'lime'"},
      {"dataset.scale out of order", "dataset:\n  scale: [0.6, 0.4]\n", "dataset.scale", "expected ascending values"},
      {"dataset.mean of the wrong length", "dataset:\n  mean: [0.5, 0.5]\n", "dataset.mean",
       "expected 3 values, got 2"},
      {"dataset.val_size larger than the source", "dataset:\n  val_size: 100000\n", "dataset.val_size",
       "but Fashion-MNIST train holds"},
      {"dataset.train_size larger than what remains", "dataset:\n  train_size: 100000\n", "dataset.train_size",
       "samples remain after dataset.val_size"},
      {"dataset.test_size larger than the source", "dataset:\n  test_size: 100000\n", "dataset.test_size",
       "test samples are available"},
      {"an empty eval.splits", "eval:\n  splits: []\n", "eval.splits", "expected at least one split"},
      {"an evaluated split without samples", "dataset:\n  val_size: 0\n", "dataset.val_size",
       "split 'val' is evaluated but has no samples"},
      {"eval.splits listing a split twice", "eval:\n  splits: [test, test]\n", "eval.splits", "listed twice"},
  };
}

}  // namespace

TEST(HostileConfig, LateChecksRefuseTrainBeforeARunFolderExists) {
  for (const auto& c : late_cases()) {
    FaultCase fc("aimrun train with " + c.description);
    TempDir dir;
    auto path = dir.write("c.yaml", with(dir, c.yaml));
    auto r = run_command(aimrun() + " train " + path);
    expect_config_error(r, path + ":", c.where_key + ": ");
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.description << ":\n" << r.output;
    EXPECT_FALSE(fs::exists(dir.file("out"))) << c.description;
  }
}

TEST(HostileConfig, LateChecksRefuseSweepsBeforeAnythingRuns) {
  for (const auto& c : late_cases()) {
    TempDir dir;
    // The first run is valid; the bad value arrives as the second value of an axis.
    auto key = c.where_key;
    std::string sweep = "sweep:\n  grid:\n    seed: [0, 1]\n";
    auto path = dir.write("sweep.yaml", with(dir, c.yaml, sweep));
    for (const std::string cmd : {"sweep plan ", "sweep run ", "sweep submit --profile local --dry-run "}) {
      FaultCase fc(cmd + "with " + c.description);
      auto r = run_command(aimrun() + " " + cmd + path);
      expect_config_error(r, path + ":", key + ": ");
      EXPECT_NE(r.output.find(c.message), std::string::npos) << cmd << c.description << ":\n" << r.output;
      EXPECT_NE(r.output.find("in the run with seed=0 (" + path + ":"), std::string::npos) << r.output;
      EXPECT_FALSE(fs::exists(dir.file("out"))) << cmd << c.description;
    }
  }
}

TEST(HostileConfig, BadAxisValueNamesTheSweepLineAndTheValue) {
  FaultCase fc("a sweep whose second axis value is invalid (train.batch_size: [64, 5000])");
  TempDir dir;
  auto path = dir.write("sweep.yaml", small_config(dir) +
                                          "sweep:\n"
                                          "  grid:\n"
                                          "    train.batch_size: [64, 5000]\n"
                                          "    seed: [0, 1]\n");
  const int axis_line = 8;  // small_config is 5 lines
  for (const std::string cmd : {"sweep plan ", "sweep run ", "sweep submit --profile local --dry-run "}) {
    auto r = run_command(aimrun() + " " + cmd + path);
    expect_config_error(r, path + ":" + std::to_string(axis_line) + ": train.batch_size", "larger than the training split");
    EXPECT_NE(r.output.find("train.batch_size=5000 (" + path + ":" + std::to_string(axis_line) + ")"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("seed=0"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("out"))) << cmd;
  }
}

TEST(HostileConfig, GlobalBatchIsCheckedWithTheSweepsRanks) {
  FaultCase fc("a global batch (2 ranks x 2000) larger than the training split (3000) in sweep run and submit");
  TempDir dir;
  auto path = dir.write("sweep.yaml", small_config(dir) + "sweep:\n  grid:\n    train.batch_size: [64, 2000]\n");
  auto plan = run_command(aimrun() + " sweep plan " + path);
  EXPECT_EQ(plan.exit_code, 0) << plan.output;  // one rank: 2000 <= 3000
  auto r = run_command(aimrun() + " sweep run --ranks 2 " + path);
  expect_config_error(r, path + ":", "the global batch (2000 x 2 ranks = 4000) is larger than the training split");
  EXPECT_NE(r.output.find("train.batch_size=2000"), std::string::npos) << "names the axis value: " << r.output;
  auto profile = dir.write("two.yaml", "nodes: 1\ntasks_per_node: 2\ntime: \"00:10:00\"\n");
  r = run_command(aimrun() + " sweep submit --dry-run --profile " + profile + " " + path);
  expect_config_error(r, path + ":", "the global batch (2000 x 2 ranks = 4000)");
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

// --- 6. parse errors that named no file -------------------------------------------------

TEST(HostileConfig, ComplexKeysNameFileAndLine) {
  TempDir dir;
  {
    FaultCase fc("a complex key (? [a, b] / : 1) at the top of a config");
    auto path = dir.write("a.yaml", "? [a, b]\n: 1\n");
    expect_config_error(run_command(aimrun() + " train " + path), path + ":1", "keys must be plain names");
  }
  {
    FaultCase fc("a complex key inside a section");
    auto path = dir.write("b.yaml", "seed: 1\ntrain:\n  ? {x: 1}\n  : 2\n");
    expect_config_error(run_command(aimrun() + " train " + path), path + ":3: train", "keys must be plain names");
  }
  {
    FaultCase fc("a complex key in a sweep grid");
    auto path = dir.write("c.yaml", "sweep:\n  grid:\n    ? [seed]\n    : [1, 2]\n");
    expect_config_error(run_command(aimrun() + " sweep plan " + path), path + ":3: sweep.grid",
                        "keys must be plain names");
  }
  {
    FaultCase fc("a complex key in a mapping override");
    auto path = dir.write("d.yaml", "seed: 1\n");
    expect_config_error(run_command(aimrun() + " train " + path + " 'train={[a]: 1}'"), "command line (train=",
                        "keys must be plain names");
  }
}

TEST(HostileConfig, MalformedFilesNameFileAndLine) {
  TempDir dir;
  const std::vector<std::array<std::string, 3>> cases = {
      {"an empty file", "", ":1: the file is empty"},
      {"a file of blank lines and comments", "\n# nothing\n\n", ":1: the file is empty"},
      {"a file holding only null", "~\n", ":1: the file is empty"},
      {"a list at the top", "- seed: 1\n- seed: 2\n", ":1: expected a mapping of keys at the top, got a list"},
      {"a single value at the top", "just words\n", ":1: expected a mapping of keys at the top"},
      {"duplicate keys", "seed: 1\ntrain:\n  lr: 0.1\n  lr: 0.2\n", ":4: train.lr: duplicate key"},
      {"a scalar where a section is expected", "train: 5\n", ":1: train: expected a mapping of keys, got '5'"},
      {"a list where a section is expected", "train: [1, 2]\n", ":1: train: expected a mapping of keys, got a list"},
      {"a mapping where a number is expected", "train:\n  lr: {a: 1}\n", ":2: train.lr.a: unknown key"},
      {"a list where a number is expected", "train:\n  lr: [0.1]\n", ":2: train.lr: expected a number, got a list"},
      {"tabs as indentation", "train:\n\tlr: 0.1\n", ":2: YAML syntax error"},
      {"an unclosed flow mapping", "train: {lr: 0.1\n", ":2: YAML syntax error"},
      {"a null key", "~: 1\n", ":1: (top level): keys must be plain names, got nothing (null)"},
      {"include naming a mapping", "include: {a: b}\n", ":1: include: expected a file name or a list"},
      {"include naming a list of lists", "include: [[a.yaml]]\n", ":1: include: expected a file name, got a list"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [description, yaml, message] = cases[i];
    FaultCase fc("malformed config: " + description);
    auto path = dir.write("c" + std::to_string(i) + ".yaml", yaml);
    auto r = run_command(aimrun() + " train " + path);
    expect_config_error(r, path, path + message);
  }
}

TEST(HostileConfig, BinaryGarbageNamesTheFile) {
  TempDir dir;
  std::mt19937 gen(15);
  for (int seed = 0; seed < 8; ++seed) {
    FaultCase fc("binary garbage as a config file, seed " + std::to_string(seed));
    std::string bytes(4096, '\0');
    for (auto& b : bytes) b = char(gen() & 0xff);
    auto path = dir.write("g" + std::to_string(seed) + ".yaml", bytes);
    auto r = run_command(aimrun() + " train " + path);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(path), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("yaml-cpp"), std::string::npos) << r.output;
  }
}

TEST(HostileConfig, MalformedOverridesNameTheOverride) {
  TempDir dir;
  auto path = dir.write("c.yaml", "seed: 1\n");
  const std::vector<std::array<std::string, 3>> cases = {
      {"train.lr=", "command line (train.lr=)", "train.lr: expected a number, got nothing (null)"},
      {"train.lr", "command line: override 'train.lr'", "expected key=value"},
      {"=5", "command line: override '=5'", "expected key=value"},
      {" =5", "command line: override ' =5'", "expected key=value"},
      {"train.lr={", "command line: override 'train.lr={'", "value is not valid YAML"},
      {"train=7", "command line (train=7)", "train: expected a mapping of keys, got '7'"},
      {"seed=99999999999999999999", "command line (seed=99999999999999999999)", "out of the range of 64-bit integers"},
      // Issue 36: the strict reader's rules hold for override values too.
      {"seed=1\n---\n2", "command line: override 'seed=1", "a second YAML document (after ---) in the value"},
      {"train={lr: 0.1, lr: 0.2}", "command line (train={lr: 0.1, lr: 0.2}):1: train.lr", "duplicate key"},
      {"train={lr.x: 1, lr: {x: 2}}", "train.lr.x", "duplicate key (first set on line 1 as lr.x, here as lr: {x})"},
  };
  for (const auto& [assignment, where, message] : cases) {
    FaultCase fc("malformed override '" + assignment + "'");
    auto r = run_command(aimrun() + " train " + path + " '" + assignment + "'");
    expect_config_error(r, where, message);
  }
}

TEST(HostileConfig, SweepSectionOfTheWrongKindNamesFileAndLine) {
  TempDir dir;
  const std::vector<std::array<std::string, 3>> cases = {
      {"sweep: [a, b]\n", ":1: sweep: expected a mapping", ""},
      {"sweep:\n  grid: [seed]\n", ":2: sweep.grid: expected a mapping", ""},
      {"sweep:\n  grid:\n    seed: 5\n", ":3: sweep.grid.seed: expected a non-empty list", ""},
      {"sweep:\n  zip: {seed: [1]}\n", ":2: sweep.zip: expected a list of groups", ""},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    FaultCase fc("sweep section of the wrong kind: " + cases[i][0]);
    auto path = dir.write("s" + std::to_string(i) + ".yaml", "seed: 1\n" + cases[i][0]);
    // +1: the "seed: 1" line above the sweep section
    std::string message = cases[i][1];
    int line = std::stoi(message.substr(1)) + 1;
    message = ":" + std::to_string(line) + message.substr(message.find(':', 1));
    expect_config_error(run_command(aimrun() + " sweep plan " + path), path + message, "sweep");
  }
}

// --- issue 36: duplicate keys at any depth, one document per file -----------------------

// `yaml` (after the small config's include) must be refused by `command` naming `where`
// ("file:line") and `what`, before the output folder exists.
void expect_refused_before_output(const TempDir& dir, const std::string& command, const std::string& path,
                                  const std::string& where, const std::string& what) {
  expect_config_error(run_command(aimrun() + " " + command + " " + path), where, what);
  EXPECT_FALSE(fs::exists(dir.file("out"))) << "written before the config was refused";
}

TEST(HostileConfig, ADottedKeyAndItsNestedFormInOneFileAreADuplicate) {
  TempDir dir;
  // {YAML after the include line, the line of the error, what it says}
  const std::vector<std::array<std::string, 3>> cases = {
      {"train.epochs: 2\nseed: 1\ntrain: {epochs: 7}\n", "4",
       "train.epochs: duplicate key (first set on line 2 as train.epochs, here as train: {epochs})"},
      {"train:\n  epochs: 7\ntrain.epochs: 2\n", "4",
       "train.epochs: duplicate key (first set on line 3 as train: {epochs}, here as train.epochs)"},
      {"dataset:\n  scale: [0.4, 0.6]\n  scale: [0.1, 0.2]\n", "4",
       "dataset.scale: duplicate key (first set on line 3)"},
      {"method: {name: aim, target: 0.3}\nmethod.target: 0.2\n", "3", "method.target: duplicate key"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    FaultCase fc("one key set twice in one file, dotted and nested: " + cases[i][0]);
    auto path = dir.write("c" + std::to_string(i) + ".yaml",
                          "include: " + dir.write("base.yaml", small_config(dir)) + "\n" + cases[i][0]);
    expect_refused_before_output(dir, "train", path, path + ":" + cases[i][1] + ": ", cases[i][2]);
  }
}

TEST(HostileConfig, ADuplicateInAnIncludedFileNamesThatFile) {
  FaultCase fc("a duplicate key in an included file");
  TempDir dir;
  auto inc = dir.write("inc.yaml", "seed: 1\ntrain.lr: 0.1\ntrain:\n  lr: 0.2\n");
  auto path = dir.write("c.yaml", "include: [" + dir.write("base.yaml", small_config(dir)) + ", " + inc + "]\n");
  expect_refused_before_output(dir, "train", path, inc + ":4: ", "train.lr: duplicate key (first set on line 2");
}

TEST(HostileConfig, DuplicateKeysInsideTheSweepSectionAreRefused) {
  TempDir dir;
  const std::vector<std::array<std::string, 3>> cases = {
      {"sweep:\n  grid:\n    seed: [0, 1]\n    seed: [2]\n", "5",
       "sweep.grid.seed: duplicate key (first set on line 4)"},
      {"sweep:\n  name: a\n  grid: {seed: [0]}\n  name: b\n", "5", "sweep.name: duplicate key (first set on line 3)"},
      {"sweep.name: a\nsweep:\n  name: b\n", "4", "sweep.name: duplicate key (first set on line 2 as sweep.name"},
      {"sweep:\n  stages:\n    - name: a\n      set: {train.lr: 0.1, train: {lr: 0.2}}\n", "5",
       "sweep.stages[0].set.train.lr: duplicate key (first set on line 5 as set: {train.lr}, here as set: {train: "
       "{lr}})"},
      {"sweep:\n  zip:\n    - {seed: [0, 1], seed: [2, 3]}\n", "4", "sweep.zip[0].seed: duplicate key"},
      {"sweep:\n  stages:\n    - {name: a, name: b}\n", "4", "sweep.stages[0].name: duplicate key"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    FaultCase fc("a key set twice inside sweep: " + cases[i][0]);
    auto path = dir.write("s" + std::to_string(i) + ".yaml",
                          "include: " + dir.write("base.yaml", small_config(dir)) + "\n" + cases[i][0]);
    expect_refused_before_output(dir, "sweep plan", path, path + ":" + cases[i][1] + ": ", cases[i][2]);
  }
}

TEST(HostileConfig, ASecondYamlDocumentIsRefusedNotIgnored) {
  TempDir dir;
  const std::string base = dir.write("base.yaml", small_config(dir));
  {
    FaultCase fc("a second YAML document (---) in a config file");
    auto path = dir.write("c.yaml", "include: " + base + "\nseed: 1\n---\nseed: 2\n");
    expect_refused_before_output(dir, "train", path, path + ":3: ", "a second YAML document");
  }
  {
    FaultCase fc("an empty second YAML document at the end of a config file");
    auto path = dir.write("e.yaml", "include: " + base + "\nseed: 1\n---\n");
    expect_refused_before_output(dir, "train", path, path + ":3: ", "a second YAML document");
  }
  {
    FaultCase fc("a second YAML document in an included file");
    auto inc = dir.write("inc.yaml", "--- # the first\nseed: 1\n--- # the second\nsweep:\n  grid: {seed: [0, 1]}\n");
    auto path = dir.write("s.yaml", "include: [" + base + ", " + inc + "]\n");
    expect_refused_before_output(dir, "sweep plan", path, inc + ":3: ", "a second YAML document");
  }
  // One document, with its markers, is fine.
  auto one = dir.write("one.yaml", "---\ninclude: " + base + "\nseed: 1\n...\n");
  auto r = run_command(aimrun() + " sweep plan " + one);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}
