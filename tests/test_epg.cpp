// Energy Pointing Game: known answers on hand-built maps, and agreement with an independent
// numpy implementation (scripts/recompute_epg.py) on random maps and regions, including
// boxes touching the border and empty maps. Plus the attribution methods' basic contracts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "aim/attribution.h"
#include "aim/metrics.h"
#include "aim/registry.h"
#include "core/h5.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;
using namespace aim::model;

namespace {

torch::Tensor box_region(int64_t h, int64_t w, int x0, int y0, int x1, int y1) {
  auto r = torch::zeros({h, w}, torch::kUInt8);
  r.slice(0, y0, y1).slice(1, x0, x1).fill_(1);
  return r;
}

}  // namespace

TEST(Epg, KnownAnswers) {
  auto region = box_region(8, 8, 2, 2, 6, 6).unsqueeze(0);  // 16 of 64 pixels
  // The region itself as the map: all energy inside.
  EXPECT_DOUBLE_EQ(energy_pointing_game(region.to(torch::kFloat), region).item<double>(), 1.0);
  // A uniform map (any resolution, bilinear keeps it uniform): the region's area fraction.
  EXPECT_NEAR(energy_pointing_game(torch::ones({1, 3, 5}), region).item<double>(), 16.0 / 64.0, 1e-12);
  // Nothing, or only negative evidence: EPG 0, not NaN.
  EXPECT_EQ(energy_pointing_game(torch::zeros({1, 4, 4}), region).item<double>(), 0.0);
  EXPECT_EQ(energy_pointing_game(-torch::ones({1, 4, 4}), region).item<double>(), 0.0);
  // Negative values are clipped before normalising: the positive part alone counts.
  auto map = torch::zeros({1, 8, 8});
  map[0][3][3] = 2.0;   // inside
  map[0][0][0] = 1.0;   // outside
  map[0][0][7] = -5.0;  // negative, ignored
  EXPECT_NEAR(energy_pointing_game(map, region).item<double>(), 2.0 / 3.0, 1e-12);
  // An empty region gets 0 for any map.
  EXPECT_EQ(energy_pointing_game(torch::ones({1, 2, 2}), torch::zeros({1, 8, 8}, torch::kUInt8)).item<double>(), 0.0);
}

TEST(Epg, BilinearUpsamplingUsesHalfPixelCentres) {
  // A 2x2 map [[1,0],[0,0]] upsampled to 4x4 with align_corners=False puts weights
  // 1, .75, .25, 0 along each axis from the hot corner: the top-left 2x2 block of the
  // 4x4 image holds (1 + .75 + .75 + .5625) of the 4x4 total 4.
  auto map = torch::zeros({1, 2, 2});
  map[0][0][0] = 1.0;
  auto region = box_region(4, 4, 0, 0, 2, 2).unsqueeze(0);  // touches the border
  double inside = 1 + 0.75 + 0.75 + 0.5625;
  EXPECT_NEAR(energy_pointing_game(map, region).item<double>(), inside / 4.0, 1e-12);
}

TEST(Epg, AgreesWithIndependentNumpyImplementation) {
  test::TempDir dir;
  torch::manual_seed(7);
  const int64_t n = 60, H = 32, W = 48;
  // Maps at several resolutions, some all-zero, some all-negative, regions of every kind.
  std::vector<std::pair<int64_t, int64_t>> sizes = {{4, 6}, {8, 8}, {7, 5}, {32, 48}};
  for (auto [h, w] : sizes) {
    auto maps = torch::randn({n, h, w});
    maps[0].zero_();
    maps[1] = -maps[1].abs() - 0.1;
    auto regions = torch::zeros({n, H, W}, torch::kUInt8);
    for (int64_t i = 0; i < n; ++i) {
      switch (i % 4) {
        case 0: regions[i] = box_region(H, W, 0, 0, 10, 7); break;          // touches top-left border
        case 1: regions[i] = box_region(H, W, 30, 20, W, H); break;         // touches bottom-right border
        case 2: regions[i] = torch::rand({H, W}).gt(0.7).to(torch::kUInt8); break;  // a ragged segmentation
        default: regions[i] = box_region(H, W, 0, 0, W, H); break;          // everything
      }
    }
    {
      auto f = h5::create_file(dir.file("in.h5"));
      auto m = maps.contiguous();
      auto r = regions.contiguous();
      h5::write_raw(f, "maps", h5::Dtype::f32, m.data_ptr(), h5::Dtype::f32, {hsize_t(n), hsize_t(h), hsize_t(w)});
      h5::write_raw(f, "regions", h5::Dtype::u8, r.data_ptr(), h5::Dtype::u8, {hsize_t(n), hsize_t(H), hsize_t(W)});
    }
    auto res = test::run_command("/usr/bin/python3 " AIM_SOURCE_DIR "/scripts/recompute_epg.py --maps " + dir.file("in.h5") +
                                 " " + dir.file("out.h5"));
    ASSERT_EQ(res.exit_code, 0) << res.output;
    auto expected = h5::read<double>(h5::open_file(dir.file("out.h5")), "epg");
    auto ours = energy_pointing_game(maps, regions);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(ours[i].item<double>(), expected[i], 1e-9) << h << "x" << w << " #" << i;
    EXPECT_EQ(ours[0].item<double>(), 0.0);
    EXPECT_EQ(ours[1].item<double>(), 0.0);
  }
}

TEST(MaskConfidence, MarginAndIou) {
  // Logits far apart -> margin near 1; equal logits -> 0.
  auto certain = torch::zeros({1, 2, 2, 2});
  certain.select(1, 0).fill_(20.0);
  auto unsure = torch::zeros({1, 2, 2, 2});
  EXPECT_NEAR(mask_margin({certain}).item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(mask_margin({unsure}).item<float>(), 0.0f, 1e-6);
  // Two stages: the mean over all their locations (4 certain + 16 unsure).
  EXPECT_NEAR(mask_margin({certain, torch::zeros({1, 2, 4, 4})}).item<float>(), 4.0f / 20.0f, 1e-6);
  auto a = torch::tensor({1, 1, 0, 0}).view({1, 4});
  auto b = torch::tensor({1, 0, 1, 0}).view({1, 4});
  EXPECT_NEAR(mask_iou(a, b).item<float>(), 1.0f / 3.0f, 1e-6);
  EXPECT_EQ(mask_iou(torch::zeros({1, 4}), torch::zeros({1, 4})).item<float>(), 1.0f);
}

TEST(Attribution, MethodsExplainTheRequestedClassAtTheirResolution) {
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("c.yaml", "model: {width: 8}\nmethod: {name: aim, stages: 2}\n"), {});
  torch::manual_seed(0);
  auto model = make_model(cfg, 3);
  model->eval();
  auto attributions = make_attributions({"gradcam", "ixg", "mask", "gradcam_backbone"}, *model);
  std::vector<std::string> names;
  for (const auto& a : attributions) names.push_back(a->name());
  EXPECT_EQ(names, (std::vector<std::string>{"gradcam", "ixg", "mask", "mask_stage_3", "mask_stage_2", "gradcam_backbone"}));
  auto images = torch::randn({2, 3, 64, 64});
  auto e = explain_batch(*model, images, torch::tensor({2, 0}, torch::kLong), true);
  EXPECT_EQ(e.targets[0].item<int64_t>(), 2);
  EXPECT_EQ(attributions[0]->explain(e).sizes(), (std::vector<int64_t>{2, 8, 8}));   // AIM's decision map: finest masked stage
  EXPECT_EQ(attributions[1]->explain(e).sizes(), (std::vector<int64_t>{2, 64, 64})); // the input
  EXPECT_EQ(attributions[2]->explain(e).sizes(), (std::vector<int64_t>{2, 8, 8}));   // finest mask
  EXPECT_EQ(attributions[5]->explain(e).sizes(), (std::vector<int64_t>{2, 4, 4}));   // last backbone stage of 64x64
  // Input x Gradient is exactly input * d(target logit)/d(input), summed over channels.
  auto x = images.clone().requires_grad_(true);
  auto out = model->forward(x);
  out.logits.gather(1, torch::tensor({2, 0}, torch::kLong).unsqueeze(1)).sum().backward();
  EXPECT_TRUE(torch::allclose(attributions[1]->explain(e), (images * x.grad()).sum(1), 1e-5, 1e-6));
  // A vanilla model has no mask attribution.
  auto vanilla = make_model(load_run_config(dir.file("c.yaml"), {"method.name=vanilla"}), 3);
  EXPECT_EQ(make_attributions({"gradcam", "mask"}, *vanilla).size(), 1u);
  EXPECT_THROW(make_attributions({"lime"}, *vanilla), std::invalid_argument);
}
