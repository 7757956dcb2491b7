// CUB-200-2011 (Wah et al. 2011): 200 bird species, CUB's own train/test split, boxes and
// optional segmentations as EPG ground truth.
#include "core/error.h"
#include "data/readers/common.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace cub {

DatasetSplits make(const Config& cfg) {
  const auto cub = readers::read_cub(readers::root_of(cfg), /*full=*/true);
  const bool segs = cfg.get_bool("dataset.segmentations") && cub.has_segmentations;
  std::vector<Sample> train, test;
  for (const auto& [id, rel] : cub.image_path) {
    Sample s;
    s.path = cub.root + "/images/" + rel;
    s.label = cub.label.at(id);
    if (segs) {
      s.mask_path = cub.segmentation_of(id);
      s.mask_threshold = 127;  // soft masks: the annotators' majority
    } else if (auto b = cub.box.find(id); b != cub.box.end()) {
      s.boxes = {b->second};
    }
    (cub.is_train.at(id) ? train : test).push_back(std::move(s));
  }
  std::vector<std::string> eval;
  auto splits = readers::train_val_test(cfg, std::move(train), std::move(test), eval);
  const std::string region = segs ? "segmentation" : cub.box.empty() ? "" : "boxes";
  return readers::make_splits(cfg, "cub", std::move(splits), cub.class_names, {}, region, eval);
}

void add_keys(Schema& s) {
  readers::add_image_dataset_keys(s);
  readers::add_held_out_val_keys(s);
  s.add(readers::segmentations_key());
}

}  // namespace cub

DatasetEntry cub_dataset_entry() {
  return {"cub",
          "CUB-200-2011: 200 bird species, boxes and optional segmentations (docs/datasets.md)",
          cub::add_keys,
          cub::make,
          readers::layout_with_held_out_val,
          readers::files_like_eval};
}

}  // namespace aim::data
