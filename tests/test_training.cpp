// End to end: a short run learns, and its result file agrees with itself.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "results/run_file.h"
#include "runner/comm/communicator.h"
#include "runner/schema.h"
#include "runner/trainer.h"
#include "test_util.h"

using namespace aim;

namespace {

const char* kSmallRun =
    "dataset: {train_size: 3000, val_size: 500, test_size: 1000, correlation: 0.5}\n"
    "train: {epochs: 4, batch_size: 64, lr: 0.05, log_every: 0}\n"
    "model: {width: 8}\n";

}  // namespace

TEST(Training, ShortRunLearnsAndWritesAConsistentResult) {
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("a.yaml", kSmallRun), {"output_dir=" + dir.path()});
  auto comm = comm::make_local_communicator();
  RunPaths paths{dir.path() + "/run"};
  std::filesystem::create_directories(paths.dir);
  ASSERT_EQ(train_run(cfg, paths, *comm, {}), TrainOutcome::Completed);
  auto r = results::read_run_file(paths.result());
  const auto& loss = r.curves.series.at("train_loss");
  ASSERT_EQ(loss.size(), 4u);
  EXPECT_LT(loss.back(), 0.7 * loss.front()) << "training loss did not fall";
  EXPECT_EQ(r.run_id, cfg.run_id());
  for (const auto& s : r.splits) {
    // Binary task with no spurious correlation (p = 0.5): chance is 50%.
    EXPECT_GT(s.accuracy, 0.8) << s.split;
    ASSERT_EQ(s.label.size(), size_t(s.n));
    int64_t correct = 0, in_groups = 0;
    for (size_t i = 0; i < s.label.size(); ++i) correct += s.label[i] == s.pred[i];
    for (auto c : s.group_count) in_groups += c;
    EXPECT_EQ(correct, s.correct);
    EXPECT_DOUBLE_EQ(s.accuracy, double(correct) / double(s.n));
    EXPECT_EQ(in_groups, s.n);
    EXPECT_LE(s.worst_group_accuracy, s.accuracy);
  }
  std::map<std::string, const results::SplitResult*> by_name;
  for (const auto& s : r.splits) by_name[s.split] = &s;
  ASSERT_EQ(by_name.size(), 2u);
  EXPECT_EQ(by_name.at("test")->n, 1000);
  EXPECT_EQ(by_name.at("val")->n, 500);
  EXPECT_EQ(r.eval_curves.at("val").epoch, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(r.eval_curves.at("val").accuracy.back(), by_name.at("val")->accuracy);
}
