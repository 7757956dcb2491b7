// The trainer's parts on their own (runner/epoch_recorder.h, runner/eval_schedule.h,
// runner/optim.h): what one epoch adds to the curves, computed by hand, when the validation
// split is evaluated and which evaluation eval.select keeps, and the optimiser and learning
// rate the train.* keys give.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <map>

#include "aim/registry.h"
#include "core/error.h"
#include "data/registry.h"
#include "runner/epoch_recorder.h"
#include "runner/eval_schedule.h"
#include "runner/optim.h"
#include "runner/schema.h"
#include "runner/start_line.h"
#include "runner/train_settings.h"
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

// Defaults are written once: the settings an empty config gives are a default TrainSettings,
// field by field (the dataset.* fields, whose keys data/ declares, are the ones that could
// drift), and the texts of the defaults that enter a run's identity are those runs were
// hashed with before the schema took them from the struct.
TEST(TrainSettings, DefaultsAreTheSchemas) {
  test::TempDir dir;
  const TrainSettings t = train_settings(load_run_config(dir.write("empty.yaml", "{}\n"), {}));
  const TrainSettings d;
  EXPECT_EQ(t.seed, d.seed);
  EXPECT_EQ(t.threads, d.threads);
  EXPECT_EQ(t.epochs, d.epochs);
  EXPECT_EQ(t.batch_size, d.batch_size);
  EXPECT_EQ(t.accumulate_steps, d.accumulate_steps);
  EXPECT_EQ(t.channels_last, d.channels_last);
  EXPECT_EQ(t.bf16, d.bf16);
  EXPECT_EQ(t.pin_memory, d.pin_memory);
  EXPECT_EQ(t.cudnn_benchmark, d.cudnn_benchmark);
  EXPECT_EQ(t.stop_on_nan, d.stop_on_nan);
  EXPECT_EQ(t.bucket_mb, d.bucket_mb);
  EXPECT_EQ(t.first_bucket_mb, d.first_bucket_mb);
  EXPECT_EQ(t.last_bucket_mb, d.last_bucket_mb);
  EXPECT_EQ(t.log_every_s, d.log_every_s);
  EXPECT_EQ(t.workers, d.workers);
  EXPECT_EQ(t.prefetch, d.prefetch);
  EXPECT_EQ(t.checkpoint_every, d.checkpoint_every);
  EXPECT_EQ(t.mask_hist_bins, d.mask_hist_bins);
  EXPECT_EQ(t.pictures, d.pictures);
  EXPECT_EQ(t.optim.adamw, d.optim.adamw);
  EXPECT_EQ(t.optim.lr, d.optim.lr);
  EXPECT_EQ(t.optim.min_lr, d.optim.min_lr);
  EXPECT_EQ(t.optim.warmup_epochs, d.optim.warmup_epochs);
  EXPECT_EQ(t.optim.cosine, d.optim.cosine);
  EXPECT_EQ(t.optim.momentum, d.optim.momentum);
  EXPECT_EQ(t.optim.nesterov, d.optim.nesterov);
  EXPECT_EQ(t.optim.beta1, d.optim.beta1);
  EXPECT_EQ(t.optim.beta2, d.optim.beta2);
  EXPECT_EQ(t.optim.weight_decay, d.optim.weight_decay);
  EXPECT_EQ(t.optim.decay_norm_and_bias, d.optim.decay_norm_and_bias);
  const std::map<std::string, std::string> texts = {{"seed", "0"},
                                                    {"train.epochs", "10"},
                                                    {"train.batch_size", "128"},
                                                    {"train.accumulate_steps", "1"},
                                                    {"train.optimizer", "sgd"},
                                                    {"train.lr", "0.05"},
                                                    {"train.min_lr", "0.0"},
                                                    {"train.schedule", "cosine"},
                                                    {"train.warmup_epochs", "1.0"},
                                                    {"train.momentum", "0.9"},
                                                    {"train.nesterov", "false"},
                                                    {"train.betas", "[0.9, 0.999]"},
                                                    {"train.weight_decay", "0.0005"},
                                                    {"train.decay_norm_and_bias", "false"},
                                                    {"train.precision", "fp32"},
                                                    {"eval.mask_hist_bins", "10"}, {"train.bucket_mb", "25.0"}, {"train.first_bucket_mb", "1.0"},
      {"train.last_bucket_mb", "-1.0"}, {"train.log_every", "10.0"}, {"train.checkpoint_every", "1"},
      {"train.stop_on_nan", "true"}, {"train.cudnn_benchmark", "true"}, {"train.channels_last", "false"},
      {"threads", "0"}, {"eval.pictures", "8"}};
  for (const auto& [key, text] : texts) {
    const KeySpec* spec = full_schema().find(key);
    ASSERT_NE(spec, nullptr) << key;
    EXPECT_EQ(spec->default_yaml, text) << key;
  }
  EXPECT_EQ(default_text(1e-5), "1e-05");
  EXPECT_EQ(default_text(10.0), "10.0");  // not 1e+01
  EXPECT_EQ(default_text(1234567.0), "1234567.0");
  EXPECT_EQ(default_text(-1.0), "-1.0");
  EXPECT_EQ(default_text(0.1 + 0.2), "0.30000000000000004");  // reads back as the same double
}

TEST(OptimizerSettings, ReadOnceFromTheTrainKeys) {
  test::TempDir dir;
  auto t = train_settings(load_run_config(
      dir.write("a.yaml",
                "train: {optimizer: adamw, lr: 0.002, min_lr: 0.0001, schedule: constant, warmup_epochs: 0.5, "
                "betas: [0.8, 0.95], weight_decay: 0.05, decay_norm_and_bias: true}\n"),
      {}));
  EXPECT_TRUE(t.optim.adamw);
  EXPECT_DOUBLE_EQ(t.optim.lr, 0.002);
  EXPECT_DOUBLE_EQ(t.optim.min_lr, 0.0001);
  EXPECT_FALSE(t.optim.cosine);
  EXPECT_DOUBLE_EQ(t.optim.warmup_epochs, 0.5);
  EXPECT_DOUBLE_EQ(t.optim.beta1, 0.8);
  EXPECT_DOUBLE_EQ(t.optim.beta2, 0.95);
  EXPECT_DOUBLE_EQ(t.optim.weight_decay, 0.05);
  EXPECT_TRUE(t.optim.decay_norm_and_bias);
  // Nesterov without momentum is refused before anything runs, naming the key.
  auto bad = load_run_config(dir.write("b.yaml", "train: {nesterov: true, momentum: 0.0}\n"), {});
  try {
    check_run_config(bad);
    ADD_FAILURE() << "expected a ConfigError naming train.nesterov";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.nesterov"), std::string::npos) << e.what();
  }
}

TEST(OptimizerSettings, WeightDecayOnlyOnWeightsUnlessTold) {
  torch::nn::Sequential model(torch::nn::Linear(3, 2), torch::nn::BatchNorm1d(2));
  OptimizerSettings o;
  o.weight_decay = 0.01;
  auto sgd = make_optimizer(o, *model);
  ASSERT_EQ(sgd->param_groups().size(), 2u);  // the linear weight; its bias and the norm's two
  EXPECT_EQ(sgd->param_groups()[0].params().size(), 1u);
  EXPECT_EQ(sgd->param_groups()[1].params().size(), 3u);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::SGDOptions&>(sgd->param_groups()[0].options()).weight_decay(), 0.01);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::SGDOptions&>(sgd->param_groups()[1].options()).weight_decay(), 0.0);
  o.adamw = true, o.decay_norm_and_bias = true, o.beta1 = 0.8;
  auto adamw = make_optimizer(o, *model);
  ASSERT_EQ(adamw->param_groups().size(), 1u);
  auto& a = static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(std::get<0>(a.betas()), 0.8);
  EXPECT_DOUBLE_EQ(a.weight_decay(), 0.01);
}

TEST(LrSchedule, WarmUpThenCosineAsInTheClosedForm) {
  OptimizerSettings o;
  o.lr = 0.1, o.min_lr = 0.01, o.warmup_epochs = 1.0;
  const int64_t epochs = 3, steps = 4;  // 4 warm-up steps, then 8 of cosine
  LrSchedule lr(o, epochs, steps);
  for (int64_t s = 0; s < 4; ++s) EXPECT_DOUBLE_EQ(lr.at(s), 0.1 * double(s + 1) / 4.0) << s;
  for (int64_t s = 4; s < 12; ++s)
    EXPECT_NEAR(lr.at(s), 0.01 + 0.045 * (1.0 + std::cos(M_PI * double(s - 4) / 8.0)), 1e-15) << s;
  EXPECT_DOUBLE_EQ(lr.at(12), 0.01);  // past the end: the floor
  o.cosine = false, o.warmup_epochs = 0.5;
  LrSchedule flat(o, epochs, steps);
  EXPECT_DOUBLE_EQ(flat.at(0), 0.05);
  EXPECT_DOUBLE_EQ(flat.at(1), 0.1);
  EXPECT_DOUBLE_EQ(flat.at(11), 0.1);
}

}  // namespace

namespace aim {

// A run's start lines fit a 120-column terminal after the console's "[HH:MM:SS] " with the
// longest names the registries hold and numbers larger than any run's, and keep every fact
// (before: one line of 146 to 152 characters).
TEST(StartLine, FitsA120ColumnTerminalWithTheLongestNames) {
  auto longest = [](const auto& entries) {
    std::string out;
    for (const auto& e : entries)
      if (e.name.size() > out.size()) out = e.name;
    return out;
  };
  RunStart s;
  s.run_id = "0123456789ab";
  s.method = longest(model::method_registry());
  s.backbone = longest(model::backbone_registry());
  s.dataset = longest(data::dataset_registry());
  s.train_samples = 1281167;  // ImageNet's training split
  s.classes = 1000;
  s.parameters = 999999999;
  s.ranks = 4096, s.threads = 1024;
  const size_t prefix = std::string("[12:34:56] ").size();
  const auto lines = start_lines(s);
  ASSERT_EQ(lines.size(), 2u);
  std::string all;
  for (const auto& line : lines) {
    EXPECT_LE(prefix + line.size(), 120u) << line;
    EXPECT_EQ(line.rfind("run 0123456789ab: ", 0), 0u) << line;
    all += line + "\n";
  }
  for (const std::string& fact :
       {"method " + s.method, "backbone " + s.backbone, "dataset " + s.dataset, std::string("1281167 train samples"),
        std::string("1000 classes"), std::string("999999999 parameters"), std::string("4096 rank(s) x 1024 thread(s)")})
    EXPECT_NE(all.find(fact), std::string::npos) << fact << " not in\n" << all;
}

}  // namespace aim
