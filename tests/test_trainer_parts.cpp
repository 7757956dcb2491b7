// The trainer's parts on their own (runner/epoch_recorder.h, runner/eval_schedule.h): what one
// epoch adds to the curves, computed by hand, and when the validation split is evaluated and
// which evaluation eval.select keeps.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "runner/epoch_recorder.h"
#include "runner/eval_schedule.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;

namespace {

EpochLayout two_part_layout() {
  EpochLayout layout;
  layout.loss_parts = {"area", "ce"};
  layout.mask_stages = 1;
  layout.bins = 2;
  return layout;
}

// Four samples: loss 10 (ce 8, area 2), 3 correct, mask active fractions 0.2, 0.4, 0.6, 0.8
// (sum 2.0, sum of squares 1.2; one in the lower half, three in the upper).
EpochSums four_samples(const EpochLayout& layout) {
  auto s = EpochSums::zeros(layout);
  s.loss = 10, s.seen = 4, s.correct = 3;
  s.parts["ce"] = 8, s.parts["area"] = 2;
  s.seconds["data"] = 0.5, s.seconds["forward"] = 1.0, s.seconds["backward"] = 2.0, s.seconds["optimizer"] = 0.5;
  s.area_sum = {2.0}, s.area_sumsq = {1.2}, s.area_hist = {{1, 3}};
  return s;
}

TEST(EpochRecorder, RecordsEachSeriesFromTheSums) {
  const auto layout = two_part_layout();
  results::RunRecord rec;
  EpochRecorder recorder(layout);
  recorder.record(rec, four_samples(layout), {1, 0.05, 7.0, {0.25}, {3}});
  auto total = four_samples(layout);
  total.loss = 2, total.correct = 4;
  recorder.record(rec, total, {2, 0.01, 6.0, {0.3}, {3}});

  EXPECT_EQ(rec.curves.epoch, (std::vector<int64_t>{1, 2}));
  const auto& s = rec.curves.series;
  EXPECT_DOUBLE_EQ(s.at("train_loss")[0], 2.5);
  EXPECT_DOUBLE_EQ(s.at("train_loss")[1], 0.5);
  EXPECT_DOUBLE_EQ(s.at("train_accuracy")[0], 0.75);
  EXPECT_DOUBLE_EQ(s.at("train_accuracy")[1], 1.0);
  EXPECT_DOUBLE_EQ(s.at("lr")[1], 0.01);
  EXPECT_DOUBLE_EQ(s.at("images_per_s")[0], 4.0 / 4.0);  // 4 images in 4 s of steps
  EXPECT_DOUBLE_EQ(s.at("epoch_seconds")[0], 7.0);
  EXPECT_DOUBLE_EQ(s.at("backward_seconds")[0], 2.0);
  EXPECT_DOUBLE_EQ(s.at("comm_wait_seconds")[0], 0.0);
  EXPECT_DOUBLE_EQ(s.at("loss_ce")[0], 2.0);
  EXPECT_DOUBLE_EQ(s.at("loss_area")[0], 0.5);
  ASSERT_EQ(rec.mask_curves.size(), 1u);
  const auto& m = rec.mask_curves[0];
  EXPECT_EQ(m.stage, 3);
  EXPECT_EQ(m.bins, 2);
  EXPECT_DOUBLE_EQ(m.active_mean[0], 0.5);
  EXPECT_NEAR(m.active_std[0], std::sqrt(0.3 - 0.25), 1e-12);  // population std of .2,.4,.6,.8
  EXPECT_EQ(m.target, (std::vector<double>{0.25, 0.3}));
  EXPECT_EQ(m.histogram, (std::vector<double>{0.25, 0.75, 0.25, 0.75}));  // per epoch, bins in a row
}

TEST(EpochRecorder, RefusesSumsOfAnotherLayout) {
  const auto layout = two_part_layout();
  auto other = layout;
  other.loss_parts = {"ce"};
  results::RunRecord rec;
  EXPECT_THROW(EpochRecorder(layout).record(rec, EpochSums::zeros(other), {}), Error);
  EXPECT_TRUE(rec.curves.epoch.empty());
}

TEST(EvalSchedule, EvaluatesEveryNEpochsButNotTheLast) {
  EvalSchedule s;
  s.every = 2, s.epochs = 5;
  std::vector<int64_t> due;
  for (int64_t e = 1; e <= 5; ++e)
    if (s.due_after(e)) due.push_back(e);
  EXPECT_EQ(due, (std::vector<int64_t>{2, 4}));  // the 5th is part of the final evaluation
  s.every = 0;
  for (int64_t e = 1; e <= 5; ++e) EXPECT_FALSE(s.due_after(e));
  EXPECT_FALSE(s.final_val_is_curve_point());
  s.every = 1;
  EXPECT_TRUE(s.final_val_is_curve_point());
  s.select = "best_val_accuracy";
  EXPECT_FALSE(s.final_val_is_curve_point());  // its last point is the selection's candidate
}

results::SplitResult scored(double accuracy, double worst) {
  results::SplitResult r;
  r.accuracy = accuracy, r.worst_group_accuracy = worst;
  return r;
}

TEST(EvalSchedule, SelectionKeepsTheEarliestOfTheBest) {
  TrainState st;
  EXPECT_FALSE(is_new_best("last", st, 1, scored(0.9, 0.8)));
  EXPECT_TRUE(is_new_best("best_val_accuracy", st, 1, scored(0.7, 0.1)));  // the first is the best so far
  EXPECT_TRUE(is_new_best("best_val_accuracy", st, 2, scored(0.8, 0.0)));
  EXPECT_FALSE(is_new_best("best_val_accuracy", st, 3, scored(0.8, 0.9)));  // equal: the earlier stays
  EXPECT_FALSE(is_new_best("best_val_accuracy", st, 4, scored(0.6, 0.9)));
  EXPECT_EQ(st.best_epoch, 2);
  EXPECT_DOUBLE_EQ(st.best_score, 0.8);
  TrainState wg;
  EXPECT_TRUE(is_new_best("best_val_worst_group", wg, 1, scored(0.9, 0.2)));
  EXPECT_TRUE(is_new_best("best_val_worst_group", wg, 2, scored(0.5, 0.3)));
  EXPECT_EQ(wg.best_epoch, 2);
  EXPECT_THROW(is_new_best("best_val_worst_group", wg, 3, scored(0.9, NAN)), Error);
}

TEST(EvalSchedule, BuiltFromTheConfigAndTheDatasetsSplits) {
  test::TempDir dir;
  data::DatasetSplits splits;
  splits.splits = {{"train", nullptr}, {"val", nullptr}, {"test", nullptr}};
  splits.eval_splits = {"val", "test"};
  auto cfg = load_run_config(dir.write("a.yaml",
                                       "train: {epochs: 3, eval_every: 2}\neval: {select: best_val_accuracy, "
                                       "attributions: [gradcam], keep_maps: 5}\n"),
                             {});
  auto s = eval_schedule(cfg, splits);
  EXPECT_EQ(s.splits, (std::vector<std::string>{"val", "test"}));
  EXPECT_EQ(s.val, "val");
  EXPECT_EQ(s.select, "best_val_accuracy");
  EXPECT_EQ(s.every, 2);
  EXPECT_EQ(s.epochs, 3);
  EXPECT_EQ(s.final.attributions, (std::vector<std::string>{"gradcam"}));
  EXPECT_EQ(s.final.keep_maps, 5);
  EXPECT_TRUE(s.during.attributions.empty());  // accuracy only during training
  EXPECT_EQ(s.during.keep_maps, 0);
  EXPECT_FALSE(s.during.mask_confidence);
  // A split the dataset does not have names the key (here: a dataset without val).
  data::DatasetSplits no_val;
  no_val.splits = {{"train", nullptr}, {"test", nullptr}};
  no_val.eval_splits = {"test"};
  auto expect_error = [&](const Config& c, const std::string& key, const std::string& text) {
    try {
      eval_schedule(c, no_val);
      ADD_FAILURE() << "expected a ConfigError naming " << key;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  expect_error(load_run_config(dir.write("b.yaml", "eval: {splits: [val, test]}\n"), {}), "eval.splits", "'val'");
  expect_error(cfg, "eval.select", "validation split");
  auto fine = eval_schedule(load_run_config(dir.write("c.yaml", "seed: 1\n"), {}), no_val);
  EXPECT_EQ(fine.val, "test");  // without val, the first evaluated split
}

}  // namespace
