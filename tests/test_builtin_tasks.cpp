// The built-in dataset's pretraining task and its `ood` split (docs/datasets-builtin.md):
// which garments and which place families each uses, class-independent backgrounds in
// pretraining, balanced ood groups, and the fine-tuning task left exactly as it was.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <opencv2/core.hpp>
#include <set>

#include "core/hash.h"
#include "core/random.h"
#include "data/builtin/fashion_places.h"
#include "data/builtin/places.h"
#include "data/idx_reader.h"
#include "data/registry.h"
#include "results/run_file.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;
using namespace aim::data;

namespace {

FashionPlacesOptions small(const std::string& classes = "binary") {
  FashionPlacesOptions o;
  o.classes = classes;
  o.train_size = 6000;
  o.val_size = 500;
  o.test_size = 2000;
  o.seed = 3;
  o.pretrain_size = 3000;
  o.pretrain_val_size = 600;
  o.ood_size = 1000;
  return o;
}

std::set<int64_t> as_set(const at::Tensor& t) {
  auto c = t.contiguous();
  return std::set<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// The family index of each place name (places.h), independently of the generators.
int family_of(const std::string& name) {
  for (int f = 0; f < kNumPlaceFamilies; ++f)
    if (place_name(f) == name) return f;
  return -1;
}

std::set<int> families_of(const FashionPlaces& d) {
  std::set<int> out;
  for (const auto& n : d.place_names) out.insert(family_of(n));
  return out;
}

// Redraws sample i's background (the first thing drawn from its RNG) with family `family`:
// the fraction of the image's pixels outside the garment region that it reproduces.
double background_match(const PackedSplit& s, int64_t i, uint64_t split_seed, int family, int64_t canvas) {
  Rng rng(mix_seed(split_seed, uint64_t(i)));
  cv::Mat bg(static_cast<int>(canvas), static_cast<int>(canvas), CV_8UC3);
  draw_place(family, rng, bg);
  auto img = s.images[i].permute({1, 2, 0}).contiguous();
  auto same = img.eq(torch::from_blob(bg.data, {canvas, canvas, 3}, torch::kUInt8)).all(2);
  auto outside = s.regions[i].eq(0);
  return same.masked_select(outside).to(torch::kDouble).mean().item<double>();
}

// As background_match, with the redrawn background's channels in order `order` (0-5, the
// lexicographic permutations of RGB: output channel k takes channel perm[k]).
double background_match(const PackedSplit& s, int64_t i, uint64_t split_seed, int family, int64_t canvas, int order) {
  Rng rng(mix_seed(split_seed, uint64_t(i)));
  cv::Mat bg(static_cast<int>(canvas), static_cast<int>(canvas), CV_8UC3);
  draw_place(family, rng, bg);
  std::array<int64_t, 3> perm = {0, 1, 2};
  for (int k = 0; k < order; ++k) std::next_permutation(perm.begin(), perm.end());
  auto drawn = torch::from_blob(bg.data, {canvas, canvas, 3}, torch::kUInt8)
                   .index_select(2, torch::tensor(std::vector<int64_t>(perm.begin(), perm.end())));
  auto img = s.images[i].permute({1, 2, 0}).contiguous();
  auto same = img.eq(drawn).all(2);
  return same.masked_select(s.regions[i].eq(0)).to(torch::kDouble).mean().item<double>();
}

std::set<int> range_set(int first, int last) {
  std::set<int> out;
  for (int f = first; f <= last; ++f) out.insert(f);
  return out;
}

}  // namespace

// Pretraining never sees a garment of the fine-tuning task's train, val or test split, nor a
// place family of the fine-tuning task (any dataset.classes) or of the ood split.
TEST(BuiltinTasks, PretrainingGarmentsAndPlacesAreDisjointFromFinetuningAndOod) {
  for (const std::string classes : {"binary", "all"}) {
    auto o = small(classes);
    auto ft = generate_fashion_places(o);
    auto pre = generate_pretrain_places(o);
    auto ood = generate_ood_places(o);
    const auto pre_train = as_set(pre.splits["train"].source_index), pre_val = as_set(pre.splits["val"].source_index);
    EXPECT_EQ(pre_train.size(), 3000u);
    EXPECT_EQ(pre_val.size(), 600u);
    for (auto i : pre_val) EXPECT_FALSE(pre_train.count(i)) << "pretraining val and train share garment " << i;
    for (const std::string split : {"train", "val"})
      for (auto i : as_set(ft.splits[split].source_index)) {
        EXPECT_FALSE(pre_train.count(i)) << classes << ": fine-tuning " << split << " garment " << i
                                         << " in pretraining";
        EXPECT_FALSE(pre_val.count(i)) << classes << ": fine-tuning " << split << " garment " << i;
      }
    // Pretraining reads Fashion-MNIST train only: its labels are that file's at its indices
    // (the test file is never opened; its garments are the fine-tuning test's and ood's).
    const std::string file = o.source_dir + "/train-labels-idx1-ubyte";
    auto labels = read_idx(std::filesystem::exists(file) ? file : file + ".gz");
    for (const std::string split : {"train", "val"}) {
      const auto& s = pre.splits[split];
      for (int64_t k = 0; k < s.labels.size(0); ++k)
        ASSERT_EQ(s.labels[k].item<int64_t>(), int64_t(labels.data[size_t(s.source_index[k].item<int64_t>())]));
    }
    EXPECT_EQ(pre.class_names.size(), 10u);
    // Place families: fine-tuning 0-9 (all of them with classes: all), pretraining 10-15, ood 16-17.
    const auto ft_all = families_of(generate_fashion_places(small("all")));
    const auto pre_f = families_of(pre), ood_f = families_of(ood), ft_f = families_of(ft);
    EXPECT_EQ(pre_f, (std::set<int>{10, 11, 12, 13, 14, 15}));
    EXPECT_EQ(ood_f, (std::set<int>{16, 17}));
    for (int f : pre_f) EXPECT_FALSE(ft_all.count(f) || ood_f.count(f)) << f;
    for (int f : ood_f) EXPECT_FALSE(ft_all.count(f) || ft_f.count(f)) << f;
    // The recorded place is the background drawn: redrawn with its family it matches outside
    // the garment (the fine-tuning families do not).
    for (int64_t i = 0; i < 10; ++i) {
      const auto& s = pre.splits["train"];
      const int f = kPretrainFirstFamily + int(s.places[i].item<int64_t>());
      const auto seed = fashion_places_split_seed(o.seed, "pretrain/train");
      EXPECT_GT(background_match(s, i, seed, f, o.canvas), 0.7) << i;  // soft garment edges lie outside the region
      EXPECT_LT(background_match(s, i, seed, int(i % 10), o.canvas), 0.5) << i;
    }
  }
}

// In pretraining the background says nothing about the class: every class is spread alike
// over the six families in train (counts near uniform), exactly evenly in val; classes are
// balanced.
TEST(BuiltinTasks, PretrainingBackgroundIsIndependentOfTheClass) {
  auto o = small();
  o.pretrain_size = 6000;
  auto pre = generate_pretrain_places(o);
  const auto& t = pre.splits["train"];
  auto table = torch::zeros({10, kPretrainFamilies}, torch::kLong);
  for (int64_t i = 0; i < t.labels.size(0); ++i) table[t.labels[i].item<int64_t>()][t.places[i].item<int64_t>()] += 1;
  EXPECT_TRUE(torch::equal(table.sum(1), torch::full({10}, 600, torch::kLong))) << table;
  // 100 expected per cell; binomial sd ~ 9.1: 4.5 sd.
  EXPECT_LT((table - 100).abs().max().item<int64_t>(), 41) << table;
  // Chi-square of independence with 45 degrees of freedom: p < 1e-4 beyond 86.
  double chi2 = ((table.to(torch::kDouble) - 100).pow(2) / 100).sum().item<double>();
  EXPECT_LT(chi2, 86.0) << table;
  const auto& v = pre.splits["val"];
  for (int64_t c = 0; c < 10; ++c) {
    auto counts = torch::bincount(v.places.masked_select(v.labels.eq(c)), {}, kPretrainFamilies);
    EXPECT_LE((counts.max() - counts.min()).item<int64_t>(), 1) << c << " " << counts;
  }
  EXPECT_TRUE(torch::equal(t.groups, t.labels * kPretrainFamilies + t.places));
}

// ood: the test split's first garments, on the two ood families, balanced over (class, place).
TEST(BuiltinTasks, OodIsTheTestGarmentsOnNewPlacesBalanced) {
  for (const std::string classes : {"binary", "all"}) {
    auto o = small(classes);
    auto ft = generate_fashion_places(o);
    auto ood = generate_ood_places(o);
    const auto& s = ood.splits["ood"];
    ASSERT_EQ(s.labels.size(0), 1000);
    EXPECT_TRUE(torch::equal(s.source_index, ft.splits["test"].source_index.slice(0, 0, 1000)));
    EXPECT_TRUE(torch::equal(s.labels, ft.splits["test"].labels.slice(0, 0, 1000)));
    EXPECT_EQ(ood.class_names, ft.class_names);
    EXPECT_EQ(ood.group_names().size(), ft.class_names.size() * 2);
    for (int64_t c = 0; c < int64_t(ood.class_names.size()); ++c) {
      auto counts = torch::bincount(s.places.masked_select(s.labels.eq(c)), {}, kOodFamilies);
      EXPECT_LE((counts.max() - counts.min()).item<int64_t>(), 1) << classes << " class " << c << " " << counts;
      EXPECT_GT(counts.min().item<int64_t>(), 0);
    }
    EXPECT_TRUE(torch::equal(s.groups, s.labels * kOodFamilies + s.places));
    const auto seed = fashion_places_split_seed(o.seed, "ood");
    for (int64_t i = 0; i < 5; ++i)
      EXPECT_GT(background_match(s, i, seed, kOodFirstFamily + int(s.places[i].item<int64_t>()), o.canvas), 0.7) << i;
  }
}

TEST(BuiltinTasks, SameOptionsSameDataOtherSeedOtherData) {
  auto o = small();
  auto a = generate_pretrain_places(o), b = generate_pretrain_places(o);
  auto x = generate_ood_places(o), y = generate_ood_places(o);
  EXPECT_TRUE(torch::equal(a.splits["train"].images, b.splits["train"].images));
  EXPECT_TRUE(torch::equal(a.splits["val"].places, b.splits["val"].places));
  EXPECT_TRUE(torch::equal(x.splits["ood"].images, y.splits["ood"].images));
  o.seed = 4;
  EXPECT_FALSE(torch::equal(a.splits["train"].source_index, generate_pretrain_places(o).splits["train"].source_index));
  EXPECT_FALSE(torch::equal(x.splits["ood"].images, generate_ood_places(o).splits["ood"].images));
}

// The fine-tuning task is what it was before the pretraining task and ood existed: the same
// cache key (so cached files stay valid), the same run ids with the new keys at their
// defaults, and the same pixels (a digest of the images generated before this change, in a
// cache file made by the earlier generator and compared array by array).
TEST(BuiltinTasks, FinetuningDataIdsAndCacheKeysAreUnchanged) {
  FashionPlacesOptions o;
  EXPECT_EQ(o.cache_key(),
            "fashion-places v1 canvas=64 classes=binary correlation=0.95 scale=0.4,0.65 "
            "sizes=-1,2000,-1 seed=0");
  test::TempDir dir;
  auto config = dir.write("c.yaml", test::small_run_config(dir.path(), 1));
  const auto id = load_run_config(config, {}).run_id();
  EXPECT_EQ(id, load_run_config(config, {"dataset.task=finetune", "dataset.ood_size=0"}).run_id());
  EXPECT_NE(id, load_run_config(config, {"dataset.ood_size=100"}).run_id());
  EXPECT_NE(id, load_run_config(config, {"dataset.task=pretrain"}).run_id());
  // Weighted sums of every split's pixels, places and garment indices, computed with numpy
  // from a cache file the generator wrote before the pretraining task and ood existed.
  o.train_size = 2000, o.val_size = 500, o.test_size = 1000;
  EXPECT_EQ(o.cache_key(),
            "fashion-places v1 canvas=64 classes=binary correlation=0.95 scale=0.4,0.65 "
            "sizes=2000,500,1000 seed=0");
  auto d = generate_fashion_places(o);
  const std::map<std::string, std::array<int64_t, 3>> before = {{"train", {12002016882582, 842, 60701160}},
                                                                {"val", {2983120210194, 250, 15178058}},
                                                                {"test", {6009552604420, 500, 4896903}}};
  for (const auto& [split, sums] : before) {
    const auto& s = d.splits.at(split);
    auto pixels = s.images.reshape({-1}).to(torch::kLong);
    auto weights = torch::arange(pixels.numel(), torch::kLong).remainder(9973) + 1;
    EXPECT_EQ((pixels * weights).sum().item<int64_t>(), sums[0]) << split;
    EXPECT_EQ(s.places.sum().item<int64_t>(), sums[1]) << split;
    EXPECT_EQ(s.source_index.sum().item<int64_t>(), sums[2]) << split;
  }
}

// Layouts and a real run: the pretraining task has train and val only (val evaluated); a
// fine-tuning run with dataset.ood_size evaluates ood like test, with the ood places' groups.
TEST(BuiltinTasks, LayoutsAndTrainedRunsHaveTheirSplits) {
  test::TempDir dir;
  auto config =
      dir.write("c.yaml", "output_dir: " + dir.path() +
                              "\ndataset: {train_size: 256, val_size: 64, test_size: 128, pretrain_size: 200, "
                              "pretrain_val_size: 50}\nmodel: {width: 4}\ntrain: {epochs: 1, batch_size: 50, "
                              "log_every: 0}\neval: {attributions: [gradcam], keep_maps: 0, pictures: 0}\n");
  auto pre = dataset_layout(load_run_config(config, {"dataset.task=pretrain"}));
  EXPECT_EQ(pre.split_sizes, (std::map<std::string, int64_t>{{"train", 200}, {"val", 50}}));
  EXPECT_EQ(pre.eval_splits, (std::vector<std::string>{"val"}));
  auto ft = dataset_layout(load_run_config(config, {"dataset.ood_size=100"}));
  EXPECT_EQ(ft.split_sizes.at("ood"), 100);
  EXPECT_EQ(ft.eval_splits, (std::vector<std::string>{"val", "test", "ood"}));
  EXPECT_EQ(dataset_layout(load_run_config(config, {})).split_sizes.count("ood"), 0u);

  auto bad =
      test::run_command(test::aimrun() + " train " + config + " dataset.task=pretrain dataset.pretrain_size=99999");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("dataset.pretrain_size"), std::string::npos) << bad.output;
  bad = test::run_command(test::aimrun() + " train " + config + " dataset.task=pretrain dataset.ood_size=10");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("dataset.ood_size"), std::string::npos) << bad.output;

  auto env = "AIMRUN_CACHE=" + dir.file("cache") + " ";
  auto r = test::run_command(env + test::aimrun() + " train " + config + " dataset.ood_size=100 --run-dir " +
                             dir.file("ft"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rec = results::read_run_file(dir.file("ft/result.h5"));
  std::map<std::string, const results::SplitResult*> by;
  for (const auto& s : rec.splits) by[s.split] = &s;
  ASSERT_TRUE(by.count("ood"));
  EXPECT_EQ(by.at("ood")->n, 100);
  EXPECT_EQ(by.at("ood")->group_names,
            (std::vector<std::string>{"tops@lava", "tops@grid", "footwear@lava", "footwear@grid"}));
  EXPECT_TRUE(by.at("ood")->scalars.count("epg_gradcam"));
  auto report = test::run_command(test::aimrun() + " report " + dir.path());
  EXPECT_NE(report.output.find("ood acc"), std::string::npos) << report.output;

  r = test::run_command(env + test::aimrun() + " train " + config + " dataset.task=pretrain --run-dir " +
                        dir.file("pre"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  rec = results::read_run_file(dir.file("pre/result.h5"));
  ASSERT_EQ(rec.splits.size(), 1u);
  EXPECT_EQ(rec.splits[0].split, "val");
  EXPECT_EQ(rec.splits[0].n, 50);
}

// dataset.pretrain_places unused: every family neither the fine-tuning task of the same
// classes nor ood uses (2-15 for binary, 10-15 for all), drawn independently of the class;
// the garments are those of reserved.
TEST(BuiltinTasks, PretrainPlacesUnusedAreEveryFreeFamilyIndependentOfTheClass) {
  for (const std::string classes : {"binary", "all"}) {
    auto o = small(classes);
    const auto reserved = generate_pretrain_places(o);
    o.pretrain_places = "unused";
    if (classes == "binary") o.pretrain_size = 6000;
    const auto pre = generate_pretrain_places(o);
    const auto ft_f = families_of(generate_fashion_places(o)), ood_f = families_of(generate_ood_places(o));
    const auto pre_f = families_of(pre);
    EXPECT_EQ(pre_f, range_set(classes == "binary" ? 2 : 10, 15)) << classes;
    for (int f : pre_f) EXPECT_FALSE(ft_f.count(f) || ood_f.count(f)) << classes << " " << f;
    const auto& t = pre.splits.at("train");
    const auto seed = fashion_places_split_seed(o.seed, "pretrain/train");
    const int first = *pre_f.begin();
    for (int64_t i = 0; i < 10; ++i)
      EXPECT_GT(background_match(t, i, seed, first + int(t.places[i].item<int64_t>()), o.canvas), 0.7) << i;
    if (classes == "all") {  // the same families as reserved: the same samples, except the cache key
      EXPECT_TRUE(torch::equal(t.images, reserved.splits.at("train").images));
      EXPECT_NE(o.pretrain_cache_key(), small(classes).pretrain_cache_key());
      continue;
    }
    EXPECT_TRUE(torch::equal(pre.splits.at("val").source_index, reserved.splits.at("val").source_index));
    // 14 families x 10 classes, 6000 samples: ~42.9 per cell. Chi-square of independence,
    // 117 degrees of freedom: p < 1e-4 beyond 182.6 (scipy.stats.chi2.ppf).
    const int64_t nf = int64_t(pre_f.size());
    auto table = torch::zeros({10, nf}, torch::kDouble);
    for (int64_t i = 0; i < t.labels.size(0); ++i) table[t.labels[i].item<int64_t>()][t.places[i].item<int64_t>()] += 1;
    auto expected = table.sum(1, true) * table.sum(0, true) / table.sum();
    EXPECT_LT(((table - expected).pow(2) / expected).sum().item<double>(), 182.6) << table;
    const auto& v = pre.splits.at("val");
    for (int64_t c = 0; c < 10; ++c) {
      auto counts = torch::bincount(v.places.masked_select(v.labels.eq(c)), {}, nf);
      EXPECT_LE((counts.max() - counts.min()).item<int64_t>(), 1) << c << " " << counts;
    }
  }
}

// dataset.pretrain_places varied: the unused families, each background with its colour
// channels in one of the six orders, every order used, independently of the class; the
// garments, places and regions are those of unused.
TEST(BuiltinTasks, PretrainPlacesVariedPermuteEachBackgroundsChannels) {
  auto o = small();
  o.pretrain_places = "unused";
  const auto unused = generate_pretrain_places(o);
  o.pretrain_places = "varied";
  const auto pre = generate_pretrain_places(o);
  EXPECT_NE(o.pretrain_cache_key(), small().pretrain_cache_key());
  const auto& t = pre.splits.at("train");
  const auto& u = unused.splits.at("train");
  EXPECT_TRUE(torch::equal(t.source_index, u.source_index));
  EXPECT_TRUE(torch::equal(t.places, u.places));
  EXPECT_TRUE(torch::equal(t.regions, u.regions));
  EXPECT_FALSE(torch::equal(t.images, u.images));
  const auto seed = fashion_places_split_seed(o.seed, "pretrain/train");
  auto orders = torch::zeros({10, 6}, torch::kDouble);
  const int64_t n = 600;
  for (int64_t i = 0; i < n; ++i) {
    const int family = 2 + int(t.places[i].item<int64_t>());
    int best = -1, matches = 0;
    for (int k = 0; k < 6; ++k)
      if (background_match(t, i, seed, family, o.canvas, k) > 0.7) best = k, ++matches;
    // Uniform backgrounds (two channels alike) can match two orders; the first is as good.
    ASSERT_GE(matches, 1) << "sample " << i << ": its background is no channel order of its family's";
    orders[t.labels[i].item<int64_t>()][best] += 1;
  }
  EXPECT_GT(orders.sum(0).min().item<double>(), 0) << orders;  // every order occurs
  // Order independent of the class: chi-square, 45 degrees of freedom, p < 1e-4 beyond 89.1.
  auto expected = orders.sum(1, true) * orders.sum(0, true) / orders.sum();
  EXPECT_LT(((orders - expected).pow(2) / expected.clamp_min(1e-9)).sum().item<double>(), 89.1) << orders;
}

// dataset.pretrain_places is the pretraining task's: set with the fine-tuning task it is a
// config error before anything runs (exit 2, naming the key); reserved leaves ids unchanged.
TEST(BuiltinTasks, PretrainPlacesIsAPretrainingKey) {
  test::TempDir dir;
  auto config = dir.write("c.yaml", test::small_run_config(dir.path(), 1));
  auto bad = test::run_command(test::aimrun() + " train " + config + " dataset.pretrain_places=varied");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("dataset.pretrain_places: applies to the pretraining task only"), std::string::npos)
      << bad.output;
  bad = test::run_command(test::aimrun() + " train " + config + " dataset.task=pretrain dataset.pretrain_places=all");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("dataset.pretrain_places"), std::string::npos) << bad.output;
  const auto pre = load_run_config(config, {"dataset.task=pretrain"}).run_id();
  EXPECT_EQ(pre, load_run_config(config, {"dataset.task=pretrain", "dataset.pretrain_places=reserved"}).run_id());
  EXPECT_NE(pre, load_run_config(config, {"dataset.task=pretrain", "dataset.pretrain_places=unused"}).run_id());
  EXPECT_NE(load_run_config(config, {"dataset.task=pretrain", "dataset.pretrain_places=varied"}).run_id(),
            load_run_config(config, {"dataset.task=pretrain", "dataset.pretrain_places=unused"}).run_id());
}
