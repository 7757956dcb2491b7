#include "data/readers/image_info.h"

#include "data/dataset_keys.h"

namespace aim::data {

namespace readers {

void add_image_dataset_keys(Schema& s) {
  s.add(KeySpec("dataset.root", ValueType::String, "~",
                "image datasets: the dataset's folder (layouts: docs/datasets.md)")
            .existing_path()
            .not_identity());
  s.add(KeySpec("dataset.resize", ValueType::Int, "256",
                "image datasets: evaluation resizes the shorter side to this, then centre-crops image_size; the packed "
                "cache stores images at this shorter side")
            .range(8.0, 8192.0));
  s.add(KeySpec("dataset.crop_scale", ValueType::FloatList, "[0.08, 1.0]",
                "image datasets: training RandomResizedCrop area range (fractions of the image)")
            .length(2)
            .above(0.0)
            .at_most(1.0)
            .ascending());
  s.add(KeySpec("dataset.crop_ratio", ValueType::FloatList, "[0.75, 1.3333333333333333]",
                "image datasets: training RandomResizedCrop aspect-ratio range")
            .length(2)
            .above(0.0)
            .ascending());
  s.add(KeySpec(
      "dataset.packed_cache", ValueType::Bool, "false",
      "image datasets: decode and resize every image once into <cache_dir>/packed/ and read from there every epoch"));
  s.add(KeySpec("dataset.skip_corrupt", ValueType::Bool, "false",
                "image datasets: leave out missing or undecodable images (checked once at start, listed in the result "
                "file) instead of stopping with an error")
            .not_identity());
  s.add(image_size_key());
}

KeySpec cub_root_key() {
  return KeySpec("dataset.cub_root", ValueType::String, "~",
                 "waterbirds, traveling_birds: a CUB-200-2011 folder whose boxes (and segmentations) are matched to "
                 "the images by file name; without it no EPG ground truth")
      .existing_path()
      .not_identity();
}

KeySpec segmentations_key() {
  return KeySpec("dataset.segmentations", ValueType::Bool, "true",
                 "cub, waterbirds, traveling_birds: EPG ground truth from CUB's segmentations when the copy has them "
                 "(else its boxes)");
}

KeySpec val_fraction_key() {
  return KeySpec("dataset.val_fraction", ValueType::Float, "0.0",
                 "cub, traveling_birds: fraction of each training class held out as a 'val' split (drawn from "
                 "dataset.seed); 0: no val split")
      .range(0.0, 0.9);
}

void add_held_out_val_keys(Schema& s) {
  s.add(seed_key());
  s.add(val_fraction_key());
}

DatasetLayout image_layout(const Config& cfg, const std::vector<std::string>& splits, std::vector<std::string> eval) {
  root_of(cfg);
  DatasetLayout out;
  for (const auto& s : splits) out.split_sizes[s] = -1;
  out.eval_splits = std::move(eval);
  return out;
}

DatasetLayout layout_with_held_out_val(const Config& cfg) {
  if (cfg.get_float("dataset.val_fraction") > 0) return image_layout(cfg, {"train", "val", "test"}, {"val", "test"});
  return image_layout(cfg, {"train", "test"}, {"test"});
}

std::string root_of(const Config& cfg) {
  if (cfg.is_null("dataset.root"))
    cfg.fail("dataset.root",
             "required for dataset '" + cfg.get_string("dataset.name") + "': the dataset's folder (docs/datasets.md)");
  return cfg.get_string("dataset.root");
}

}  // namespace readers

namespace cub {
void add_keys(Schema& s) {
  readers::add_image_dataset_keys(s);
  readers::add_held_out_val_keys(s);
  s.add(readers::segmentations_key());
}

}  // namespace cub

namespace waterbirds {
void add_keys(Schema& s) {
  readers::add_image_dataset_keys(s);
  s.add(correlation_key());
  s.add(readers::cub_root_key());
  s.add(readers::segmentations_key());
}

}  // namespace waterbirds

namespace traveling_birds {
void add_keys(Schema& s) {
  readers::add_image_dataset_keys(s);
  readers::add_held_out_val_keys(s);
  s.add(readers::cub_root_key());
  s.add(readers::segmentations_key());
}

}  // namespace traveling_birds

namespace hard_imagenet {
void add_keys(Schema& s) {
  readers::add_image_dataset_keys(s);
  s.add(KeySpec("dataset.imagenet_root", ValueType::String, "~",
                "hard_imagenet: the ILSVRC2012 folder with train/<wnid>/ and val/<wnid>/ images")
            .existing_path()
            .not_identity());
}

}  // namespace hard_imagenet

namespace imagenet_subset {
void add_keys(Schema& s) {
  readers::add_image_dataset_keys(s);
  s.add(KeySpec("dataset.class_list", ValueType::String, "~",
                "imagenet100, imagewoof: file with one wnid per line (optionally a name after whitespace); ~: every "
                "class folder under <root>/train")
            .existing_path());
  s.add(KeySpec("dataset.boxes_dir", ValueType::String, "~",
                "imagenet100, imagewoof: ILSVRC localisation XML folder (Annotations/CLS-LOC) for EPG boxes; ~: no "
                "ground truth")
            .existing_path()
            .not_identity());
}

}  // namespace imagenet_subset

DatasetInfo cub_dataset_info() {
  return {"cub", "CUB-200-2011: 200 bird species, boxes and optional segmentations (docs/datasets.md)", cub::add_keys,
          readers::layout_with_held_out_val};
}

DatasetInfo waterbirds_dataset_info() {
  return {"waterbirds",
          "Waterbirds (95% or 100% variant: the folder dataset.root points at, named by dataset.correlation), 4 groups "
          "label x place",
          waterbirds::add_keys, [](const Config& cfg) {
            return readers::image_layout(cfg, {"train", "val", "test"}, {"val", "test"});
          }};
}

DatasetInfo traveling_birds_dataset_info() {
  return {"traveling_birds", "TravelingBirds (CUB_fixed): species on shifted backgrounds in test",
          traveling_birds::add_keys, readers::layout_with_held_out_val};
}

DatasetInfo hard_imagenet_dataset_info() {
  return {"hard_imagenet", "Hard ImageNet: 15 ImageNet classes with a segmentation per image", hard_imagenet::add_keys,
          [](const Config& cfg) {
            return readers::image_layout(cfg, {"train", "val"}, {"val"});
          }};
}

DatasetInfo imagenet100_dataset_info() {
  return {"imagenet100", "ImageNet100: a 100-class ImageFolder subset of ImageNet (class list: dataset.class_list)",
          imagenet_subset::add_keys, [](const Config& cfg) {
            return readers::image_layout(cfg, {"train", "val"}, {"val"});
          }};
}

DatasetInfo imagewoof_dataset_info() {
  return {"imagewoof", "ImageWoof: 10 dog breeds of ImageNet, ImageFolder layout", imagenet_subset::add_keys,
          [](const Config& cfg) {
            return readers::image_layout(cfg, {"train", "val"}, {"val"});
          }};
}

}  // namespace aim::data
