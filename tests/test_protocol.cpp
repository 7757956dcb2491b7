// The evaluation protocol (issue 17): Grad-CAM on the map each model decides from, which
// class is explained, the area loss per batch or per sample, deep supervision for bottom-up,
// which epoch's weights are scored (eval.select, surviving a stop and resume), and the EPG
// per group.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "aim/attribution.h"
#include "aim/masking.h"
#include "aim/methods/aim.h"
#include "aim/registry.h"
#include "core/h5.h"
#include "results/run_file.h"
#include "run_compare.h"
#include "runner/evaluate.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;
using namespace aim::model;
namespace F = torch::nn::functional;

namespace {

// keep_bias 0: an untrained estimator's sampled masks mix kept and dropped locations.
std::shared_ptr<Model> make(const std::string& method, std::vector<std::string> overrides = {}) {
  test::TempDir dir;
  overrides.push_back("method.name=" + method);
  if (method != "vanilla") overrides.push_back("method.keep_bias=0");
  auto cfg = load_run_config(dir.write("c.yaml", "model: {width: 8}\n"), overrides);
  torch::manual_seed(0);
  return make_model(cfg, 3);
}

torch::Tensor explain(const std::string& attribution, Model& model, const Explained& e) {
  auto a = make_attributions({attribution}, model);
  return a.at(0)->explain(e);
}

}  // namespace

TEST(Protocol, AimGradCamReadsTheMergedSparseMapAndIsZeroOutsideTheMergedMask) {
  auto model = std::dynamic_pointer_cast<AimModel>(make("aim"));
  ASSERT_TRUE(model);
  model->train();  // sampled masks: some locations kept, some dropped in every image
  auto images = torch::randn({4, 3, 64, 64});
  torch::manual_seed(3);  // the same Gumbel noise in the hand computation below
  auto e = explain_batch(*model, images, torch::tensor({0, 1, 2, 0}, torch::kLong), true);
  // The decision map is O_2 = T_2(S_2) * B_2 + up(T_3(S_3) * B_3), written out here.
  const auto& f = e.out.masked_features;
  const auto& m = e.out.masks;
  auto coarse = F::interpolate(f[0] * m[0], F::InterpolateFuncOptions().size(std::vector<int64_t>{8, 8}).mode(torch::kNearest));
  EXPECT_TRUE(torch::allclose(e.out.decision_map, f[1] * m[1] + coarse, 1e-5, 1e-6));
  auto cam = explain("gradcam", *model, e);
  ASSERT_EQ(cam.sizes(), (std::vector<int64_t>{4, 8, 8}));  // the finest masked stage
  auto outside = e.out.merged_mask.squeeze(1).eq(0);
  ASSERT_TRUE(outside.any().item<bool>()) << "no location outside the merged mask: the test would prove nothing";
  EXPECT_EQ(cam.masked_select(outside).abs().max().item<float>(), 0.0f) << "gradcam has energy outside the merged mask";
  EXPECT_GT(cam.sum().item<float>(), 0.0f);
  // gradcam_backbone is the old map: the unmasked last backbone stage (4x4 at 64x64).
  auto backbone = explain("gradcam_backbone", *model, e);
  EXPECT_EQ(backbone.sizes(), (std::vector<int64_t>{4, 4, 4}));
  // Grad-CAM by hand on O: weights = spatial mean of d score / d O.
  torch::manual_seed(3);
  auto x = images.clone().requires_grad_(true);
  auto out = model->forward(x);
  auto score = out.logits.gather(1, torch::tensor({0, 1, 2, 0}, torch::kLong).unsqueeze(1)).sum();
  auto g = torch::autograd::grad({score}, {out.decision_map})[0];
  auto expect = torch::relu((g.mean({2, 3}, true) * out.decision_map.detach()).sum(1));
  EXPECT_TRUE(torch::allclose(cam, expect, 1e-5, 1e-7));
}

TEST(Protocol, VanillaGradCamEqualsGradCamBackboneBitForBit) {
  auto model = make("vanilla");
  model->eval();
  auto e = explain_batch(*model, torch::randn({3, 3, 64, 64}), torch::Tensor(), true);
  auto cam = explain("gradcam", *model, e), backbone = explain("gradcam_backbone", *model, e);
  EXPECT_TRUE(torch::equal(cam, backbone));
  EXPECT_GT(cam.sum().item<float>(), 0.0f);
}

TEST(Protocol, BottomUpGradCamIsZeroOutsideItsMask) {
  auto model = make("bottom_up");
  model->train();
  torch::manual_seed(4);
  auto e = explain_batch(*model, torch::randn({4, 3, 64, 64}), torch::Tensor(), true);
  auto cam = explain("gradcam", *model, e);
  ASSERT_EQ(cam.sizes(), (std::vector<int64_t>{4, 4, 4}));
  auto outside = e.out.masks[0].squeeze(1).eq(0);  // the last stage's own mask (coarsest first)
  ASSERT_TRUE(outside.any().item<bool>());
  EXPECT_EQ(cam.masked_select(outside).abs().max().item<float>(), 0.0f);
  EXPECT_GT(cam.sum().item<float>(), 0.0f);
}

TEST(Protocol, ExplainTrueClassIsTheDefaultAndDiffersFromThePredictionWhenWrong) {
  test::TempDir dir;
  EXPECT_EQ(load_run_config(dir.write("c.yaml", "{}\n"), {}).get_string("eval.explain"), "true");
  EXPECT_TRUE(EvalOptions{}.explain_true_class);
  auto model = make("vanilla");
  model->eval();
  torch::manual_seed(5);
  auto images = torch::randn({6, 3, 64, 64});
  auto predicted = explain_batch(*model, images, torch::Tensor(), true);
  auto pred = predicted.targets;
  EXPECT_TRUE(torch::equal(pred, predicted.out.logits.argmax(1)));
  // Samples 0-2 labelled as predicted, 3-5 with another class (misclassified).
  auto labels = pred.clone();
  labels.slice(0, 3, 6).add_(1).remainder_(3);
  auto truth = explain_batch(*model, images, labels, true);
  auto a = explain("gradcam", *model, predicted), b = explain("gradcam", *model, truth);
  EXPECT_TRUE(torch::equal(a.slice(0, 0, 3), b.slice(0, 0, 3)));
  for (int i = 3; i < 6; ++i) EXPECT_FALSE(torch::allclose(a[i], b[i])) << "sample " << i;
}

TEST(Protocol, AreaLossPerBatchAndPerSampleOnKnownMasks) {
  auto a = torch::zeros({2, 1, 2, 2});
  a[0].fill_(1.0);  // sample areas 1.0 and 0.0
  auto b = torch::zeros({2, 1, 4, 4});
  b[1][0][0].fill_(1.0);  // 0.0 and 0.25
  const double tau = 0.3;
  const double batch = std::pow(0.5 - tau, 2) + std::pow(0.125 - tau, 2);
  const double sample = (std::pow(1.0 - tau, 2) + std::pow(0.0 - tau, 2)) / 2 + (std::pow(0.0 - tau, 2) + std::pow(0.25 - tau, 2)) / 2;
  EXPECT_NEAR(area_loss({a, b}, tau).item<double>(), batch, 1e-7);
  EXPECT_NEAR(area_loss({a, b}, tau, /*per_sample=*/false).item<double>(), batch, 1e-7);
  EXPECT_NEAR(area_loss({a, b}, tau, /*per_sample=*/true).item<double>(), sample, 1e-7);
  // Random masks against a float64 loop.
  torch::manual_seed(6);
  std::vector<torch::Tensor> masks = {torch::rand({5, 1, 4, 4}).gt(0.6).to(torch::kFloat), torch::rand({5, 1, 8, 8}).gt(0.3).to(torch::kFloat)};
  double expect = 0;
  for (const auto& m : masks) {
    auto areas = m.to(torch::kDouble).sum({1, 2, 3}) / double(m[0].numel());
    double acc = 0;
    for (int64_t i = 0; i < 5; ++i) acc += std::pow(areas[i].item<double>() - tau, 2);
    expect += acc / 5;
  }
  EXPECT_NEAR(area_loss(masks, tau, true).item<double>(), expect, 1e-6);
  // The config key reaches both masking methods' loss.
  for (std::string method : {"aim", "bottom_up"}) {
    auto batch_model = make(method), sample_model = make(method, {"method.area_loss=sample"});
    batch_model->train();
    sample_model->train();
    auto labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
    torch::manual_seed(7);
    auto out = sample_model->forward(torch::randn({4, 3, 64, 64}));
    const Progress where{3, 4};
    const double target = sample_model->area_targets(where).front();
    auto t = sample_model->loss(out, labels, where);
    EXPECT_NEAR(t.parts.at("area").item<double>(), area_loss(out.masks, target, true).item<double>(), 1e-7) << method;
    auto tb = batch_model->loss(out, labels, where);
    EXPECT_NEAR(tb.parts.at("area").item<double>(), area_loss(out.masks, target, false).item<double>(), 1e-7) << method;
    EXPECT_GT(t.parts.at("area").item<double>(), tb.parts.at("area").item<double>()) << method;  // Jensen, strict here
  }
}

TEST(Protocol, BottomUpDeepSupervisionAddsOneClassifierPerMaskedStage) {
  auto labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
  auto images = torch::randn({4, 3, 64, 64});
  const std::vector<std::string> parts = {"ce", "ce_deep_supervision", "area"};
  for (bool deep : {false, true}) {
    auto model = make("bottom_up", deep ? std::vector<std::string>{"method.deep_supervision=true"} : std::vector<std::string>{});
    EXPECT_EQ(model->loss_parts(), parts);  // the same names with or without it
    model->train();
    torch::manual_seed(8);
    auto out = model->forward(images);
    ASSERT_EQ(out.stage_logits.size(), deep ? 2u : 1u);
    EXPECT_TRUE(torch::equal(out.stage_logits.back(), out.logits));
    auto t = model->loss(out, labels, {0, 4});
    std::vector<std::string> names;
    for (const auto& [k, v] : t.parts) names.push_back(k);
    EXPECT_EQ(names, (std::vector<std::string>{"area", "ce", "ce_deep_supervision"}));
    const double aux = deep ? F::cross_entropy(out.stage_logits[0], labels).item<double>() : 0.0;
    EXPECT_NEAR(t.parts.at("ce_deep_supervision").item<double>(), aux, 1e-6);
    if (deep) {
      EXPECT_GT(aux, 0.0);
    }
    EXPECT_NEAR(t.total.item<double>(),
                t.parts.at("ce").item<double>() + aux + 6.0 * t.parts.at("area").item<double>(), 1e-5);
  }
  // ~: on for AIM, off for bottom-up.
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("c.yaml", "method: {name: aim}\n"), {});
  EXPECT_TRUE(masking_options(cfg, "aim").deep_supervision);
  EXPECT_FALSE(masking_options(load_run_config(dir.file("c.yaml"), {"method.name=bottom_up"}), "bottom_up").deep_supervision);
}

TEST(Protocol, GroupEpgIsTheMeanPerGroupOverAnnotatedSamples) {
  results::SplitResult r;
  r.group = {0, 0, 1, 1, 2, -1, 0};
  r.per_sample["epg_gradcam"] = {0.2f, 0.4f, NAN, 0.9f, NAN, 0.0f, 0.6f};
  r.per_sample["mask_area"] = {1, 1, 1, 1, 1, 1, 1};
  fill_group_epg(r, 3);
  ASSERT_EQ(r.group_means.size(), 1u);  // epg_* only
  const auto& m = r.group_means.at("epg_gradcam");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_NEAR(m[0], (0.2 + 0.4 + 0.6) / 3, 1e-7);
  EXPECT_NEAR(m[1], 0.9, 1e-7);
  EXPECT_TRUE(std::isnan(m[2]));  // no annotated sample: NaN, not 0
  EXPECT_NEAR(r.scalars.at("worst_group_epg_gradcam"), 0.4, 1e-7);
}

namespace {

// 6 steps per epoch, 5 epochs, validation after each. With this seed and learning rate the
// validation accuracy peaks before the last epoch (0.406 0.479 0.51 0.594 0.594: epoch 4, the
// earliest of two equal), so the selected weights are not the last ones.
std::string select_config(const test::TempDir& dir, const std::string& select) {
  return dir.write("s.yaml", "output_dir: " + dir.file("out") +
                                 "\n"
                                 "seed: 1\n"
                                 "dataset: {train_size: 192, val_size: 96, test_size: 64, correlation: 0.9}\n"
                                 "model: {width: 8}\n"
                                 "method: {name: aim}\n"
                                 "train: {epochs: 5, batch_size: 32, lr: 0.3, log_every: 0, eval_every: 1}\n"
                                 "eval: {attributions: [gradcam, mask], keep_maps: 2, pictures: 0, select: " +
                                 select + "}\n");
}

test::CommandResult train(const std::string& cfg, const std::string& run_dir, const std::string& env = "") {
  return test::run_command("AIMRUN_FAULT= " + env + " OMP_NUM_THREADS=1 timeout 300 " + test::aimrun() + " train " + cfg +
                           " threads=1 --run-dir " + run_dir);
}

const results::SplitResult& split(const results::RunRecord& r, const std::string& name) {
  for (const auto& s : r.splits)
    if (s.split == name) return s;
  throw std::runtime_error("no split " + name);
}

}  // namespace

TEST(Protocol, SelectEvaluatesTheBestValidationEpochAndSurvivesResume) {
  for (std::string select : {"best_val_accuracy", "best_val_worst_group"}) {
    test::TempDir dir;
    auto cfg = select_config(dir, select);
    auto twin = train(cfg, dir.file("twin"));
    ASSERT_EQ(twin.exit_code, 0) << twin.output;
    auto r = results::read_run_file(dir.file("twin/result.h5"));
    EXPECT_EQ(r.text.at("select"), select);
    EXPECT_EQ(r.text.at("explain"), "true");
    const auto& c = r.eval_curves.at("val");
    ASSERT_EQ(c.epoch, (std::vector<int64_t>{1, 2, 3, 4, 5}));
    const auto& score = select == "best_val_accuracy" ? c.accuracy : c.worst_group_accuracy;
    size_t best = 0;  // the earliest of equal scores
    for (size_t i = 1; i < score.size(); ++i)
      if (score[i] > score[best]) best = i;
    EXPECT_EQ(r.numbers.at("selected_epoch"), double(c.epoch[best])) << select;
    ASSERT_NE(c.epoch[best], 5) << select << ": the best epoch is the last; this run would not test the swap of weights";
    // The final validation scores are those of the selected epoch's weights, not the last.
    const auto& val = split(r, "val");
    EXPECT_EQ(val.accuracy, c.accuracy[best]) << select;
    EXPECT_EQ(val.worst_group_accuracy, c.worst_group_accuracy[best]) << select;
    EXPECT_EQ(val.loss, c.loss[best]) << select;
    // A stop inside epoch 2, after the best epoch's evaluation, and after the last step: the
    // resumed run ends with the same numbers and the same selection.
    for (int step : std::set<int>{8, int(6 * c.epoch[best]) + 2, 29}) {
      const std::string run = dir.file("run" + std::to_string(step));
      auto first = train(cfg, run, "AIMRUN_FAULT=rank=0,step=" + std::to_string(step) + ",kind=stop");
      if (step < 29) {
        ASSERT_EQ(first.exit_code, 75) << first.output;
      }
      auto second = train(cfg, run);
      ASSERT_EQ(second.exit_code, 0) << second.output;
      test::expect_same_results(dir.file("twin/result.h5"), run + "/result.h5");
    }
  }
}

TEST(Protocol, SelectWithoutValidationIsAConfigError) {
  test::TempDir dir;
  auto cfg = select_config(dir, "best_val_accuracy");
  auto no_val = test::run_command(test::aimrun() + " train " + cfg + " dataset.val_size=0 --run-dir " + dir.file("a"));
  EXPECT_EQ(no_val.exit_code, 2) << no_val.output;
  EXPECT_NE(no_val.output.find("eval.select"), std::string::npos) << no_val.output;
  auto no_evals = test::run_command(test::aimrun() + " train " + cfg + " train.eval_every=0 --run-dir " + dir.file("b"));
  EXPECT_EQ(no_evals.exit_code, 2) << no_evals.output;
  EXPECT_NE(no_evals.output.find("train.eval_every"), std::string::npos) << no_evals.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("a/checkpoint.pt")));
}

namespace {

results::RunRecord record_with_gradcam(const std::string& method) {
  results::RunRecord r;
  r.run_id = method + "0";
  r.config_yaml = "method:\n  name: " + method + "\neval:\n  explain: predicted\n";
  r.text["method"] = method;
  r.curves.epoch = {1, 2, 3};
  r.curves.series["train_loss"] = {0.9, 0.5, 0.4};
  results::SplitResult s;
  s.split = "test";
  s.label = {0, 1, 1, 0};
  s.pred = {0, 1, 0, 0};
  s.group = {0, 1, 1, 0};
  s.group_names = {"a", "b"};
  fill_group_metrics(s, 2);
  s.per_sample["epg_gradcam"] = {0.5f, 0.25f, NAN, 1.0f};
  s.scalars["epg_gradcam"] = 0.5833;
  fill_group_epg(s, 2);
  r.splits.push_back(s);
  return r;
}

}  // namespace

TEST(Protocol, GroupEpgRoundTripsAndVersionOneFilesReadAsVersionTwo) {
  test::TempDir dir;
  auto rec = record_with_gradcam("aim");
  results::write_run_file(dir.file("v2.h5"), rec);
  auto back = results::read_run_file(dir.file("v2.h5"));
  ASSERT_EQ(back.splits.size(), 1u);
  EXPECT_EQ(back.splits[0].group_means.at("epg_gradcam"), (std::vector<double>{0.75, 0.25}));
  EXPECT_DOUBLE_EQ(back.splits[0].scalars.at("worst_group_epg_gradcam"), 0.25);
  EXPECT_TRUE(back.splits[0].scalars.count("epg_gradcam"));  // v2: read as written
  // The same file marked version 1: AIM's gradcam was the backbone's, and only that.
  for (std::string method : {"aim", "vanilla"}) {
    const auto path = dir.file(method + "_v1.h5");
    results::write_run_file(path, record_with_gradcam(method));
    {
      auto f = h5::open_file(path, /*writable=*/true);
      f.removeAttr("schema_version");
      h5::set_attr(f, "schema_version", int64_t(1));
      f.removeAttr("content_crc32");  // version-1 files were written before content checksums
    }
    auto v1 = results::read_run_file(path);
    const auto& s = v1.splits.at(0);
    EXPECT_DOUBLE_EQ(s.scalars.at("epg_gradcam_backbone"), 0.5833) << method;
    EXPECT_EQ(s.per_sample.count("epg_gradcam_backbone"), 1u) << method;
    EXPECT_EQ(s.scalars.count("epg_gradcam"), method == "aim" ? 0u : 1u) << method;
    EXPECT_EQ(v1.text.at("explain"), "predicted") << method;
    EXPECT_EQ(v1.text.at("select"), "last") << method;
    EXPECT_EQ(v1.numbers.at("selected_epoch"), 3.0) << method;
  }
}
