// Registries own their keys (docs/architecture.md, "The pieces, and where to add things"):
// each dataset, backbone and method entry declares the keys it reads, and a key applies to
// exactly the entries that declared it. This binary adds datasets of its own through the
// public registry API, as an experiment would: one file, one registration line.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "aim/attribution.h"
#include "aim/registry.h"
#include "core/error.h"
#include "core/files.h"
#include "core/h5.h"
#include "data/dataset_keys.h"
#include "data/in_memory_dataset.h"
#include "data/registry.h"
#include "results/run_file.h"
#include "runner/comm/communicator.h"
#include "runner/predict.h"
#include "runner/registry_keys.h"
#include "runner/schema.h"
#include "runner/trainer.h"
#include "test_util.h"
#ifdef AIM_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/images/image_files.h"
#include "data/readers/common.h"
#endif

using namespace aim;

namespace {

namespace fs = std::filesystem;

// ---- A dataset of this file: stripes, horizontal (class 0) or vertical (class 1). ----

at::Tensor stripes(int64_t n, int64_t side, int64_t width) {
  auto rows = (torch::arange(side) / width) % 2;  // 0 1 0 1 ... in bands of `width`
  auto horizontal = rows.view({side, 1}).expand({side, side});
  auto images = torch::empty({n, 3, side, side}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    auto band = (i % 2 == 0 ? horizontal : horizontal.t()) * 200 + 20;
    images[i].copy_(band.unsqueeze(0).expand({3, side, side}));
  }
  return images;
}

std::shared_ptr<const data::Dataset> stripes_split(const Config& cfg, const std::string& split, int64_t n) {
  const int64_t side = cfg.get_int("dataset.image_size");
  data::SplitInfo info;
  info.dataset = "stripes";
  info.split = split;
  info.class_names = {"horizontal", "vertical"};
  info.region_kind = "boxes";
  auto labels = torch::arange(n) % 2;
  auto regions = torch::ones({n, side, side}, torch::kUInt8);
  return std::make_shared<data::InMemoryDataset>(info, stripes(n, side, cfg.get_int("dataset.stripe_width")), labels,
                                                 torch::full({n}, -1, torch::kLong), regions, data::Normalisation{},
                                                 split == "train");
}

data::DatasetEntry stripes_entry() {
  data::DatasetEntry e;
  e.name = "stripes";
  e.help = "horizontal or vertical stripes (tests/test_registries.cpp)";
  e.add_keys = [](Schema& s) {
    s.add(data::image_size_key());  // shared with synthetic and the image datasets
    s.add(KeySpec("dataset.stripe_width", ValueType::Int, "2", "stripes: rows per band").range(1.0, 64.0));
  };
  e.make = [](const Config& cfg) {
    data::DatasetSplits out;
    out.splits["train"] = stripes_split(cfg, "train", 64);
    out.splits["val"] = stripes_split(cfg, "val", 32);
    out.eval_splits = {"val"};
    return out;
  };
  e.layout = [](const Config&) { return data::DatasetLayout{{{"train", 64}, {"val", 32}}, {"val"}}; };
  return e;
}

// The registration line.
const bool stripes_registered = data::register_dataset(stripes_entry());

#ifdef AIM_WITH_OPENCV
// ---- An image-folder dataset of this file: <root>/<split>/<h|v>_NNN.png, not square. ----

std::vector<data::Sample> folder_samples(const std::string& dir) {
  std::vector<data::Sample> out;
  for (const auto& name : data::list_image_files(dir)) {
    data::Sample s;
    s.path = dir + "/" + name;
    s.label = name[0] == 'v';
    s.boxes = {{4, 4, 8, 8}};
    out.push_back(std::move(s));
  }
  return out;
}

data::DatasetEntry folder_entry() {
  data::DatasetEntry e;
  e.name = "stripe_files";
  e.help = "stripes as PNG files (tests/test_registries.cpp)";
  e.add_keys = data::readers::add_image_dataset_keys;
  e.make = [](const Config& cfg) {
    const std::string root = data::readers::root_of(cfg);
    return data::readers::make_splits(
        cfg, "stripe_files", {{"train", folder_samples(root + "/train")}, {"val", folder_samples(root + "/val")}},
        {"horizontal", "vertical"}, {}, "boxes", {"val"});
  };
  e.layout = [](const Config& cfg) { return data::readers::image_layout(cfg, {"train", "val"}, {"val"}); };
  e.files = data::readers::files_like_eval;
  return e;
}

const bool folder_registered = data::register_dataset(folder_entry());

// Stripes of `n` files, `width` x `height` pixels, alternately horizontal and vertical.
void write_stripe_files(const std::string& dir, int n, int width, int height) {
  fs::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    cv::Mat img(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const int band = i % 2 == 0 ? (y / 3) % 2 : (x / 3) % 2;
        img.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(30 + 180 * band), uchar(40 + 150 * band), uchar(20 + 200 * band));
      }
    char name[32];
    std::snprintf(name, sizeof name, "%c_%03d.png", i % 2 == 0 ? 'h' : 'v', i);
    ASSERT_TRUE(cv::imwrite(dir + "/" + name, img));
  }
}
#endif

std::vector<std::string> applies_to(const std::string& key) {
  const KeySpec* spec = full_schema().find(key);
  return spec ? spec->entries : std::vector<std::string>{"(no such key)"};
}

// Trains the config in dir/run through the trainer's entry point (as `aimrun train` does).
RunPaths train(const test::TempDir& dir, const Config& cfg) {
  RunPaths paths{dir.path() + "/run"};
  fs::create_directories(paths.dir);
  write_text_atomic(paths.config(), cfg.to_yaml());
  auto comm = comm::make_local_communicator();
  EXPECT_EQ(train_run(cfg, paths, *comm, {}), TrainOutcome::Completed);
  return paths;
}

const char* kTiny = "train: {epochs: 1, batch_size: 16, log_every: 0}\nmodel: {width: 4}\neval: {pictures: 0}\n";

}  // namespace

// The schema reads the torch-free key registries (aim/model_keys.h, data/dataset_info.h), the
// runs the factories (aim/registry.h, data/registry.h), found by name: both list the same
// entries, in the same order, with the same help. An entry added to one side only fails here.
template <class Keys, class Factories>
void expect_same_entries(const Keys& keys, const Factories& factories, const std::string& what) {
  std::vector<std::string> key_names, factory_names;
  for (const auto& e : keys) key_names.push_back(e.name);
  for (const auto& e : factories) factory_names.push_back(e.name);
  EXPECT_EQ(key_names, factory_names) << what;
  EXPECT_FALSE(key_names.empty()) << what;
  for (size_t i = 0; i < std::min(keys.size(), factories.size()); ++i) {
    EXPECT_EQ(keys[i].help, factories[i].help) << what << " " << keys[i].name;
    EXPECT_EQ(bool(keys[i].add_keys), bool(factories[i].add_keys)) << what << " " << keys[i].name;
  }
}

TEST(RegistryNames, TheKeyRegistriesAndTheFactoriesListTheSameEntries) {
  expect_same_entries(model::backbone_keys_registry(), model::backbone_registry(), "backbones");
  expect_same_entries(model::method_keys_registry(), model::method_registry(), "methods");
  // Datasets: the built-in ones and those this binary registers (register_dataset: both sides).
  expect_same_entries(data::dataset_info_registry(), data::dataset_registry(), "datasets");
  // The comparison itself fails on a list that differs by one entry.
  auto fewer = model::backbone_keys_registry();
  fewer.pop_back();
  EXPECT_NONFATAL_FAILURE(expect_same_entries(fewer, model::backbone_registry(), "one missing"), "one missing");
}

// eval.attributions accepts attribution_names() (aim/attribution_names.h, torch-free): a
// model makes each of them, and nothing else.
TEST(RegistryNames, EveryAttributionNameIsOneTheModelsMake) {
  FlatConfig flat;
  apply_override(flat, "method.name=aim");
  apply_override(flat, "model.width=8");
  const Config cfg = resolve_run_config(flat);
  auto model = model::make_model(cfg, 2);
  for (const auto& name : model::attribution_names())
    EXPECT_FALSE(model::make_attributions({name}, *model).empty()) << name;
  EXPECT_THROW(model::make_attributions({"saliency"}, *model), std::invalid_argument);
}

TEST(RegistryKeys, AKeySeveralEntriesDeclareIsKeptOnceAndAppliesToEach) {
  auto shared = [] { return KeySpec("x.shared", ValueType::Int, "1", "a, b: shared").range(0.0, 9.0); };
  Schema s;
  s.add(KeySpec("x.kind", ValueType::String, "a", "which").one_of({"a", "b", "c"}));
  add_entry_keys(
      s, "x.kind",
      {{"a",
        [&](Schema& o) {
          o.add(shared());
          o.add(KeySpec("x.only_a", ValueType::Bool, "false", "a: its own"));
          o.add(KeySpec("x.neutral", ValueType::Int, "0", "a: counts unless 0").only_when("x.neutral", {"!0"}));
        }},
       {"b", [&](Schema& o) { o.add(shared()); }},
       {"c", nullptr}});
  ASSERT_EQ(s.keys().size(), 4u);  // x.kind, x.shared once, x.only_a, x.neutral
  EXPECT_EQ(s.find("x.shared")->when_key, "x.kind");
  EXPECT_EQ(s.find("x.shared")->when_values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.find("x.shared")->entries, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.find("x.only_a")->when_values, (std::vector<std::string>{"a"}));
  // A key with a condition of its own keeps it, and remembers who declared it.
  EXPECT_EQ(s.find("x.neutral")->when_key, "x.neutral");
  EXPECT_EQ(s.find("x.neutral")->entry_key, "x.kind");
  EXPECT_EQ(s.find("x.neutral")->entries, (std::vector<std::string>{"a"}));
  auto resolve = [&](const std::string& kind, const std::string& neutral) {
    FlatConfig flat;
    apply_override(flat, "x.kind=" + kind);
    apply_override(flat, "x.neutral=" + neutral);
    apply_override(flat, "x.only_a=true");
    return Config::resolve(flat, s);
  };
  EXPECT_TRUE(resolve("a", "0").applies("x.only_a"));
  EXPECT_FALSE(resolve("b", "0").applies("x.only_a"));
  EXPECT_TRUE(resolve("b", "0").applies("x.shared"));
  EXPECT_FALSE(resolve("c", "0").applies("x.shared"));
  EXPECT_NO_THROW(check_entry_keys(resolve("a", "3")));
  EXPECT_NO_THROW(check_entry_keys(resolve("b", "0")));  // x.only_a of another entry: out of the identity
  auto msg = test::error_of<ConfigError>([&] { check_entry_keys(resolve("b", "3")); });
  EXPECT_NE(
      msg.find("command line (x.neutral=3): x.neutral: applies only to x.kind a, and this config's x.kind is 'b'"),
      std::string::npos)
      << msg;
}

TEST(RegistryKeys, TwoEntriesDeclaringAKeyDifferentlyOrNamingTheirOwnConditionAreRefused) {
  Schema s;
  auto declare = [](std::string help) {
    return [help](Schema& o) { o.add(KeySpec("x.k", ValueType::Int, "1", help)); };
  };
  try {
    add_entry_keys(s, "x.kind", {{"a", declare("one")}, {"b", declare("other")}});
    ADD_FAILURE() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("x.k is declared differently by a and b"), std::string::npos) << e.what();
  }
  auto conditioned = [](Schema& o) { o.add(KeySpec("x.k", ValueType::Int, "1", "k").only_when("x.kind", {"a"})); };
  EXPECT_THROW(add_entry_keys(s, "x.kind", {{"a", conditioned}}), std::logic_error);
}

TEST(RegistryKeys, EveryEntryKeyAppliesToTheEntriesThatDeclareIt) {
  using V = std::vector<std::string>;
  EXPECT_EQ(applies_to("method.stages"), (V{"bottom_up", "aim"}));
  EXPECT_EQ(applies_to("method.width"), (V{"aim"}));
  EXPECT_EQ(applies_to("model.width"), (V{"small_cnn"}));
  EXPECT_EQ(applies_to("model.drop_path"), (V{"convnext_tiny"}));
  EXPECT_EQ(applies_to("model.weights"), (V{"resnet18", "resnet34", "resnet50", "resnet101", "convnext_tiny"}));
  EXPECT_EQ(applies_to("dataset.num_classes"), (V{"synthetic"}));
  EXPECT_EQ(applies_to("dataset.stripe_width"), (V{"stripes"}));
#ifdef AIM_WITH_OPENCV
  EXPECT_EQ(applies_to("dataset.seed"), (V{"builtin", "synthetic", "cub", "traveling_birds"}));
  EXPECT_EQ(applies_to("dataset.correlation"), (V{"builtin", "waterbirds"}));
  EXPECT_EQ(applies_to("dataset.segmentations"), (V{"cub", "waterbirds", "traveling_birds"}));
  EXPECT_EQ(applies_to("dataset.image_size"), (V{"synthetic", "cub", "waterbirds", "traveling_birds", "hard_imagenet",
                                                 "imagenet100", "imagewoof", "stripes", "stripe_files"}));
  EXPECT_EQ(applies_to("dataset.root"),
            (V{"cub", "waterbirds", "traveling_birds", "hard_imagenet", "imagenet100", "imagewoof", "stripe_files"}));
  EXPECT_EQ(applies_to("dataset.task"), (V{"builtin"}));
  EXPECT_EQ(full_schema().find("dataset.task")->when_key, "dataset.task");  // its identity rule is its own
  EXPECT_EQ(full_schema().find("dataset.name")->default_yaml, "builtin");   // registering adds, after the rest
#endif
  // The runner's own keys belong to no entry.
  EXPECT_TRUE(full_schema().find("train.epochs")->entry_key.empty());
  EXPECT_TRUE(full_schema().find("dataset.mean")->entry_key.empty());
}

TEST(RegistryKeys, RegisteringAfterTheRegistryWasReadOrTwiceIsRefused) {
  ASSERT_TRUE(stripes_registered);
  data::dataset_registry();
  auto e = stripes_entry();
  e.name = "late";
  EXPECT_THROW(data::register_dataset(e), std::logic_error);
  EXPECT_THROW(data::register_dataset(stripes_entry()), std::logic_error);
}

#ifdef AIM_WITH_OPENCV
// dataset.task and dataset.ood_size are the built-in dataset's; set to a value that would
// count (enter the run's identity) for another dataset they are refused naming the key and
// the dataset they apply to. At their neutral value, or for keys that never count for the
// other dataset (method.target of a vanilla run), they stay silently out of the identity.
TEST(RegistryKeys, AKeyOfAnotherEntryThatWouldCountIsAConfigError) {
  test::TempDir dir;
  const auto cfg = dir.write("a.yaml", "dataset: {name: synthetic, image_size: 16}\n");
  auto msg = test::error_of<ConfigError>([&] { load_run_config(cfg, {"dataset.task=pretrain"}); });
  EXPECT_NE(msg.find("dataset.task: applies only to dataset.name builtin, and this config's dataset.name is "
                     "'synthetic'"),
            std::string::npos)
      << msg;
  msg = test::error_of<ConfigError>(
      [&] { load_run_config(dir.write("b.yaml", "dataset: {name: stripes, ood_size: 10}\n"), {}); });
  EXPECT_NE(msg.find("b.yaml:1: dataset.ood_size: applies only to dataset.name builtin"), std::string::npos) << msg;
  const auto plain = load_run_config(cfg, {});
  EXPECT_EQ(load_run_config(cfg, {"dataset.task=finetune"}).run_id(), plain.run_id());
  EXPECT_EQ(load_run_config(cfg, {"dataset.segmentations=false", "method.target=0.5"}).run_id(), plain.run_id());
  // `aimrun train` ends with exit code 2 before anything is written.
  auto r = test::run_command(test::aimrun() + " train " + cfg + " dataset.task=pretrain output_dir=" + dir.file("out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("dataset.task: applies only to dataset.name builtin"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("out")));
}
#endif

// The docs' claim: adding a dataset is one file plus one registry line. This file's
// `stripes` trains one epoch through the trainer like any other dataset, and its own key
// is part of the identity of its runs only.
TEST(RegistryKeys, ADatasetRegisteredByATestTrains) {
  test::TempDir dir;
  auto cfg = load_run_config(dir.write("a.yaml", kTiny), {"dataset.name=stripes", "dataset.image_size=16",
                                                          "dataset.stripe_width=3", "output_dir=" + dir.path()});
  EXPECT_NE(cfg.to_yaml(true).find("stripe_width: 3"), std::string::npos);
  EXPECT_EQ(load_run_config(dir.file("a.yaml"), {"dataset.name=synthetic", "dataset.stripe_width=3"}).run_id(),
            load_run_config(dir.file("a.yaml"), {"dataset.name=synthetic"}).run_id());
  check_run_config(cfg);
  auto paths = train(dir, cfg);
  auto r = results::read_run_file(paths.result());
  EXPECT_EQ(r.run_id, cfg.run_id());
  ASSERT_EQ(r.splits.size(), 1u);
  EXPECT_EQ(r.splits[0].split, "val");
  EXPECT_EQ(r.splits[0].n, 32);
  EXPECT_EQ(r.curves.series.at("train_loss").size(), 1u);
}

#ifdef AIM_WITH_OPENCV
// predict --images prepares files as evaluation does: the dataset's evaluation transform
// (shorter side to dataset.resize, centre crop of dataset.image_size), not a square resize.
// On non-square PNG files, predict gives every file of the val split evaluation's
// prediction and softmax confidence.
TEST(RegistryKeys, PredictAgreesWithEvaluationOnNonSquareFiles) {
  test::TempDir dir;
  write_stripe_files(dir.file("data/train"), 32, 30, 20);
  write_stripe_files(dir.file("data/val"), 12, 20, 34);
  auto cfg = load_run_config(dir.write("a.yaml", kTiny),
                             {"dataset.name=stripe_files", "dataset.root=" + dir.file("data"), "dataset.image_size=16",
                              "dataset.resize=24", "output_dir=" + dir.path()});
  auto paths = train(dir, cfg);
  auto run = results::read_run_file(paths.result());
  ASSERT_EQ(run.splits.size(), 1u);
  const auto& val = run.splits[0];
  PredictOptions o;
  o.run_dir = paths.dir;
  o.images_dir = dir.file("data/val");
  o.out = dir.file("pred.h5");
  ASSERT_EQ(predict(o), 12);
  auto f = h5::open_file(o.out);
  auto pred = h5::read<int64_t>(f, "pred");
  std::vector<hsize_t> dims;
  auto logits = h5::read<float>(f, "logits", &dims);
  ASSERT_EQ(pred.size(), size_t(val.n));
  auto probs = torch::softmax(torch::from_blob(logits.data(), {int64_t(dims[0]), int64_t(dims[1])}), 1).amax(1);
  for (size_t i = 0; i < pred.size(); ++i) {
    EXPECT_EQ(pred[i], val.pred[i]) << i;
    EXPECT_NEAR(probs[int64_t(i)].item<float>(), val.per_sample.at("confidence")[i], 1e-5) << i;
  }
  // Not a square resize (what predict once did): that gives other pixels.
  const auto file = dir.file("data/val/v_001.png");
  auto prepared = data::dataset_of_files(cfg, {file})->get_batch({0}, std::nullopt).images[0];
  cv::Mat square;
  cv::resize(cv::imread(file), square, cv::Size(16, 16), 0, 0, cv::INTER_AREA);
  cv::cvtColor(square, square, cv::COLOR_BGR2RGB);
  auto rgb = torch::from_blob(square.data, {16, 16, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat) / 255.0;
  auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1}), sd = torch::tensor({0.229f, 0.224f, 0.225f});
  auto squared = (rgb - mean) / sd.view({3, 1, 1});
  ASSERT_EQ(prepared.sizes(), squared.sizes());
  EXPECT_GT((squared - prepared).abs().max().item<float>(), 0.5f);
}
#endif
