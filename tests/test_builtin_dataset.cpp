// The built-in benchmark: deterministic, correlated as asked in train, balanced in test,
// ground truth on the garment, cached and reused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <zlib.h>

#include "core/hash.h"
#include "core/random.h"
#include "data/builtin/fashion_places.h"
#include "data/builtin/places.h"
#include "data/registry.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;
using namespace aim::data;

namespace {

FashionPlacesOptions small(double correlation = 0.95, std::string classes = "binary") {
  FashionPlacesOptions o;
  o.correlation = correlation;
  o.classes = classes;
  o.train_size = 6000;
  o.val_size = 500;
  o.test_size = 2000;
  o.seed = 3;
  return o;
}

}  // namespace

TEST(BuiltinDataset, SameSeedSameData_OtherSeedOtherData) {
  auto a = generate_fashion_places(small());
  auto b = generate_fashion_places(small());
  for (const std::string split : {"train", "val", "test"}) {
    EXPECT_TRUE(torch::equal(a.splits[split].images, b.splits[split].images)) << split;
    EXPECT_TRUE(torch::equal(a.splits[split].regions, b.splits[split].regions)) << split;
    EXPECT_TRUE(torch::equal(a.splits[split].groups, b.splits[split].groups)) << split;
  }
  auto o = small();
  o.seed = 4;
  auto c = generate_fashion_places(o);
  EXPECT_FALSE(torch::equal(a.splits["train"].images, c.splits["train"].images));
}

TEST(BuiltinDataset, ShapesSizesAndNames) {
  auto d = generate_fashion_places(small());
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"tops", "footwear"}));
  EXPECT_EQ(d.place_names.size(), 2u);
  auto& t = d.splits["train"];
  EXPECT_EQ(t.images.sizes(), (std::vector<int64_t>{6000, 3, 64, 64}));
  EXPECT_EQ(t.regions.sizes(), (std::vector<int64_t>{6000, 64, 64}));
  EXPECT_EQ(d.splits["val"].labels.size(0), 500);
  EXPECT_EQ(d.splits["test"].labels.size(0), 2000);
  // Val comes from Fashion-MNIST train, disjoint from the training samples.
  auto tr = t.source_index, va = d.splits["val"].source_index;
  EXPECT_EQ(torch::isin(va, tr).sum().item<int64_t>(), 0);
}

TEST(BuiltinDataset, TrainCorrelationWithinTwoPointsOfP) {
  for (double p : {0.95, 1.0, 0.5}) {
    for (const std::string classes : {"binary", "all"}) {
      auto d = generate_fashion_places(small(p, classes));
      auto& t = d.splits["train"];
      double measured = t.places.eq(t.labels).to(torch::kDouble).mean().item<double>();
      EXPECT_NEAR(measured, p, 0.02) << "p=" << p << " classes=" << classes;
    }
  }
}

TEST(BuiltinDataset, TestAndValGroupsAreBalanced) {
  for (const std::string classes : {"binary", "all"}) {
    auto d = generate_fashion_places(small(1.0, classes));
    const int64_t places = int64_t(d.place_names.size());
    for (const std::string split : {"val", "test"}) {
      auto& s = d.splits[split];
      for (int64_t c = 0; c < int64_t(d.class_names.size()); ++c) {
        auto of_class = s.labels.eq(c);
        auto counts = torch::bincount(s.places.masked_select(of_class), {}, places);
        EXPECT_LE((counts.max() - counts.min()).item<int64_t>(), 1) << split << " class " << c << " " << counts;
        EXPECT_GT(counts.min().item<int64_t>(), 0);
      }
      EXPECT_TRUE(torch::equal(s.groups, s.labels * places + s.places));
    }
  }
}

TEST(BuiltinDataset, RegionAndBoxLieOnTheGarmentPixels) {
  auto o = small();
  auto d = generate_fashion_places(o);
  auto& t = d.splits["test"];
  const int64_t c = o.canvas;
  int clean = 0;
  for (int64_t i = 0; i < 50; ++i) {
    // Redraw this sample's background alone: it is the first thing drawn from its RNG.
    Rng rng(mix_seed(fashion_places_split_seed(o.seed, "test"), uint64_t(i)));
    cv::Mat bg(static_cast<int>(c), static_cast<int>(c), CV_8UC3);
    draw_place(int(t.places[i].item<int64_t>()), rng, bg);
    auto img = t.images[i].permute({1, 2, 0}).contiguous();
    auto bg_t = torch::from_blob(bg.data, {c, c, 3}, torch::kUInt8);
    auto differs = img.ne(bg_t).any(2);  // [H,W] pixels the garment changed
    auto region = t.regions[i].to(torch::kBool);
    auto box = t.boxes[i];
    int x0 = box[0].item<int>(), y0 = box[1].item<int>(), x1 = box[2].item<int>(), y1 = box[3].item<int>();
    // The box is the tight bounding box of the region.
    auto ys = region.any(1).nonzero(), xs = region.any(0).nonzero();
    ASSERT_GT(ys.size(0), 0);
    EXPECT_EQ(ys.min().item<int>(), y0);
    EXPECT_EQ(ys.max().item<int>() + 1, y1);
    EXPECT_EQ(xs.min().item<int>(), x0);
    EXPECT_EQ(xs.max().item<int>() + 1, x1);
    // The garment does not fill the canvas.
    EXPECT_LT((x1 - x0) * (y1 - y0), c * c * 0.5);
    // Nearly every region pixel shows the garment, not the background.
    double on_garment = differs.masked_select(region).to(torch::kDouble).mean().item<double>();
    EXPECT_GT(on_garment, 0.95) << "sample " << i;
    // Away from the box (2 pixels for soft edges) the image is the background, except for
    // the rare faint stray pixel some Fashion-MNIST images have (alpha < 0.5: not object).
    auto far = torch::ones({c, c}, torch::kBool);
    far.slice(0, std::max(0, y0 - 2), std::min<int>(c, y1 + 2)).slice(1, std::max(0, x0 - 2), std::min<int>(c, x1 + 2)).fill_(false);
    int64_t stray = differs.masked_select(far).sum().item<int64_t>();
    EXPECT_LT(stray, c * c / 50) << "sample " << i;
    clean += stray == 0;
  }
  EXPECT_GE(clean, 45);
}

TEST(BuiltinDataset, CachedOnceThenReused) {
  test::TempDir dir;
  auto o = small();
  bool from_cache = true;
  auto t0 = std::chrono::steady_clock::now();
  auto a = load_or_generate_fashion_places(o, dir.path(), &from_cache);
  double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(from_cache);
  EXPECT_LT(gen_s, 60.0);  // "seconds, not minutes", with a wide margin for slow CI machines
  auto b = load_or_generate_fashion_places(o, dir.path(), &from_cache);
  EXPECT_TRUE(from_cache);
  EXPECT_TRUE(torch::equal(a.splits["train"].images, b.splits["train"].images));
  EXPECT_TRUE(torch::equal(a.splits["test"].regions, b.splits["test"].regions));
  // Other options, other cache file.
  o.correlation = 1.0;
  load_or_generate_fashion_places(o, dir.path(), &from_cache);
  EXPECT_FALSE(from_cache);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.path().extension() == ".h5";
  EXPECT_EQ(files, 2);
}

namespace {

// A copy of Fashion-MNIST whose garments are all different (every training pixel inverted),
// still valid IDX: another source with the same file names and sizes.
std::string inverted_fashion_mnist(const test::TempDir& dir) {
  const std::string real = "/usr/share/datasets/fashion-mnist", copy = dir.file("inverted-fmnist");
  std::filesystem::create_directories(copy);
  for (const std::string f : {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"})
    std::filesystem::copy_file(real + "/" + f, copy + "/" + f);
  gzFile in = gzopen((real + "/train-images-idx3-ubyte.gz").c_str(), "rb");
  std::string bytes(64 << 20, '\0');
  const int n = gzread(in, bytes.data(), unsigned(bytes.size()));
  gzclose(in);
  EXPECT_GT(n, 16);
  bytes.resize(size_t(n));
  for (size_t i = 16; i < bytes.size(); ++i) bytes[i] = char(255 - (unsigned char)bytes[i]);
  gzFile out = gzopen((copy + "/train-images-idx3-ubyte.gz").c_str(), "wb1");
  EXPECT_EQ(gzwrite(out, bytes.data(), unsigned(bytes.size())), n);
  EXPECT_EQ(gzclose(out), Z_OK);
  return copy;
}

}  // namespace

// dataset.source is a path, not part of the identity; the cache must still tell two sources
// apart: other garments in the source, other images, never the cached ones of another source.
TEST(BuiltinDataset, CacheOfOneSourceIsNotReadForAnother) {
  test::TempDir dir;
  auto o = small();
  o.train_size = 300;
  o.val_size = 100;
  o.test_size = 100;
  bool from_cache = true;
  auto a = load_or_generate_fashion_places(o, dir.file("cache"), &from_cache);
  auto other = o;
  other.source_dir = inverted_fashion_mnist(dir);
  auto b = load_or_generate_fashion_places(other, dir.file("cache"), &from_cache);
  EXPECT_FALSE(from_cache) << "the cache made from " << o.source_dir << " was read for " << other.source_dir;
  EXPECT_FALSE(torch::equal(a.splits["train"].images, b.splits["train"].images));
  EXPECT_TRUE(torch::equal(a.splits["test"].images, b.splits["test"].images)) << "the test file is the same";
  // The same source again, from its own copy of the cache or generated anew: its own images.
  auto c = load_or_generate_fashion_places(o, dir.file("cache"), &from_cache);
  EXPECT_TRUE(torch::equal(a.splits["train"].images, c.splits["train"].images));
}

TEST(BuiltinDataset, BatchesAreNormalisedAndFlipsMoveTheRegion) {
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("a.yaml", "dataset: {train_size: 500, val_size: 100, test_size: 200}\n"), {});
  auto splits = make_datasets(cfg);
  const auto& train = splits.at("train");
  EXPECT_EQ(train.info().num_groups(), 4);
  EXPECT_EQ(train.info().group_names[1], "tops@sea");
  std::vector<int64_t> idx = {0, 1, 2, 3, 4, 5, 6, 7};
  auto plain = train.get_batch(idx, std::nullopt);
  EXPECT_EQ(plain.images.sizes(), (std::vector<int64_t>{8, 3, 64, 64}));
  EXPECT_EQ(plain.images.scalar_type(), torch::kFloat);
  EXPECT_LT(plain.images.min().item<float>(), -1.0f);  // normalised, not in [0,1]
  auto aug = train.get_batch(idx, uint64_t(7));
  auto aug2 = train.get_batch(idx, uint64_t(7));
  EXPECT_TRUE(torch::equal(aug.images, aug2.images));  // same seed, same augmentation
  int flipped = 0;
  for (int64_t i = 0; i < 8; ++i) {
    bool same = torch::equal(aug.images[i], plain.images[i]);
    if (!same) {
      ++flipped;
      EXPECT_TRUE(torch::equal(aug.images[i], plain.images[i].flip({2})));
      EXPECT_TRUE(torch::equal(aug.regions[i], plain.regions[i].flip({1})));
    }
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 8);
  // Evaluation splits never flip.
  auto test_batch = splits.at("test").get_batch(idx, uint64_t(7));
  EXPECT_TRUE(torch::equal(test_batch.images, splits.at("test").get_batch(idx, std::nullopt).images));
}

TEST(BuiltinDataset, MissingSourceIsAClearError) {
  auto o = small();
  o.source_dir = "/nonexistent/fmnist";
  try {
    generate_fashion_places(o);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/fmnist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
}
