// The image datasets of the paper: each reader on a miniature copy of its format written
// here (generated JPEG/PNG images, metadata, masks, XML), labels, splits and groups, ground
// truth that stays on the object through every transform, the packed cache, and bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/random.h"
#include "core/strings.h"
#include "data/images/image_list_dataset.h"
#include "data/images/packed_cache.h"
#include "data/images/transforms.h"
#include "data/loader.h"
#include "data/registry.h"
#include "data/sampler.h"
#include "log_capture.h"
#include "results/run_file.h"
#include "runner/schema.h"
#include "test_util.h"

using namespace aim;
using namespace aim::data;
namespace fs = std::filesystem;
using test::TempDir;

namespace {

// An image with a red object on a green-blue background; the object's rectangle is the
// ground truth. Sizes and positions vary per image so that crops differ.
struct Drawn {
  int width, height;
  cv::Rect object;
};

Drawn draw(const std::string& path, int seed, int width = 0, int height = 0) {
  Rng rng(uint64_t(seed) + 17);
  if (!width) width = 48 + int(rng.below(40));
  if (!height) height = 48 + int(rng.below(40));
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(180, 160, 20));  // BGR: a teal background
  const int ow = width / 3 + int(rng.below(uint64_t(width / 4))), oh = height / 3 + int(rng.below(uint64_t(height / 4)));
  cv::Rect obj(int(rng.below(uint64_t(width - ow))), int(rng.below(uint64_t(height - oh))), ow, oh);
  img(obj).setTo(cv::Scalar(0, 0, 255));  // red
  fs::create_directories(fs::path(path).parent_path());
  EXPECT_TRUE(cv::imwrite(path, img)) << path;
  return {width, height, obj};
}

void write_mask(const std::string& path, const Drawn& d, int value = 255) {
  cv::Mat m = cv::Mat::zeros(d.height, d.width, CV_8UC1);
  m(d.object).setTo(value);
  fs::create_directories(fs::path(path).parent_path());
  EXPECT_TRUE(cv::imwrite(path, m)) << path;
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A miniature CUB-200-2011: 3 species, 4 images each (ids 1-based), odd ids train.
struct MiniCub {
  std::string root;
  std::vector<std::string> names;  // file names, by id - 1
  std::vector<int> labels;         // 0-based
  std::vector<bool> train;
};

MiniCub make_cub(const std::string& root, bool segmentations, const std::string& eol = "\n") {
  MiniCub c{root, {}, {}, {}};
  const std::vector<std::string> classes = {"001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"};
  std::string images, labels, split, boxes, cls;
  for (size_t k = 0; k < classes.size(); ++k) cls += std::to_string(k + 1) + " " + classes[k] + eol;
  int id = 0;
  for (size_t k = 0; k < classes.size(); ++k)
    for (int j = 0; j < 4; ++j) {
      ++id;
      const std::string name = classes[k].substr(4) + "_00" + std::to_string(j) + "_" + std::to_string(id) + ".jpg";
      const std::string rel = classes[k] + "/" + name;
      auto d = draw(root + "/images/" + rel, id);
      if (segmentations) write_mask(root + "/segmentations/" + classes[k] + "/" + fs::path(name).stem().string() + ".png", d);
      images += std::to_string(id) + " " + rel + eol;
      labels += std::to_string(id) + " " + std::to_string(k + 1) + eol;
      split += std::to_string(id) + " " + (id % 2 ? "1" : "0") + eol;
      boxes += std::to_string(id) + " " + std::to_string(d.object.x) + ".0 " + std::to_string(d.object.y) + ".0 " +
               std::to_string(d.object.width) + ".0 " + std::to_string(d.object.height) + ".0" + eol;
      c.names.push_back(name);
      c.labels.push_back(int(k));
      c.train.push_back(id % 2);
    }
  write_file(root + "/images.txt", images);
  write_file(root + "/image_class_labels.txt", labels);
  write_file(root + "/train_test_split.txt", split);
  write_file(root + "/bounding_boxes.txt", boxes);
  write_file(root + "/classes.txt", cls);
  return c;
}

// A miniature Waterbirds over the CUB images' names: y = species % 2, place alternating.
std::string make_waterbirds(const std::string& root, const MiniCub& cub, const std::string& eol = "\n") {
  std::string meta = "img_id,img_filename,y,split,place,place_filename,extra" + eol;
  for (size_t i = 0; i < cub.names.size(); ++i) {
    const std::string species = cub.labels[i] == 0 ? "001.Black_footed_Albatross" : cub.labels[i] == 1 ? "002.Laysan_Albatross" : "003.Sooty_Albatross";
    const std::string rel = species + "/" + cub.names[i];
    draw(root + "/" + rel, int(i) + 1);  // same seed as the CUB image: same geometry
    const int y = cub.labels[i] % 2, split = int(i % 3), place = int(i / 2 % 2);
    meta += std::to_string(i + 1) + "," + rel + "," + std::to_string(y) + "," + std::to_string(split) + "," +
            std::to_string(place) + ",/b/bamboo_forest/00000001.jpg,x" + eol;
  }
  write_file(root + "/metadata.csv", meta);
  return root;
}

Config config(const TempDir& dir, const std::vector<std::string>& overrides) {
  static int n = 0;
  auto path = dir.write("cfg" + std::to_string(n++) + ".yaml", "dataset: {image_size: 32, resize: 36}\n");
  std::vector<std::string> o = overrides;
  o.push_back("dataset.cache_dir=" + dir.file("cache"));
  return load_run_config(path, o);
}

// Fraction of ground-truth pixels that are red in the (un-normalised) image, and of the
// other pixels that are red: the region lies on the object when the first is high and the
// second low.
std::pair<double, double> red_inside_outside(const Batch& b, const SplitInfo& info) {
  auto mean = torch::tensor(info.mean).view({1, 3, 1, 1}), std = torch::tensor(info.std).view({1, 3, 1, 1});
  auto rgb = b.images * std + mean;
  auto red = (rgb.select(1, 0) > 0.6) & (rgb.select(1, 1) < 0.3);
  auto in = b.regions.ne(0);
  double inside = (red & in).sum().item<double>() / std::max(1.0, in.sum().item<double>());
  double outside = (red & ~in).sum().item<double>() / std::max(1.0, (~in).sum().item<double>());
  return {inside, outside};
}

void expect_regions_on_object(const Dataset& ds, bool augment) {
  std::vector<int64_t> all(size_t(ds.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  for (uint64_t seed = 0; seed < (augment ? 6 : 1); ++seed) {
    auto b = ds.get_batch(all, augment ? std::optional<uint64_t>(seed) : std::nullopt);
    ASSERT_TRUE(b.regions.defined());
    auto [inside, outside] = red_inside_outside(b, ds.info());
    EXPECT_GT(inside, 0.9) << ds.info().dataset << " " << ds.info().split << " seed " << seed;
    EXPECT_LT(outside, 0.05) << ds.info().dataset << " " << ds.info().split << " seed " << seed;
  }
}

// `n` drawn JPEGs "i<k>.jpg" in `dir`, labelled k % classes.
std::vector<Sample> drawn_samples(const TempDir& dir, int n, int classes) {
  std::vector<Sample> samples;
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.path = dir.file("i" + std::to_string(i) + ".jpg");
    draw(s.path, i);
    s.label = i % classes;
    samples.push_back(s);
  }
  return samples;
}

SplitInfo test_info(const std::string& region_kind) {
  SplitInfo i;
  i.dataset = "list";
  i.split = "train";
  i.class_names = {"a", "b"};
  i.region_kind = region_kind;
  return i;
}

std::vector<int64_t> values(const at::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  return v;
}

}  // namespace

TEST(Transforms, RandomResizedCropStaysInsideAndFollowsTheRanges) {
  TransformOptions o;
  Rng rng(1);
  for (int i = 0; i < 2000; ++i) {
    const int h = 20 + int(rng.below(400)), w = 20 + int(rng.below(400));
    auto r = random_resized_crop(h, w, o, rng);
    ASSERT_GE(r.x, 0);
    ASSERT_GE(r.y, 0);
    ASSERT_LE(r.x + r.width, w);
    ASSERT_LE(r.y + r.height, h);
    ASSERT_GT(r.width, 0);
    ASSERT_GT(r.height, 0);
  }
  // The same generator state gives the same crop.
  Rng a(7), b(7);
  auto ra = random_resized_crop(375, 500, o, a), rb = random_resized_crop(375, 500, o, b);
  EXPECT_EQ(ra, rb);
  // An extreme aspect ratio falls back to the centre crop with the ratio clamped.
  TransformOptions big = o;
  big.scale_min = big.scale_max = 1.0;
  auto r = random_resized_crop(10, 400, big, a);
  EXPECT_EQ(r.height, 10);
  EXPECT_EQ(r.width, 13);  // 10 * 4/3
  EXPECT_EQ(r.x, (400 - 13) / 2);
}

TEST(Transforms, EvalCropIsResizeThenCentreCrop) {
  TransformOptions o;  // 256 then 224
  auto r = eval_crop(375, 500, o);
  // 375 -> 256: scale 256/375; 224 output pixels = 224*375/256 = 328.1 source pixels.
  EXPECT_EQ(r.width, 328);
  EXPECT_EQ(r.height, 328);
  EXPECT_EQ(r.x, 86);  // (500 - 328) / 2
  EXPECT_EQ(r.y, 24);  // (375 - 328) / 2 rounded
}

TEST(Transforms, RegionFollowsCropResizeAndFlip) {
  cv::Mat img(40, 60, CV_8UC3, cv::Scalar(0, 0, 0)), reg = cv::Mat::zeros(40, 60, CV_8UC1);
  img(cv::Rect(0, 0, 20, 40)).setTo(cv::Scalar(255, 255, 255));  // left third white
  reg(cv::Rect(0, 0, 20, 40)).setTo(1);
  Geometry g{cv::Rect(0, 0, 40, 40), true};  // left two thirds, flipped: the object ends on the right
  cv::Mat io, ro;
  apply_geometry(img, reg, g, 20, io, ro);
  ASSERT_EQ(ro.rows, 20);
  for (int x = 0; x < 20; ++x) {
    const bool white = io.at<cv::Vec3b>(10, x)[0] > 128;
    EXPECT_EQ(white, ro.at<uint8_t>(10, x) == 1) << x;
    EXPECT_EQ(ro.at<uint8_t>(10, x), x >= 10 ? 1 : 0) << x;
  }
}

TEST(ImageList, RegionsFromBoxesAndMasksLandOnTheObject_TrainAndEval) {
  TempDir dir;
  std::vector<Sample> with_boxes, with_masks;
  for (int i = 0; i < 8; ++i) {
    auto p = dir.file("img" + std::to_string(i) + (i % 2 ? ".png" : ".jpg"));
    auto d = draw(p, i);
    Sample s;
    s.path = p;
    s.label = i % 2;
    s.boxes = {Box{double(d.object.x), double(d.object.y), double(d.object.width), double(d.object.height)}};
    with_boxes.push_back(s);
    s.boxes.clear();
    s.mask_path = dir.file("mask" + std::to_string(i) + ".png");
    write_mask(s.mask_path, d, 200);
    s.mask_threshold = 127;
    with_masks.push_back(s);
  }
  ImageListOptions o;
  o.transforms.image_size = 32;
  o.transforms.resize = 36;
  o.augment = true;
  for (bool packed : {false, true}) {
    o.packed_cache = packed;
    o.cache_dir = dir.file("cache");
    ImageListDataset boxes(test_info("boxes"), with_boxes, o), masks(test_info("segmentation"), with_masks, o);
    expect_regions_on_object(boxes, true);
    expect_regions_on_object(boxes, false);
    expect_regions_on_object(masks, true);
    expect_regions_on_object(masks, false);
  }
}

// A process stopped or frozen while it packs a cache holds no other run up for longer than
// dataset.cache_wait: the next one packs a private copy (mapped, its name removed at once)
// with the same images and leaves the cache to the first. Before, it waited on the lock
// forever, without a word.
TEST(ImageList, APackedCacheWhoseBuilderIsFrozenIsPackedPrivatelyAfterTheWait) {
  TempDir dir;
  const auto samples = drawn_samples(dir, 8, 2);
  ImageListOptions o;
  o.transforms.image_size = 24;
  o.packed_cache = true;
  o.cache_dir = dir.file("cache");
  o.cache_wait_seconds = 1;
  PackOptions po;
  po.shorter_side = o.transforms.resize;
  const auto info = test_info("");
  const auto path = packed_cache_path(o.cache_dir, info.dataset, info.split, samples, po);
  fs::create_directories(fs::path(path).parent_path());
  FileLock builder;  // another process packing it, and frozen
  ASSERT_TRUE(builder.try_lock(path + ".lock"));
  const auto t0 = std::chrono::steady_clock::now();
  ImageListDataset waited(info, samples, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(seconds, 1.0);
  EXPECT_LT(seconds, 30.0);
  EXPECT_FALSE(fs::exists(path)) << "the cache is left to its builder";
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    EXPECT_EQ(e.path().string(), path + ".lock") << "the private copy's name is removed";
  builder.unlock();
  ImageListDataset cached(info, samples, o);
  EXPECT_TRUE(fs::exists(path));
  std::vector<int64_t> all(samples.size());
  std::iota(all.begin(), all.end(), 0);
  EXPECT_TRUE(torch::equal(waited.get_batch(all, std::nullopt).images, cached.get_batch(all, std::nullopt).images));
}

TEST(ImageList, AugmentationDependsOnTheSeedOnly_NotOnTheThread) {
  TempDir dir;
  const auto samples = drawn_samples(dir, 12, 3);
  ImageListOptions o;
  o.transforms.image_size = 24;
  o.augment = true;
  auto ds = std::make_shared<ImageListDataset>(test_info(""), samples, o);
  BatchIndices batches = {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}};
  auto collect = [&](int workers) {
    BatchLoader loader(ds, batches, 42, workers, 2);
    std::vector<at::Tensor> out;
    while (auto b = loader.next()) out.push_back(b->images);
    return out;
  };
  auto a = collect(0), b = collect(3);
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  // Another seed, other crops; evaluation batches do not depend on a seed at all.
  BatchLoader other(ds, batches, 43, 0, 2);
  EXPECT_FALSE(torch::equal(other.next()->images, a[0]));
  auto e1 = ds->get_batch({0, 1}, std::nullopt), e2 = ds->get_batch({0, 1}, std::nullopt);
  EXPECT_TRUE(torch::equal(e1.images, e2.images));
  EXPECT_EQ(e1.images.sizes(), (std::vector<int64_t>{2, 3, 24, 24}));
}

TEST(Cub, LabelsSplitsAndGroundTruth) {
  TempDir dir;
  for (bool segs : {false, true}) {
    auto cub = make_cub(dir.file(segs ? "cub_segs" : "cub"), segs, segs ? "\r\n" : "\n");
    auto splits = make_datasets(config(dir, {"dataset.name=cub", "dataset.root=" + cub.root}));
    const auto& train = dynamic_cast<const ImageListDataset&>(splits.at("train"));
    const auto& test = dynamic_cast<const ImageListDataset&>(splits.at("test"));
    EXPECT_EQ(splits.eval_splits, std::vector<std::string>{"test"});
    EXPECT_EQ(train.size(), 6);
    EXPECT_EQ(test.size(), 6);
    EXPECT_EQ(train.info().class_names[1], "002.Laysan_Albatross");
    EXPECT_EQ(train.info().region_kind, segs ? "segmentation" : "boxes");
    EXPECT_EQ(values(train.labels()), std::vector<int64_t>({0, 0, 1, 1, 2, 2}));
    EXPECT_TRUE((train.groups().eq(-1).all().item<bool>()));
    // Odd ids train: the first training image is id 1.
    EXPECT_NE(train.samples()[0].path.find(cub.names[0]), std::string::npos);
    expect_regions_on_object(train, true);
    expect_regions_on_object(test, false);
  }
  // A held-out val split, the same for the same seed, disjoint from train.
  auto cub = make_cub(dir.file("cub"), false);
  auto a = make_datasets(config(dir, {"dataset.name=cub", "dataset.root=" + cub.root, "dataset.val_fraction=0.5"}));
  auto b = make_datasets(config(dir, {"dataset.name=cub", "dataset.root=" + cub.root, "dataset.val_fraction=0.5"}));
  EXPECT_EQ(a.eval_splits, (std::vector<std::string>{"val", "test"}));
  EXPECT_EQ(a.at("val").size(), 3);
  EXPECT_EQ(a.at("train").size(), 3);
  EXPECT_EQ(dynamic_cast<const ImageListDataset&>(a.at("val")).samples()[0].path,
            dynamic_cast<const ImageListDataset&>(b.at("val")).samples()[0].path);
}

TEST(Waterbirds, LabelsSplitsGroupsAndCubGroundTruthByFileName) {
  TempDir dir;
  auto cub = make_cub(dir.file("CUB_200_2011"), true);
  auto wb = make_waterbirds(dir.file("waterbird_complete95_forest2water2"), cub, "\r\n");
  // No CUB root: no ground truth. The archive's folder inside the root is found.
  auto plain = make_datasets(config(dir, {"dataset.name=waterbirds", "dataset.root=" + dir.path()}));
  EXPECT_EQ(plain.at("train").info().region_kind, "");
  EXPECT_EQ(plain.eval_splits, (std::vector<std::string>{"val", "test"}));
  auto splits = make_datasets(config(dir, {"dataset.name=waterbirds", "dataset.root=" + wb, "dataset.cub_root=" + cub.root}));
  int64_t total = 0;
  for (const std::string name : {"train", "val", "test"}) {
    const auto& s = dynamic_cast<const ImageListDataset&>(splits.at(name));
    total += s.size();
    EXPECT_EQ(s.size(), 4) << name;  // split = row % 3
    EXPECT_EQ(s.info().group_names, (std::vector<std::string>{"landbird/land", "landbird/water", "waterbird/land", "waterbird/water"}));
    EXPECT_EQ(s.info().class_names, (std::vector<std::string>{"landbird", "waterbird"}));
    EXPECT_EQ(s.info().region_kind, "segmentation");
    for (int64_t k = 0; k < s.size(); ++k) {
      // Rows were written in order; recover the row from the file name.
      const auto& path = s.samples()[size_t(k)].path;
      size_t row = 0;
      while (path.find(cub.names[row]) == std::string::npos) ++row;
      EXPECT_EQ(int(row % 3), name == "train" ? 0 : name == "val" ? 1 : 2);
      const int y = cub.labels[row] % 2, place = int(row / 2 % 2);
      EXPECT_EQ(s.labels()[k].item<int64_t>(), y);
      EXPECT_EQ(s.groups()[k].item<int64_t>(), 2 * y + place);
    }
    expect_regions_on_object(s, name == "train");
  }
  EXPECT_EQ(total, 12);
  // Boxes instead of segmentations when asked.
  auto boxes = make_datasets(config(dir, {"dataset.name=waterbirds", "dataset.root=" + wb, "dataset.cub_root=" + cub.root,
                                          "dataset.segmentations=false"}));
  EXPECT_EQ(boxes.at("test").info().region_kind, "boxes");
  expect_regions_on_object(boxes.at("test"), false);
}

TEST(TravelingBirds, SpeciesFoldersAndCubSplit) {
  TempDir dir;
  auto cub = make_cub(dir.file("CUB_200_2011"), false);
  for (size_t i = 0; i < cub.names.size(); ++i) {
    const std::string species = i < 4 ? "001.Black_footed_Albatross" : i < 8 ? "002.Laysan_Albatross" : "003.Sooty_Albatross";
    draw(dir.file("tb/CUB_fixed/" + std::string(cub.train[i] ? "train/" : "test/") + species + "/" + cub.names[i]), int(i) + 1);
  }
  auto splits = make_datasets(config(dir, {"dataset.name=traveling_birds", "dataset.root=" + dir.file("tb"),
                                           "dataset.cub_root=" + cub.root}));
  EXPECT_EQ(splits.at("train").size(), 6);
  EXPECT_EQ(splits.at("test").size(), 6);
  EXPECT_EQ(splits.eval_splits, std::vector<std::string>{"test"});
  EXPECT_EQ(values(splits.at("test").labels()), std::vector<int64_t>({0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(splits.at("test").info().class_names.size(), 3u);
  EXPECT_EQ(splits.at("test").info().region_kind, "boxes");
  EXPECT_TRUE((splits.at("test").groups().eq(-1).all().item<bool>()));
  expect_regions_on_object(splits.at("train"), true);
  expect_regions_on_object(splits.at("test"), false);
}

TEST(HardImageNet, MasksNameTheirImages) {
  TempDir dir;
  const std::vector<std::string> wnids = {"n02483362", "n01440764", "n03218198"};  // unsorted on purpose
  int seed = 0;
  for (const std::string split : {"train", "val"})
    for (const auto& w : wnids)
      for (int j = 0; j < 2; ++j) {
        const std::string name = split == "train" ? w + "_" + std::to_string(100 + j) + ".JPEG"
                                                  : "ILSVRC2012_val_0000" + std::to_string(seed) + ".JPEG";
        auto d = draw(dir.file("ilsvrc/" + split + "/" + w + "/" + name), seed++);
        // Masks: <wnid>_<image name>, any non-zero value is the object.
        write_mask(dir.file("hard/" + split + "/" + w + "_" + fs::path(name).stem().string() + ".png"), d, 1);
      }
  auto splits = make_datasets(config(dir, {"dataset.name=hard_imagenet", "dataset.root=" + dir.file("hard"),
                                           "dataset.imagenet_root=" + dir.file("ilsvrc")}));
  EXPECT_EQ(splits.eval_splits, std::vector<std::string>{"val"});
  const auto& val = dynamic_cast<const ImageListDataset&>(splits.at("val"));
  EXPECT_EQ(val.size(), 6);
  EXPECT_EQ(val.info().class_names, (std::vector<std::string>{"n01440764", "n02483362", "n03218198"}));
  for (int64_t k = 0; k < val.size(); ++k) {
    const auto& s = val.samples()[size_t(k)];
    EXPECT_NE(s.path.find("/" + val.info().class_names[size_t(s.label)] + "/"), std::string::npos) << s.path;
  }
  expect_regions_on_object(splits.at("train"), true);
  expect_regions_on_object(val, false);
  // Without the ILSVRC root: a config error naming the key.
  auto msg = test::error_of([&] {
    make_datasets(config(dir, {"dataset.name=hard_imagenet", "dataset.root=" + dir.file("hard")}));
  });
  EXPECT_NE(msg.find("dataset.imagenet_root"), std::string::npos) << msg;
}

TEST(ImageNetSubsets, ClassListLabelsAndXmlBoxes) {
  TempDir dir;
  const std::vector<std::string> wnids = {"n02086240", "n02087394", "n02088364"};
  int seed = 0;
  for (const std::string split : {"train", "val"})
    for (const auto& w : wnids)
      for (int j = 0; j < 2; ++j) {
        const std::string stem = split == "train" ? w + "_" + std::to_string(j) : "ILSVRC2012_val_0000" + std::to_string(seed);
        // Stored at half the annotated size: boxes must be rescaled from the XML's <size>.
        auto d = draw(dir.file("woof/" + split + "/" + w + "/" + stem + (j ? ".JPEG" : ".jpg")), seed++);
        std::string xml = "<annotation>\n<folder>" + w + "</folder>\n<size>\n\t<width>" + std::to_string(2 * d.width) +
                          "</width>\n\t<height>" + std::to_string(2 * d.height) + "</height>\n\t<depth>3</depth>\n</size>\n" +
                          "<object>\n\t<name>" + w + "</name>\n\t<bndbox>\n\t\t<xmin>" + std::to_string(2 * d.object.x) +
                          "</xmin>\n\t\t<ymin>" + std::to_string(2 * d.object.y) + "</ymin>\n\t\t<xmax>" +
                          std::to_string(2 * (d.object.x + d.object.width) - 1) + "</xmax>\n\t\t<ymax>" +
                          std::to_string(2 * (d.object.y + d.object.height) - 1) + "</ymax>\n\t</bndbox>\n</object>\n</annotation>\n";
        write_file(dir.file(split == "train" ? "xml/Annotations/CLS-LOC/train/" + w + "/" + stem + ".xml"
                                             : "xml/Annotations/CLS-LOC/val/" + stem + ".xml"),
                   xml);
      }
  fs::create_directories(dir.file("woof/train/n99999999"));  // a class not in the list
  auto list = dir.write("classes.txt", "n02088364 beagle\r\nn02086240 Shih-Tzu\r\n\r\n");
  auto splits = make_datasets(config(dir, {"dataset.name=imagewoof", "dataset.root=" + dir.file("woof"),
                                           "dataset.class_list=" + list, "dataset.boxes_dir=" + dir.file("xml")}));
  EXPECT_EQ(splits.at("train").info().class_names, (std::vector<std::string>{"Shih-Tzu", "beagle"}));
  EXPECT_EQ(values(splits.at("val").labels()), std::vector<int64_t>({0, 0, 1, 1}));
  EXPECT_EQ(splits.at("val").info().region_kind, "boxes");
  expect_regions_on_object(splits.at("train"), true);
  expect_regions_on_object(splits.at("val"), false);
  // Without a class list: every class folder of train, so the extra class must exist in val.
  auto msg = test::error_of([&] {
    make_datasets(config(dir, {"dataset.name=imagenet100", "dataset.root=" + dir.file("woof")}));
  });
  EXPECT_NE(msg.find("woof/val/n99999999: class folder is missing"), std::string::npos) << msg;
  fs::remove(dir.file("woof/train/n99999999"));
  auto all = make_datasets(config(dir, {"dataset.name=imagenet100", "dataset.root=" + dir.file("woof")}));
  EXPECT_EQ(all.at("train").info().class_names, wnids);
  EXPECT_EQ(all.at("train").info().region_kind, "");
  // A class list naming a class that does not exist: file and line.
  auto bad = dir.write("bad.txt", "n02086240\nn01234567 nothing\n");
  msg = test::error_of([&] {
    make_datasets(
        config(dir, {"dataset.name=imagewoof", "dataset.root=" + dir.file("woof"), "dataset.class_list=" + bad}));
  });
  EXPECT_NE(msg.find(bad + ":2: no class folder"), std::string::npos) << msg;
}

TEST(BadInput, MissingRootIsAConfigErrorBeforeAnythingRuns) {
  TempDir dir;
  auto msg = test::error_of([&] { config(dir, {"dataset.name=cub", "dataset.root=" + dir.file("nowhere")}); });
  EXPECT_NE(msg.find("dataset.root: no such file or folder"), std::string::npos) << msg;
  msg = test::error_of([&] { make_datasets(config(dir, {"dataset.name=waterbirds"})); });
  EXPECT_NE(msg.find("dataset.root: required"), std::string::npos) << msg;
}

TEST(BadInput, MalformedMetadataNamesFileAndLine) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), false);
  auto wb = make_waterbirds(dir.file("wb"), cub);
  const auto cub_cfg = std::vector<std::string>{"dataset.name=cub", "dataset.root=" + cub.root};
  const auto wb_cfg = std::vector<std::string>{"dataset.name=waterbirds", "dataset.root=" + wb};
  struct Case {
    std::string file, content, expect;
    bool waterbirds;
  };
  const std::vector<Case> cases = {
      {"/images.txt", "1 a/b.jpg\n2\n", "images.txt:2: expected '<image_id> <class_dir>/<file>.jpg'", false},
      {"/image_class_labels.txt", "1 1\n2 x\n", "image_class_labels.txt:2: expected an integer class id, got 'x'", false},
      {"/image_class_labels.txt", "1 1\n2 9\n", "image_class_labels.txt:2: class id 9 outside 1..3", false},
      {"/train_test_split.txt", "1 1\n1 0\n", "train_test_split.txt:2: id 1 appears twice", false},
      {"/train_test_split.txt", "1 2\n", "train_test_split.txt:1: expected '<image_id> <1 = train, 0 = test>'", false},
      {"/bounding_boxes.txt", "1 1.0 2.0 3.0\n", "bounding_boxes.txt:1: expected '<image_id> <x> <y> <width> <height>'", false},
      {"/metadata.csv", "img_id,img_filename,y,split,place\n1,a.jpg,0,0\n", "metadata.csv:2: expected 5 comma-separated fields", true},
      {"/metadata.csv", "img_id,img_filename,y,split,place\n1,a.jpg,2,0,0\n", "metadata.csv:2: y must be 0 (landbird) or 1 (waterbird)", true},
      {"/metadata.csv", "img_id,img_filename,y,split,place\n1,a.jpg,1,5,0\n", "metadata.csv:2: split must be 0", true},
      {"/metadata.csv", "img_id,filename,y,split,place\n", "metadata.csv:1: header has no column 'img_filename'", true},
  };
  for (const auto& c : cases) {
    const std::string path = (c.waterbirds ? wb : cub.root) + c.file;
    const std::string saved = read_text(path);
    write_file(path, c.content);
    auto msg = test::error_of([&] { make_datasets(config(dir, c.waterbirds ? wb_cfg : cub_cfg)); });
    EXPECT_NE(msg.find(path.substr(0, path.size() - c.file.size()) + "/" + c.expect), std::string::npos)
        << "expected: " << c.expect << "\n got: " << msg;
    write_file(path, saved);
  }
}

TEST(BadInput, MissingAndCorruptImagesAreNamed_OrSkippedAndRecorded) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), true);
  const auto base = std::vector<std::string>{"dataset.name=cub", "dataset.root=" + cub.root};
  const std::string missing = cub.root + "/images/002.Laysan_Albatross/" + cub.names[4];
  const std::string corrupt = cub.root + "/images/003.Sooty_Albatross/" + cub.names[8];
  fs::remove(missing);
  auto msg = test::error_of([&] { make_datasets(config(dir, base)); });
  EXPECT_NE(msg.find(missing + ": file is missing"), std::string::npos) << msg;
  // A truncated JPEG: found at construction only when asked to check, else when decoded.
  draw(missing, 5);
  {
    std::string bytes = read_text(corrupt);
    write_file(corrupt, bytes.substr(0, 40));
  }
  auto splits = make_datasets(config(dir, base));
  const auto& train = splits.at("train");
  msg = test::error_of([&] { train.get_batch(iota(train.size()), std::nullopt); });
  EXPECT_NE(msg.find(corrupt), std::string::npos) << msg;
  // Through worker threads too: the error reaches the consumer.
  msg = test::error_of([&] {
    BatchLoader loader(splits.splits.at("train"), {{0, 1}, {2, 3}, {4, 5}}, 1, 2, 2);
    while (loader.next()) {
    }
  });
  EXPECT_NE(msg.find(corrupt), std::string::npos) << msg;
  // A corrupt segmentation is named as well.
  for (bool packed : {false, true}) {
    auto o = base;
    o.push_back("dataset.skip_corrupt=true");
    if (packed) o.push_back("dataset.packed_cache=true");
    auto skipped = make_datasets(config(dir, o));
    EXPECT_EQ(skipped.at("train").size(), 5) << packed;
    EXPECT_EQ(skipped.at("train").info().skipped, std::vector<std::string>{corrupt}) << packed;
    EXPECT_TRUE(skipped.at("test").info().skipped.empty());
    skipped.at("train").get_batch(iota(5), 3);  // the rest decodes
  }
  draw(corrupt, 9);
  const std::string seg = cub.root + "/segmentations/001.Black_footed_Albatross/" + fs::path(cub.names[0]).stem().string() + ".png";
  write_file(seg, "not a png");
  auto o = base;
  o.push_back("dataset.packed_cache=true");
  msg = test::error_of([&] { make_datasets(config(dir, o)); });
  EXPECT_NE(msg.find(seg + ": cannot decode mask"), std::string::npos) << msg;
}

TEST(PackedCache, BuiltOnceReusedAndCloseToDecoding) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), true);
  const auto base = std::vector<std::string>{"dataset.name=cub", "dataset.root=" + cub.root};
  auto packed_cfg = base;
  packed_cfg.push_back("dataset.packed_cache=true");
  auto direct = make_datasets(config(dir, base));
  auto packed = make_datasets(config(dir, packed_cfg));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir.file("cache/packed")))
    if (e.path().extension() == ".pack") files.push_back(e.path());
  ASSERT_EQ(files.size(), 2u);  // train and test
  const auto written = fs::last_write_time(files[0]);
  auto again = make_datasets(config(dir, packed_cfg));
  EXPECT_EQ(fs::last_write_time(files[0]), written);
  for (const std::string split : {"train", "test"}) {
    auto a = direct.at(split).get_batch(iota(6), std::nullopt), b = packed.at(split).get_batch(iota(6), std::nullopt),
         c = again.at(split).get_batch(iota(6), std::nullopt);
    EXPECT_TRUE(torch::equal(b.images, c.images));
    EXPECT_TRUE(torch::equal(a.labels, b.labels));
    // The images are small (no shrinking at resize 36 for most): nearly the same pixels.
    EXPECT_LT((a.images - b.images).abs().mean().item<double>(), 0.15) << split;
    EXPECT_GT(a.regions.eq(b.regions).to(torch::kFloat).mean().item<double>(), 0.95) << split;
  }
  // A damaged cache file (garbage; one flipped bit in its pixels, which its own checks did
  // not see before its digest) is named in a warning and packed again: never read. (Batches
  // of the maps above are taken first: the damage is done in place, under their mappings.)
  std::map<std::string, torch::Tensor> expected;
  for (const std::string split : {"train", "test"})
    expected[split] = again.at(split).get_batch(iota(6), std::nullopt).images.clone();
  for (const bool garbage : {true, false}) {
    if (garbage) {
      write_file(files[0].string(), "AIMPACK1 garbage");
    } else {
      std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(100);
      char c = 0;
      f.read(&c, 1);
      f.seekp(100);
      f.put(char(c ^ 0x10));
    }
    test::LogCapture log;
    auto repacked = make_datasets(config(dir, packed_cfg));
    EXPECT_NE(log.text().find(files[0].string() + ": damaged packed cache: "), std::string::npos) << log.text();
    EXPECT_NE(log.text().find(garbage ? "too short" : "content CRC-32"), std::string::npos) << log.text();
    for (const std::string split : {"train", "test"})
      EXPECT_TRUE(torch::equal(repacked.at(split).get_batch(iota(6), std::nullopt).images, expected[split]));
  }
}

TEST(EndToEnd, TrainOnMiniatureWaterbirdsRecordsSkippedFiles) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), true);
  auto wb = make_waterbirds(dir.file("wb"), cub);
  const std::string corrupt = wb + "/001.Black_footed_Albatross/" + cub.names[3];  // row 3: train
  write_file(corrupt, "\xFF\xD8\xFF garbage");
  const std::string common = " dataset.name=waterbirds dataset.root=" + wb + " dataset.cub_root=" + cub.root +
                             " dataset.image_size=32 dataset.resize=36 dataset.cache_dir=" + dir.file("cache") +
                             " model.backbone=small_cnn train.epochs=1 train.batch_size=2 output_dir=" + dir.file("out");
  auto cfg = dir.write("run.yaml", "train: {log_every: 0}\n");
  auto r = test::run_command(test::aimrun() + " train " + cfg + common + " dataset.workers=2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(corrupt), std::string::npos) << r.output;
  // A test bird that is not in the CUB copy: no ground truth, so no EPG (NaN), and left
  // out of the split's mean EPG.
  draw(wb + "/004.Extra/Extra_Bird_0001.jpg", 99);
  {
    std::ofstream(wb + "/metadata.csv", std::ios::app) << "999,004.Extra/Extra_Bird_0001.jpg,1,2,1,/w/ocean/1.jpg,x\n";
  }
  r = test::run_command(test::aimrun() + " train " + cfg + common + " dataset.skip_corrupt=true");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string result;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("out")))
    if (e.path().filename() == "result.h5") result = e.path().string();
  ASSERT_FALSE(result.empty());
  auto file = h5::open_file(result);
  auto g = file.openGroup("data/train");
  EXPECT_EQ(h5::read_strings(g, "skipped_files"), std::vector<std::string>{corrupt});
  EXPECT_EQ(h5::attr_int(g, "skipped"), 1);
  auto test_split = file.openGroup("eval/test");
  auto epg = h5::read<float>(test_split.openGroup("samples"), "epg_gradcam");
  double sum = 0;
  int missing = 0, present = 0;
  for (float v : epg) std::isnan(v) ? ++missing : (sum += v, ++present);
  EXPECT_EQ(missing, 1);
  ASSERT_GT(present, 0);
  EXPECT_NEAR(h5::attr_double(test_split, "epg_gradcam"), sum / present, 1e-6);
}

// predict --images prepares a file as evaluation does (shorter side to dataset.resize, centre
// crop dataset.image_size; the files here are not square): the same prediction and the same
// softmax confidence for every test image.
TEST(EndToEnd, PredictPreparesFilesLikeEvaluation) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), true);
  auto wb = make_waterbirds(dir.file("wb"), cub);
  const std::vector<std::string> keys = {"dataset.name=waterbirds", "dataset.root=" + wb, "dataset.cub_root=" + cub.root,
                                         "dataset.image_size=32", "dataset.resize=40"};
  std::string common;
  for (const auto& k : keys) common += " " + k;
  common += " dataset.cache_dir=" + dir.file("cache") + " model.backbone=small_cnn train.epochs=1 train.batch_size=2" +
            " output_dir=" + dir.file("out");
  auto cfg_file = dir.write("run.yaml", "train: {log_every: 0}\n");
  auto r = test::run_command(test::aimrun() + " train " + cfg_file + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string result;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("out")))
    if (e.path().filename() == "result.h5") result = e.path().string();
  ASSERT_FALSE(result.empty());
  auto run = results::read_run_file(result);
  const results::SplitResult* test = nullptr;
  for (const auto& s : run.splits)
    if (s.split == "test") test = &s;
  ASSERT_NE(test, nullptr);
  // The test split's files, in split order, copied under names that sort in that order.
  auto splits = make_datasets(config(dir, keys));
  auto ds = std::dynamic_pointer_cast<const ImageListDataset>(splits.splits.at("test"));
  ASSERT_TRUE(ds);
  ASSERT_GT(ds->size(), 1);
  bool some_not_square = false;
  for (size_t i = 0; i < ds->samples().size(); ++i) {
    const auto& src = ds->samples()[i].path;
    auto img = cv::imread(src);
    some_not_square = some_not_square || img.rows != img.cols;
    char name[32];
    std::snprintf(name, sizeof name, "%03zu", i);
    fs::create_directories(dir.file("files"));
    fs::copy_file(src, dir.file("files/") + name + fs::path(src).extension().string());
  }
  EXPECT_TRUE(some_not_square);
  r = test::run_command(test::aimrun() + " predict --run " + fs::path(result).parent_path().string() + " --images " +
                        dir.file("files") + " --out " + dir.file("pred.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto f = h5::open_file(dir.file("pred.h5"));
  auto pred = h5::read<int64_t>(f, "pred");
  std::vector<hsize_t> dims;
  auto logits = h5::read<float>(f, "logits", &dims);
  ASSERT_EQ(pred.size(), size_t(ds->size()));
  auto probs = torch::softmax(torch::from_blob(logits.data(), {int64_t(dims[0]), int64_t(dims[1])}), 1).amax(1);
  for (size_t i = 0; i < pred.size(); ++i) {
    EXPECT_EQ(pred[i], test->pred[i]) << i;
    EXPECT_NEAR(probs[int64_t(i)].item<float>(), test->per_sample.at("confidence")[i], 1e-5) << i;
  }
  // The removed --size is refused with what to do instead.
  r = test::run_command(test::aimrun() + " predict --run " + fs::path(result).parent_path().string() + " --images " +
                        dir.file("files") + " --size 32 32 --out " + dir.file("pred2.h5"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("dataset.image_size"), std::string::npos) << r.output;
}

TEST(BadInput, HalfAJpegIsCorrupt_EmptyFileToo) {
  TempDir dir;
  std::vector<Sample> samples(3);
  for (int i = 0; i < 3; ++i) {
    samples[size_t(i)].path = dir.file("i" + std::to_string(i) + ".jpg");
    draw(samples[size_t(i)].path, i, 200, 150);
  }
  // libjpeg decodes half a file with only a warning; the reader must not train on it.
  std::string bytes = read_text(samples[1].path);
  write_file(samples[1].path, bytes.substr(0, bytes.size() / 2));
  write_file(samples[2].path, "");
  ImageListOptions o;
  o.transforms.image_size = 32;
  ImageListDataset ds(test_info(""), samples, o);
  EXPECT_NO_THROW(ds.get_batch({0}, std::nullopt));
  auto msg = test::error_of([&] { ds.get_batch({1}, std::nullopt); });
  EXPECT_NE(msg.find(samples[1].path + ": cannot decode image (truncated JPEG"), std::string::npos) << msg;
  msg = test::error_of([&] { ds.get_batch({2}, std::nullopt); });
  EXPECT_NE(msg.find(samples[2].path + ": image file is empty"), std::string::npos) << msg;
  o.skip_corrupt = true;
  ImageListDataset skipping(test_info(""), samples, o);
  EXPECT_EQ(skipping.size(), 1);
  EXPECT_EQ(skipping.info().skipped, (std::vector<std::string>{samples[1].path, samples[2].path}));
}

TEST(Waterbirds, ACopyWithoutValRowsTrainsAndEvaluatesTest) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), false);
  auto wb = make_waterbirds(dir.file("wb"), cub);
  std::string meta = read_text(wb + "/metadata.csv"), kept;
  for (const auto& line : split(meta, '\n'))
    if (!line.empty() && line.find(",1,0,/b/") == std::string::npos && line.find(",1,1,/b/") == std::string::npos)
      kept += line + "\n";
  write_file(wb + "/metadata.csv", kept);
  auto splits = make_datasets(config(dir, {"dataset.name=waterbirds", "dataset.root=" + wb}));
  EXPECT_EQ(splits.eval_splits, std::vector<std::string>{"test"});
  EXPECT_EQ(splits.splits.count("val"), 0u);
}

TEST(Cub, ACopyWithoutClassesAndBoxesFilesNamesClassesByFolder) {
  TempDir dir;
  auto cub = make_cub(dir.file("cub"), false);
  fs::remove(cub.root + "/classes.txt");
  fs::remove(cub.root + "/bounding_boxes.txt");
  auto splits = make_datasets(config(dir, {"dataset.name=cub", "dataset.root=" + cub.root}));
  EXPECT_EQ(splits.at("train").info().class_names,
            (std::vector<std::string>{"001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"}));
  EXPECT_EQ(splits.at("train").info().region_kind, "");
  EXPECT_FALSE(splits.at("train").get_batch({0, 1}, 5).regions.defined());
}
