// End to end: a short run learns, and its result file agrees with itself.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <numeric>
#include <thread>
#include <chrono>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/files.h"
#include "core/h5.h"
#include "core/version.h"
#include "data/registry.h"

#include "results/run_file.h"
#include "runner/comm/communicator.h"
#include "runner/schema.h"
#include "runner/trainer.h"
#include "run_compare.h"
#include "test_util.h"

using namespace aim;

namespace {

const char* kSmallRun =
    "dataset: {train_size: 3000, val_size: 500, test_size: 1000, correlation: 0.5}\n"
    "train: {epochs: 4, batch_size: 64, lr: 0.05, log_every: 0}\n"
    "model: {width: 8}\n";

// The test images the result file kept (RGB, uint8: exactly the dataset's pixels) written
// as PNG files: `predict --images` must prepare them as evaluation did, giving the same
// predictions and the same softmax confidence.
void expect_folder_predictions_match_evaluation(test::TempDir& dir, const std::string& run_dir,
                                                const results::SplitResult& test) {
  const auto& kept = test.kept;
  ASSERT_FALSE(kept.empty());
  const int h = int(kept.height), w = int(kept.width);
  for (size_t i = 0; i < kept.index.size(); ++i) {
    cv::Mat rgb(h, w, CV_8UC3), bgr;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          rgb.at<cv::Vec3b>(y, x)[c] = kept.images[((i * 3 + size_t(c)) * size_t(h) + size_t(y)) * size_t(w) + size_t(x)];
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    char name[32];
    std::snprintf(name, sizeof name, "img_%03zu.png", i);
    std::filesystem::create_directories(dir.file("png"));
    ASSERT_TRUE(cv::imwrite(dir.file("png/") + name, bgr));
  }
  auto out = test::run_command(test::aimrun() + " predict --run " + run_dir + " --images " + dir.file("png") +
                               " --out " + dir.file("pred_png.h5"));
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto f = h5::open_file(dir.file("pred_png.h5"));
  auto pred = h5::read<int64_t>(f, "pred");
  std::vector<hsize_t> dims;
  auto logits = h5::read<float>(f, "logits", &dims);
  ASSERT_EQ(pred.size(), kept.index.size());
  auto probs = torch::softmax(torch::from_blob(logits.data(), {int64_t(dims[0]), int64_t(dims[1])}), 1).amax(1);
  for (size_t i = 0; i < pred.size(); ++i) {
    const auto k = size_t(kept.index[i]);
    EXPECT_EQ(pred[i], test.pred[k]) << i;
    EXPECT_NEAR(probs[int64_t(i)].item<float>(), test.per_sample.at("confidence")[k], 1e-5) << i;
  }
}

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
  // The recorded code version is the binary's (generated at build time: cmake/version.cmake,
  // tested in Version.GeneratedAtEveryBuildAndRewrittenOnlyWhenItChanges).
  EXPECT_EQ(r.text.at("aimrun_version"), std::string(aimrun_version()));
  EXPECT_FALSE(r.text.at("aimrun_version").empty());
}

TEST(Training, AimMasksFollowTheAnnealedTargetAndPredictAgreesWithEvaluation) {
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("a.yaml", kSmallRun),
                             {"output_dir=" + dir.path(), "method.name=aim", "method.target=0.5",
                              "method.anneal_fraction=0.5", "train.epochs=4", "dataset.test_size=300"});
  auto comm = comm::make_local_communicator();
  RunPaths paths{dir.path() + "/run"};
  std::filesystem::create_directories(paths.dir);
  write_text_atomic(paths.config(), cfg.to_yaml());
  ASSERT_EQ(train_run(cfg, paths, *comm, {}), TrainOutcome::Completed);
  auto r = results::read_run_file(paths.result());
  ASSERT_EQ(r.mask_curves.size(), 2u);
  for (const auto& m : r.mask_curves) {
    EXPECT_TRUE(m.stage == 2 || m.stage == 3);
    // 1.0 in epoch 0, the target from epoch 1 (window of round(0.5 * 4) = 2 epochs).
    EXPECT_EQ(m.target, (std::vector<double>{1.0, 0.5, 0.5, 0.5}));
    EXPECT_NEAR(m.active_mean.back(), 0.5, 0.15) << "stage " << m.stage;
    EXPECT_EQ(m.histogram.size(), size_t(4 * m.bins));
  }
  const results::SplitResult* test = nullptr;
  for (const auto& s : r.splits)
    if (s.split == "test") test = &s;
  ASSERT_TRUE(test);
  ASSERT_TRUE(test->scalars.count("mask_area"));
  ASSERT_TRUE(test->per_sample.count("mask_area_stage_3"));

  // EPG recomputed by an independent script from the maps stored in the file.
  ASSERT_FALSE(test->kept.empty());
  EXPECT_EQ(test->kept.maps.size(), 6u);  // gradcam, gradcam_backbone, ixg, mask, mask_stage_3, mask_stage_2
  auto check = test::run_command("/usr/bin/python3 " AIM_SOURCE_DIR "/scripts/recompute_epg.py " + paths.result());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_TRUE(std::filesystem::exists(paths.dir + "/pictures/test_least_confident.png"));
  for (const std::string k : {"epg_gradcam", "epg_gradcam_backbone", "epg_ixg", "epg_mask", "mask_confidence",
                              "worst_group_epg_gradcam", "worst_group_epg_mask"}) {
    ASSERT_TRUE(test->scalars.count(k)) << k;
    EXPECT_GE(test->scalars.at(k), 0.0);
    EXPECT_LE(test->scalars.at(k), 1.0);
  }

  // The test images, normalised, into an HDF5 file; predict must agree with evaluation.
  auto splits = data::make_datasets(cfg);
  const auto& ds = splits.at("test");
  std::vector<int64_t> idx(ds.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto images = ds.get_batch(idx, std::nullopt).images.contiguous();
  {
    auto f = h5::create_file(dir.file("images.h5"));
    h5::write_raw(f, "images", h5::Dtype::f32, images.data_ptr(), h5::Dtype::f32,
                  {hsize_t(images.size(0)), 3, hsize_t(images.size(2)), hsize_t(images.size(3))});
  }
  auto out = test::run_command(test::aimrun() + " predict --run " + paths.dir + " --h5 " + dir.file("images.h5") +
                               " --out " + dir.file("pred.h5"));
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto f = h5::open_file(dir.file("pred.h5"));
  EXPECT_EQ(h5::read<int64_t>(f, "pred"), test->pred);
  std::vector<hsize_t> dims;
  auto merged = h5::read<uint8_t>(f, "merged_mask", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{300, 8, 8}));
  auto stage3 = h5::read<uint8_t>(f, "masks/stage_3", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{300, 4, 4}));
  // The merged mask's area per sample is what evaluation stored.
  const auto& area = test->per_sample.at("mask_area");
  for (size_t i = 0; i < 300; ++i) {
    double a = 0;
    for (size_t k = 0; k < 64; ++k) a += merged[i * 64 + k];
    EXPECT_NEAR(a / 64.0, area[i], 1e-6) << i;
  }
  expect_folder_predictions_match_evaluation(dir, paths.dir, *test);
}

// train.accumulate_steps is part of a run's identity except at its default (1), so runs
// made before the key existed keep their ids; a run with accumulation stopped between two
// optimiser steps resumes to exactly the numbers of its uninterrupted twin.
TEST(AccumulationIdentity, IdentityAndResumeMidEpoch) {
  test::TempDir dir;
  auto cfg = dir.write("c.yaml", test::small_run_config(dir.file("out"), 1));
  {  // dataset.train_size: 1024 (a dotted key beside `dataset: {...}` is a duplicate key)
    auto text = read_text(cfg);
    text.replace(text.find("train_size: 3000"), 16, "train_size: 1024");
    write_text_atomic(cfg, text);
  }
  auto id = [&](const std::string& override_text) {
    std::vector<std::string> o;
    if (!override_text.empty()) o.push_back(override_text);
    return load_run_config(cfg, o).run_id();
  };
  EXPECT_EQ(id(""), id("train.accumulate_steps=1"));
  EXPECT_NE(id(""), id("train.accumulate_steps=2"));
  EXPECT_NE(id("train.accumulate_steps=2"), id("train.accumulate_steps=4"));
  auto bad = test::run_command(test::aimrun() + " train " + cfg + " train.accumulate_steps=0");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("train.accumulate_steps"), std::string::npos) << bad.output;
  auto big = test::run_command(test::aimrun() + " train " + cfg + " train.accumulate_steps=17");
  EXPECT_EQ(big.exit_code, 2) << "64 x 17 > 1024 samples: " << big.output;
  EXPECT_NE(big.output.find("train.accumulate_steps = 1088"), std::string::npos) << big.output;

  const std::string acc = " train.batch_size=32 train.accumulate_steps=4";  // 8 optimiser steps an epoch
  auto twin = test::run_command(test::aimrun() + " train " + cfg + acc + " --run-dir " + dir.file("twin"));
  ASSERT_EQ(twin.exit_code, 0) << twin.output;
  auto first = test::run_command("AIMRUN_FAULT=rank=0,step=3,kind=stop " + test::aimrun() + " train " + cfg + acc +
                                 " --run-dir " + dir.file("run"));
  ASSERT_EQ(first.exit_code, 75) << first.output;
  EXPECT_NE(first.output.find("epoch 1 step 4"), std::string::npos) << "stopped after optimiser step 4: " << first.output;
  auto second = test::run_command(test::aimrun() + " train " + cfg + acc + " --run-dir " + dir.file("run"));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  test::expect_same_results(dir.file("twin/result.h5"), dir.file("run/result.h5"));
  EXPECT_EQ(results::read_run_file(dir.file("run/result.h5")).numbers.at("global_batch"), 128);
}

// cmake/version.cmake, as the build runs it: the version file holds `git describe` of the
// checkout, follows a new commit, and is not rewritten when nothing changed (so a commit
// recompiles that one file, and a build without changes recompiles nothing).
TEST(Version, GeneratedAtEveryBuildAndRewrittenOnlyWhenItChanges) {
  test::TempDir dir;
  const std::string repo = dir.file("repo"), out = dir.file("version.cpp");
  auto sh = [&](const std::string& cmd) { return test::run_command(cmd); };
  ASSERT_EQ(sh("git init -q " + repo + " && cd " + repo + " && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m one").exit_code, 0);
  const std::string gen = "cmake -DSRC=" + repo + " -DOUT=" + out + " -P " AIM_SOURCE_DIR "/cmake/version.cmake";
  auto head = [&] {
    auto r = sh("git -C " + repo + " rev-parse --short HEAD");
    std::string h = r.output;
    while (!h.empty() && (h.back() == '\n' || h.back() == ' ')) h.pop_back();
    return h;
  };
  ASSERT_EQ(sh(gen).exit_code, 0);
  const std::string first = head();
  EXPECT_NE(read_text(out).find("\"" + first), std::string::npos) << read_text(out);
  const auto stamp = std::filesystem::last_write_time(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(sh(gen).exit_code, 0);
  EXPECT_EQ(std::filesystem::last_write_time(out), stamp) << "rewritten without a change";
  ASSERT_EQ(sh("cd " + repo + " && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m two").exit_code, 0);
  ASSERT_EQ(sh(gen).exit_code, 0);
  const std::string second = head();
  ASSERT_NE(first, second);
  EXPECT_NE(read_text(out).find("\"" + second), std::string::npos) << read_text(out);
}

// eval.keep_maps_mib: the kept samples (image, ground truth, every map) of a split stay within
// their budget, the first ones kept; a budget they fit in keeps eval.keep_maps of them.
TEST(Training, KeptSamplesStayWithinTheirBudget) {
  test::TempDir dir;
  const std::string run =
      "dataset: {train_size: 256, val_size: 100, test_size: 100}\n"
      "train: {epochs: 1, batch_size: 64, log_every: 0}\n"
      "model: {width: 8}\n"
      "method: {name: aim}\n"
      "eval: {attributions: [gradcam, ixg, mask], keep_maps: 64, pictures: 0}\n";
  auto comm = comm::make_local_communicator();
  for (const double mib : {0.05, 100.0}) {
    auto cfg = load_run_config(dir.write("a.yaml", run),
                               {"output_dir=" + dir.path(), "eval.keep_maps_mib=" + std::to_string(mib)});
    RunPaths paths{dir.path() + "/run" + std::to_string(int(mib))};
    std::filesystem::create_directories(paths.dir);
    ASSERT_EQ(train_run(cfg, paths, *comm, {}), TrainOutcome::Completed);
    for (const auto& s : results::read_run_file(paths.result()).splits) {
      const auto& k = s.kept;
      ASSERT_FALSE(k.empty()) << s.split;
      const int64_t n = int64_t(k.index.size());
      int64_t bytes = int64_t(k.images.size() + k.regions.size());
      for (const auto& [name, m] : k.maps) bytes += int64_t(m.half.size()) * 2;
      const int64_t per_sample = bytes / n, budget = int64_t(mib * 1024 * 1024);
      if (mib < 1) {  // as many as fit, the first ones
        EXPECT_EQ(n, budget / per_sample) << s.split;
        EXPECT_LT(n, 64);
      } else {
        EXPECT_EQ(n, 64) << s.split;
      }
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(k.index[size_t(i)], i);
      EXPECT_GE(k.maps.size(), 3u);  // the mask also per stage
    }
  }
  // Not part of the run's identity: the same run id whatever the budget.
  EXPECT_EQ(load_run_config(dir.file("a.yaml"), {"output_dir=" + dir.path(), "eval.keep_maps_mib=1"}).run_id(),
            load_run_config(dir.file("a.yaml"), {"output_dir=" + dir.path()}).run_id());
}
