// Masking methods: the annealed target, binary masks with straight-through gradients, the
// area loss, and AIM's defining property: the decision sees only masked locations.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "aim/backbones/small_cnn.h"
#include "aim/masking.h"
#include "aim/methods/aim.h"
#include "aim/registry.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;
using namespace aim::model;

namespace {

// keep_bias 0: an untrained estimator then drops about half of the locations.
std::shared_ptr<Model> make(const std::string& method, int stages) {
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("c.yaml", "model: {width: 8}\n"),
                             {"method.name=" + method, "method.stages=" + std::to_string(stages), "method.keep_bias=0"});
  torch::manual_seed(0);
  return make_model(cfg, 3);
}

}  // namespace

TEST(Masking, TargetAnnealsLinearlyFromOneThenHolds) {
  // Half of 10 epochs: 1.0 at epoch 0, the target at epoch 4, held after.
  std::vector<double> expect = {1.0, 0.8125, 0.625, 0.4375, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25};
  for (int e = 0; e < 10; ++e) EXPECT_NEAR(annealed_target(0.25, 0.5, e, 10), expect[e], 1e-12) << e;
  // All of training: the target is reached in the last epoch.
  EXPECT_DOUBLE_EQ(annealed_target(0.35, 1.0, 0, 4), 1.0);
  EXPECT_NEAR(annealed_target(0.35, 1.0, 3, 4), 0.35, 1e-12);
  EXPECT_NEAR(annealed_target(0.35, 1.0, 1, 4), 1.0 - 0.65 / 3, 1e-12);
  // No annealing window: the target from the start.
  EXPECT_DOUBLE_EQ(annealed_target(0.25, 0.0, 0, 10), 0.25);
}

TEST(Masking, HardGumbelMasksAreBinaryWithStraightThroughGradients) {
  torch::manual_seed(1);
  auto logits = torch::randn({4, 2, 5, 5}, torch::requires_grad());
  auto m = binary_mask(logits, 1.0, /*training=*/true);
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{4, 1, 5, 5}));
  EXPECT_TRUE(torch::logical_or(m.eq(0), m.eq(1)).all().item<bool>());
  (m * torch::randn_like(m)).sum().backward();
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);  // gradients reach the logits
  // Evaluation: the argmax, no noise.
  auto fixed = torch::tensor({2.0f, -1.0f, -3.0f, 0.5f}).view({1, 2, 1, 2});
  auto e = binary_mask(fixed, 1.0, false);
  EXPECT_EQ(e[0][0][0][0].item<float>(), 1.0f);  // keep 2.0 > drop -3.0
  EXPECT_EQ(e[0][0][0][1].item<float>(), 0.0f);  // keep -1.0 < drop 0.5
}

TEST(Masking, SampledKeepRateIsTheSoftmaxProbability) {
  // Gumbel-max: P(keep) = softmax(logits)[keep], whatever the temperature.
  torch::manual_seed(2);
  auto logits = torch::zeros({1, 2, 200, 500});
  logits.select(1, 0).fill_(1.0);  // keep logit 1, drop logit 0
  for (double t : {1.0, 0.5}) {
    double rate = binary_mask(logits, t, true).mean().item<double>();
    EXPECT_NEAR(rate, 1.0 / (1.0 + std::exp(-1.0)), 0.005) << "temperature " << t;
  }
}

TEST(Masking, AreaLossIsSquaredGapOfBatchMeanActiveFraction) {
  auto a = torch::zeros({2, 1, 2, 2});
  a[0].fill_(1.0);                                        // sample areas 1.0 and 0.0 -> r = 0.5
  auto b = torch::zeros({2, 1, 4, 4});
  b[1][0][0].fill_(1.0);                                  // 0.0 and 0.25 -> r = 0.125
  double expect = std::pow(0.5 - 0.3, 2) + std::pow(0.125 - 0.3, 2);
  EXPECT_NEAR(area_loss({a, b}, 0.3).item<double>(), expect, 1e-7);
}

TEST(Aim, DecisionIgnoresFeaturesWhereTheMaskIsZero) {
  for (int stages : {1, 2, 3}) {
    auto model = std::dynamic_pointer_cast<AimModel>(make("aim", stages));
    ASSERT_TRUE(model);
    // Sampled (training-mode) masks: an untrained estimator's argmax is all-or-nothing per
    // image, samples mix kept and dropped locations. The property holds for any masks.
    model->train();
    torch::NoGradGuard no_grad;
    auto out = model->forward(torch::randn({4, 3, 64, 64}));
    ASSERT_EQ(out.masks.size(), size_t(stages));
    EXPECT_EQ(out.mask_stages.front(), 3);  // coarsest first
    EXPECT_TRUE(torch::allclose(model->decide(out.masked_features, out.masks).back(), out.logits));
    // Masks fixed; features changed (by a lot) only where the mask is 0: same logits.
    bool some_dropped = false;
    auto changed = out.masked_features;
    for (size_t k = 0; k < changed.size(); ++k) {
      auto dropped = out.masks[k].eq(0).expand_as(changed[k]);
      some_dropped = some_dropped || dropped.any().item<bool>();
      changed[k] = torch::where(dropped, torch::randn_like(changed[k]) * 1e3, changed[k]);
    }
    ASSERT_TRUE(some_dropped) << "no location was masked; the test would prove nothing";
    EXPECT_TRUE(torch::equal(model->decide(changed, out.masks).back(), out.logits)) << "K=" << stages;
    // The same change where the mask is 1 does change them (the test can fail).
    auto kept_change = out.masked_features;
    for (size_t k = 0; k < kept_change.size(); ++k) kept_change[k] = kept_change[k] + out.masks[k] * 10.0;
    ASSERT_TRUE(torch::cat({out.masks.front().flatten(), out.masks.back().flatten()}).any().item<bool>());
    EXPECT_FALSE(torch::allclose(model->decide(kept_change, out.masks).back(), out.logits));
  }
}

TEST(Aim, NoGradientReachesFeaturesWhereTheMaskIsZero) {
  auto model = std::dynamic_pointer_cast<AimModel>(make("aim", 2));
  model->train();
  auto out = model->forward(torch::randn({4, 3, 64, 64}));
  for (auto& f : out.masked_features) f.retain_grad();
  out.logits.sum().backward();
  for (size_t k = 0; k < out.masks.size(); ++k) {
    auto g = out.masked_features[k].grad();
    ASSERT_TRUE(g.defined());
    auto dropped = out.masks[k].eq(0).expand_as(g);
    EXPECT_EQ(g.masked_select(dropped).abs().max().item<float>(), 0.0f) << "stage " << out.mask_stages[k];
    EXPECT_GT(g.abs().sum().item<float>(), 0.0f);
  }
}

TEST(Aim, MergedMaskIsTheUnionOfStageMasksAtTheFinestStage) {
  auto coarse = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({1, 1, 2, 2});
  auto fine = torch::zeros({1, 1, 4, 4});
  fine[0][0][3][3] = 1.0;
  auto u = merge_masks({coarse, fine}, true);
  EXPECT_EQ(u.sum().item<float>(), 5.0f);  // the 2x2 upsampled corner plus one pixel
  auto both = merge_masks({coarse, fine}, false);
  EXPECT_EQ(both.sum().item<float>(), 0.0f);
}

TEST(BottomUp, EachStageMasksItselfAndTheLossHasTheAreaTerm) {
  auto model = make("bottom_up", 2);
  model->train();
  auto x = torch::randn({4, 3, 64, 64});
  auto out = model->forward(x);
  ASSERT_EQ(out.masks.size(), 2u);
  EXPECT_EQ(out.mask_stages, (std::vector<int>{3, 2}));
  EXPECT_EQ(out.masks[0].size(2), 4);  // stage 3 of a 64x64 input: stride 16
  EXPECT_EQ(out.masks[1].size(2), 8);
  // The last stage reaching the decision is zero wherever its mask is.
  auto dropped = out.masks[0].eq(0).expand_as(out.last_stage);
  EXPECT_EQ(out.last_stage.masked_select(dropped).abs().sum().item<float>(), 0.0f);
  auto labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
  auto t = model->loss(out, labels, {0, 10});
  EXPECT_TRUE(t.parts.count("area"));
  double expect = t.parts["ce"].item<double>() + 6.0 * t.parts["area"].item<double>();
  EXPECT_NEAR(t.total.item<double>(), expect, 1e-5);
}

TEST(Methods, RegistryBuildsEveryMethodOnTheSameInterface) {
  for (std::string m : {"vanilla", "bottom_up", "aim"}) {
    auto model = make(m, 2);
    model->eval();
    auto out = model->forward(torch::randn({2, 3, 64, 64}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 3})) << m;
    EXPECT_EQ(model->has_masks(), m != "vanilla") << m;
    if (model->has_masks()) {
      EXPECT_EQ(out.merged_mask.size(2), 8) << m;
    }
  }
}
