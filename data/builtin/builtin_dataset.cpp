// Registry entry of the built-in dataset: its config keys and how a config becomes splits.
#include <torch/torch.h>

#include "core/error.h"
#include "data/builtin/fashion_places.h"
#include "data/images/image_files.h"
#include "data/in_memory_dataset.h"
#include "data/registry.h"

namespace aim::data {

namespace {

FashionPlacesOptions options_from(const Config& cfg) {
  FashionPlacesOptions o;
  o.source_dir = cfg.get_string("dataset.source");
  o.canvas = cfg.get_int("dataset.canvas");
  o.classes = cfg.get_string("dataset.classes");
  o.correlation = cfg.get_float("dataset.correlation");
  auto scale = cfg.get_float_list("dataset.scale");
  if (scale.size() != 2 || !(scale[0] > 0 && scale[0] <= scale[1] && scale[1] < 1))
    cfg.fail("dataset.scale", "expected [min, max] with 0 < min <= max < 1 (the garment must not fill the canvas)");
  o.scale_min = scale[0];
  o.scale_max = scale[1];
  auto size = [&](const char* key) { return cfg.is_null(key) ? int64_t{-1} : cfg.get_int(key); };
  o.train_size = size("dataset.train_size");
  o.val_size = cfg.get_int("dataset.val_size");
  o.test_size = size("dataset.test_size");
  o.seed = uint64_t(cfg.get_int("dataset.seed"));
  return o;
}

Normalisation normalisation_of(const Config& cfg) {
  Normalisation norm;
  auto mean = cfg.get_float_list("dataset.mean"), std = cfg.get_float_list("dataset.std");
  if (mean.size() != 3) cfg.fail("dataset.mean", "expected 3 values (R, G, B)");
  if (std.size() != 3) cfg.fail("dataset.std", "expected 3 values (R, G, B)");
  norm.mean.assign(mean.begin(), mean.end());
  norm.std.assign(std.begin(), std.end());
  return norm;
}

DatasetSplits make(const Config& cfg) {
  auto options = options_from(cfg);
  auto data = load_or_generate_fashion_places(options, cache_dir_of(cfg));
  const Normalisation norm = normalisation_of(cfg);

  DatasetSplits out;
  const bool hflip = cfg.get_bool("dataset.hflip");
  for (const std::string name : {"train", "val", "test"}) {
    const PackedSplit& s = data.splits.at(name);
    SplitInfo info;
    info.dataset = "builtin";
    info.split = name;
    info.class_names = data.class_names;
    info.group_names = data.group_names();
    info.region_kind = "segmentation";
    out.splits[name] = std::make_shared<InMemoryDataset>(info, s.images, s.labels, s.groups, s.regions, norm,
                                                         hflip && name == "train");
  }
  out.eval_splits = {"val", "test"};
  return out;
}

// Image files as the built-in dataset's evaluation sees its images: canvas x canvas pixels
// (a file of another size: shorter side to the canvas, centre crop), normalised alike.
std::shared_ptr<const Dataset> files(const Config& cfg, const std::vector<std::string>& paths) {
  ImageListOptions o;
  o.transforms.image_size = o.transforms.resize = cfg.get_int("dataset.canvas");
  o.norm = normalisation_of(cfg);
  return image_files_dataset(paths, o, "builtin");
}

// The split sizes generate_fashion_places() will make, from the label files alone.
DatasetLayout layout(const Config& cfg) {
  FashionPlacesPools pools;
  try {
    pools = fashion_places_pools(cfg.get_string("dataset.source"), cfg.get_string("dataset.classes"));
  } catch (const DataError& e) {
    cfg.fail("dataset.source", e.what());
  }
  const int64_t val = cfg.get_int("dataset.val_size");
  if (val >= pools.train)
    cfg.fail("dataset.val_size", std::to_string(val) + " samples asked for, but Fashion-MNIST train holds " +
                                     std::to_string(pools.train) + " of these classes (val and train are drawn from them)");
  int64_t train = pools.train - val, test = pools.test;
  if (!cfg.is_null("dataset.train_size")) {
    if (cfg.get_int("dataset.train_size") > train)
      cfg.fail("dataset.train_size", "at most " + std::to_string(train) + " samples remain after dataset.val_size (" +
                                         std::to_string(val) + "), asked for " + cfg.text("dataset.train_size"));
    train = cfg.get_int("dataset.train_size");
  }
  if (!cfg.is_null("dataset.test_size")) {
    if (cfg.get_int("dataset.test_size") > test)
      cfg.fail("dataset.test_size", "at most " + std::to_string(test) + " test samples are available, asked for " +
                                        cfg.text("dataset.test_size"));
    test = cfg.get_int("dataset.test_size");
  }
  return {{{"train", train}, {"val", val}, {"test", test}}, {"val", "test"}};
}

void add_keys(Schema& s) {
  s.add(KeySpec("dataset.source", ValueType::String, "/usr/share/datasets/fashion-mnist", "builtin: folder with the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)").not_identity().only_when("dataset.name", {"builtin"}).existing_path());
  s.add(KeySpec("dataset.canvas", ValueType::Int, "64", "builtin: image side in pixels").range(16.0, 1024.0).only_when("dataset.name", {"builtin"}));
  s.add(KeySpec("dataset.classes", ValueType::String, "binary", "builtin: 'binary' (tops vs footwear, 2 places, 4 groups like Waterbirds) or 'all' (10 classes, 10 places)").one_of({"binary", "all"}).only_when("dataset.name", {"builtin"}));
  s.add(KeySpec("dataset.scale", ValueType::FloatList, "[0.4, 0.65]", "builtin: range of the garment's side as a fraction of the canvas side (the garment must not fill the canvas)").length(2).above(0.0).below(1.0).ascending().only_when("dataset.name", {"builtin"}));
  s.add(KeySpec("dataset.test_size", ValueType::Int, "~", "builtin: test samples (~: all of Fashion-MNIST test)").range(1.0, std::nullopt).only_when("dataset.name", {"builtin"}));
}

}  // namespace

DatasetEntry builtin_dataset_entry() {
  return {"builtin", "Fashion-MNIST garments on procedural backgrounds (a miniature Waterbirds)", add_keys, make,
          layout, files};
}

}  // namespace aim::data
