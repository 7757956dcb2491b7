// Registry entry of the built-in dataset: how a config becomes splits (its keys and layout:
// builtin_info.cpp).
#include <torch/torch.h>

#include "core/error.h"
#include "data/builtin/builtin_info.h"
#include "data/builtin/fashion_places.h"
#include "data/dataset_keys.h"
#include "data/images/image_files.h"
#include "data/in_memory_dataset.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace builtin {

Normalisation normalisation_of(const Config& cfg) {
  Normalisation norm;
  auto mean = cfg.get_float_list("dataset.mean"), std = cfg.get_float_list("dataset.std");
  if (mean.size() != 3) cfg.fail("dataset.mean", "expected 3 values (R, G, B)");
  if (std.size() != 3) cfg.fail("dataset.std", "expected 3 values (R, G, B)");
  norm.mean.assign(mean.begin(), mean.end());
  norm.std.assign(std.begin(), std.end());
  return norm;
}

std::shared_ptr<const Dataset> split_dataset(const FashionPlaces& data, const std::string& name,
                                             const Normalisation& norm, bool hflip) {
  const PackedSplit& s = data.splits.at(name);
  SplitInfo info;
  info.dataset = "builtin";
  info.split = name;
  info.class_names = data.class_names;
  info.group_names = data.group_names();
  info.region_kind = "segmentation";
  return std::make_shared<InMemoryDataset>(info, s.images, s.labels, s.groups, s.regions, norm, hflip);
}

DatasetSplits make(const Config& cfg) {
  auto options = options_from(cfg);
  const Normalisation norm = normalisation_of(cfg);
  const bool hflip = cfg.get_bool("dataset.hflip");
  DatasetSplits out;
  if (options.task == "pretrain") {
    auto data =
        load_or_generate_fashion_places(options, cache_dir_of(cfg), nullptr, FashionPart::Pretrain, cache_wait_of(cfg));
    out.splits["train"] = split_dataset(data, "train", norm, hflip);
    out.splits["val"] = split_dataset(data, "val", norm, false);
    out.eval_splits = {"val"};
    return out;
  }
  auto data =
      load_or_generate_fashion_places(options, cache_dir_of(cfg), nullptr, FashionPart::Finetune, cache_wait_of(cfg));
  for (const std::string name : {"train", "val", "test"})
    out.splits[name] = split_dataset(data, name, norm, hflip && name == "train");
  out.eval_splits = {"val", "test"};
  if (options.ood_size > 0) {  // its own generator and cache: the other splits stay as they were
    auto ood =
        load_or_generate_fashion_places(options, cache_dir_of(cfg), nullptr, FashionPart::Ood, cache_wait_of(cfg));
    out.splits["ood"] = split_dataset(ood, "ood", norm, false);
    out.eval_splits.push_back("ood");
  }
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

}  // namespace builtin

DatasetEntry builtin_dataset_entry() { return {builtin_dataset_info(), builtin::make, builtin::files}; }

}  // namespace aim::data
