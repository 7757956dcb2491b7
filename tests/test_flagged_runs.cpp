// Runs that must not read as ordinary rows (issue 36): a run whose weights went NaN or inf
// with train.stop_on_nan: false is flagged in result.h5, summary.json, every report format,
// aimresults.py and sweep status; the runs `aimrun collect` left out of a collection are
// named by `report` and aimresults.py; an upstream that lost its weights names the command
// that trains it again, in the downstream run's FAILED, which sweep status shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <vector>

#include "core/files.h"
#include "fault_log.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

using test::contains;  // tests/test_util.h

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::string line;
  for (char c : text)
    if (c == '\n')
      out.push_back(line), line.clear();
    else
      line += c;
  if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> split_csv(const std::string& line) {  // no quoted cells in these tables
  std::vector<std::string> out(1);
  for (char c : line)
    if (c == ',')
      out.emplace_back();
    else
      out.back() += c;
  return out;
}

std::string aimresults() { return "/usr/bin/python3 " AIM_SOURCE_DIR "/scripts/aimresults.py"; }

// An attribute (or a number of `/curves/<name>` not finite) read with h5py: an independent reader.
std::string h5py(const std::string& file, const std::string& expr) {
  return test::run_command("/usr/bin/python3 -c 'import h5py, numpy as np; f = h5py.File(\"" + file +
                           "\", \"r\"); print(" + expr + ")'")
      .output;
}

// A sweep of two runs trained with train.stop_on_nan: false: lr 0.05 (finite) and lr 1e30
// (its weights overflow). Returns the sweep file.
std::string nan_sweep(const test::TempDir& dir) {
  return dir.write("s.yaml",
                   "output_dir: " + dir.file("out") +
                       "\n"
                       "dataset: {train_size: 256, val_size: 64, test_size: 96}\n"
                       "model: {width: 8}\n"
                       "threads: 1\n"
                       "train: {epochs: 2, batch_size: 32, log_every: 0, warmup_epochs: 0, stop_on_nan: false}\n"
                       "eval: {attributions: [gradcam], keep_maps: 2, pictures: 0}\n"
                       "sweep:\n  name: nan\n  grid: {train.lr: [0.05, 1.0e30]}\n");
}

// The run folders of the sweep, by lr: {finite, overflowed}.
std::pair<std::string, std::string> nan_runs(const test::TempDir& dir) {
  std::string finite, overflowed;
  for (const auto& e : fs::directory_iterator(dir.file("out/runs"))) {
    const auto cfg = read_text(e.path().string() + "/config.yaml");
    std::smatch lr;  // train.lr as the resolved config writes it (nested under train:)
    EXPECT_TRUE(std::regex_search(cfg, lr, std::regex("\\n  lr: ([-+.0-9eE]+)"))) << cfg;
    (lr.size() > 1 && std::stod(lr[1].str()) > 1 ? overflowed : finite) = e.path().string();
  }
  return {finite, overflowed};
}

}  // namespace

TEST(FlaggedRuns, ARunWhoseWeightsWentNonFiniteIsFlaggedInEveryReport) {
  test::FaultCase fc("train.lr=1e30 with train.stop_on_nan: false: weights NaN, reported as ordinary");
  test::TempDir dir;
  const auto spec = nan_sweep(dir);
  auto run = test::run_command("AIMRUN_FAULT= OMP_NUM_THREADS=1 timeout 600 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(run.exit_code, 0) << run.output;  // both complete: nothing stopped them
  const auto [finite, overflowed] = nan_runs(dir);
  ASSERT_FALSE(finite.empty());
  ASSERT_FALSE(overflowed.empty());
  // result.h5: the counts, checked with h5py against the file's own curves.
  const auto bad_h5 = overflowed + "/result.h5", good_h5 = finite + "/result.h5";
  EXPECT_EQ(h5py(good_h5, "int(f.attrs[\"nonfinite_weights\"]), int(f.attrs[\"nonfinite_loss_epochs\"])"), "0 0\n");
  const auto weights = std::stod(h5py(bad_h5, "int(f.attrs[\"nonfinite_weights\"])"));
  EXPECT_GT(weights, 0);
  EXPECT_LE(weights, std::stod(h5py(bad_h5, "int(f.attrs[\"parameters\"])")) * 2);  // parameters and buffers
  EXPECT_EQ(
      h5py(bad_h5, "int(f.attrs[\"nonfinite_loss_epochs\"]) == int((~np.isfinite(f[\"curves/train_loss\"][:])).sum())"),
      "True\n");
  EXPECT_TRUE(contains(read_text(overflowed + "/summary.json"), "\"nonfinite_weights\": "))
      << read_text(overflowed + "/summary.json");
  const std::string id = fs::path(overflowed).filename().string(), good_id = fs::path(finite).filename().string();
  // report: md, latex and csv get the column; stderr names the run.
  for (const std::string format : {"md", "latex", "csv"}) {
    auto r = test::run_command(test::aimrun() + " report " + dir.file("out/nan") + " --format " + format);
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "non-finite runs")) << format << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "non-finite: ")) << format << ": " << r.output;
    EXPECT_TRUE(contains(r.output, id)) << format << ": " << r.output;
    for (const auto& line : split_lines(r.output))  // the finite run is never named
      if (contains(line, "non-finite: ")) {
        EXPECT_FALSE(contains(line, good_id)) << line;
      }
  }
  // The CSV's column: 1 in the row of lr 1e30, 0 in the other.
  auto csv = test::run_command(test::aimrun() + " report " + dir.file("out/nan") + " --format csv");
  std::vector<std::string> lines;  // the table (stdout), without stderr's lines
  for (const auto& l : split_lines(csv.output))
    if (!contains(l, "non-finite: ")) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << csv.output;
  const auto header = split_csv(lines[0]);
  const auto column = std::find(header.begin(), header.end(), "non-finite runs") - header.begin();
  const auto lr = std::find(header.begin(), header.end(), "train.lr") - header.begin();
  ASSERT_LT(size_t(column), header.size()) << csv.output;
  ASSERT_LT(size_t(lr), header.size()) << csv.output;
  for (size_t i = 1; i < 3; ++i) {
    const auto cells = split_csv(lines[i]);
    ASSERT_EQ(cells.size(), header.size()) << lines[i];
    EXPECT_EQ(cells[size_t(column)], std::stod(cells[size_t(lr)]) > 1 ? "1" : "0") << csv.output;
  }
  // aimresults.py: a column and a warning naming the run.
  auto py = test::run_command(aimresults() + " " + dir.file("out/nan"));
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_TRUE(contains(py.output, "went non-finite")) << py.output;
  EXPECT_TRUE(contains(py.output, id)) << py.output;
  EXPECT_TRUE(contains(py.output, "nonfinite")) << py.output;
  // sweep status: the run is done, flagged, and counted.
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(contains(status.output, "2 done (1 non-finite)")) << status.output;
  ASSERT_NE(status.output.find(id), std::string::npos) << status.output;
  ASSERT_NE(status.output.find(good_id), std::string::npos) << status.output;
  std::string line = status.output.substr(status.output.find(id));
  EXPECT_TRUE(contains(line.substr(0, line.find('\n')), "non-finite: ")) << status.output;
  line = status.output.substr(status.output.find(good_id));
  EXPECT_FALSE(contains(line.substr(0, line.find('\n')), "non-finite")) << status.output;
  // The HTML page lists it (where python3 has matplotlib).
  if (test::run_command("/usr/bin/python3 -c 'import matplotlib'").exit_code == 0) {
    auto html = test::run_command(test::aimrun() + " report " + dir.file("out/nan") + " --html " + dir.file("r.html"));
    EXPECT_EQ(html.exit_code, 0) << html.output;
    const auto page = read_text(dir.file("r.html"));
    EXPECT_TRUE(contains(page, "Runs that went non-finite")) << html.output;
    EXPECT_TRUE(contains(page, id));
  }
}

// A collection (aimrun collect) keeps the runs it could not hold in /problems: `report` and
// aimresults.py on it name each on stderr, count them, and exit 3. Before, both read the
// collection's runs as if nothing had been left out (exit 0).
TEST(FlaggedRuns, ReportAndAimresultsNameTheRunsACollectionLeftOut) {
  test::FaultCase fc("report and aimresults.py of a collection that left a failed run out");
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", test::small_run_config(dir.file("out"), 1));
  auto ok = test::run_command("AIMRUN_FAULT= OMP_NUM_THREADS=1 " + test::aimrun() + " train " + cfg + " threads=1");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto bad = test::run_command("AIMRUN_FAULT=rank=0,step=1,kind=throw OMP_NUM_THREADS=1 " + test::aimrun() + " train " +
                               cfg + " threads=1 seed=7");
  ASSERT_EQ(bad.exit_code, 1) << bad.output;
  auto collect = test::run_command(test::aimrun() + " collect " + dir.file("out/runs") + " " + dir.file("c.h5"));
  EXPECT_EQ(collect.exit_code, 3) << collect.output;
  ASSERT_TRUE(fs::exists(dir.file("c.h5"))) << collect.output;
  for (const auto& target : {dir.file("c.h5"), dir.path()}) {  // the file, and a folder holding it (and the runs)
    if (target == dir.path()) fs::remove_all(dir.file("out"));
    auto r = test::run_command(test::aimrun() + " report " + target);
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "left-out: " + dir.file("c.h5") + ":/problems (not in the collection: failed: "))
        << r.output;
    EXPECT_TRUE(contains(r.output, "injected failure")) << r.output;
    EXPECT_TRUE(contains(r.output, "1 runs were left out of the collection")) << r.output;
    auto py = test::run_command(aimresults() + " " + target);
    EXPECT_EQ(py.exit_code, 3) << py.output;
    EXPECT_TRUE(contains(py.output, "left-out: not in the collection: failed: ")) << py.output;
    EXPECT_TRUE(contains(py.output, "skipped 1 (1 left-out)")) << py.output;
  }
}

// An upstream run whose damaged checkpoint was deleted (issue 36, find 13): `sweep run`
// writes the downstream run's FAILED naming the upstream and the command that trains it
// again, `sweep status` shows it, and after that command the next `sweep run` trains the
// downstream run. Before, the fine-tune failed with exit 2 that nothing recorded, and status
// kept the upstream's old cause.
TEST(FlaggedRuns, AnUpstreamWithoutItsWeightsNamesTheCommandThatTrainsItAgain) {
  test::FaultCase fc("the checkpoint of a complete upstream run deleted");
  test::TempDir dir;
  auto text = test::small_run_config(dir.file("out"), 1);
  text.replace(text.find("train_size: 3000"), 16, "train_size: 1000");
  auto spec = dir.write(
      "s.yaml", text +
                    "threads: 1\nsweep:\n  name: staged\n  stages:\n    - name: pretrain\n      grid: {seed: [0]}\n"
                    "    - name: finetune\n      init_from: pretrain\n      set: {train.lr: 0.01}\n"
                    "      grid: {seed: [0]}\n");
  auto all = test::run_command("AIMRUN_FAULT= OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  ASSERT_EQ(all.exit_code, 0) << all.output;
  std::string up, down;
  for (const auto& e : fs::directory_iterator(dir.file("out/runs")))
    (std::regex_search(read_text(e.path().string() + "/config.yaml"), std::regex("init_from: [0-9a-f]{12}")) ? down
                                                                                                             : up) =
        e.path().string();
  ASSERT_FALSE(up.empty());
  ASSERT_FALSE(down.empty());
  // The downstream run trained again from an upstream without its weights.
  fs::remove(up + "/checkpoint.pt");
  fs::remove(down + "/result.h5"), fs::remove(down + "/summary.json");
  auto again = test::run_command("AIMRUN_FAULT= OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  const std::string command = "`aimrun train " + up + "/config.yaml --run-dir " + up + " --force --restart`";
  ASSERT_TRUE(fs::exists(down + "/FAILED")) << again.output;
  const auto failed = read_text(down + "/FAILED");
  EXPECT_TRUE(contains(failed, "has no checkpoint.pt")) << failed;
  EXPECT_TRUE(contains(failed, command)) << failed;
  auto status = test::run_command(test::aimrun() + " sweep status " + spec);
  EXPECT_TRUE(contains(status.output, command)) << status.output;
  // The command named repairs it; then the downstream run trains.
  const std::string repair_args = command.substr(std::string("`aimrun").size(), command.size() - 8);  // " train ..."
  auto repair = test::run_command("AIMRUN_FAULT= OMP_NUM_THREADS=1 " + test::aimrun() + repair_args);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto fixed = test::run_command("AIMRUN_FAULT= OMP_NUM_THREADS=1 " + test::aimrun() + " sweep run " + spec);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_TRUE(fs::exists(down + "/result.h5")) << fixed.output;
}
