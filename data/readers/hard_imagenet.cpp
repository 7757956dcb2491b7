// Hard ImageNet (Moayeri et al. 2022): 15 ImageNet classes with strong spurious cues, a
// segmentation per image. The masks live in their own folder, named
// <wnid>_<ImageNet file name>; the images come from an ILSVRC2012 copy.
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "data/readers/common.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace hard_imagenet {

namespace fs = std::filesystem;

// The image a mask belongs to: <split>/<wnid>/<name>, or <split>/<name> for a val folder
// that was never sorted into classes; real copies differ in extension case (.JPEG, .jpg).
std::string image_for(const std::string& split_dir, const std::string& wnid, const std::string& name) {
  const std::string exact = split_dir + "/" + wnid + "/" + name;
  if (fs::exists(exact)) return exact;
  const std::string stem = fs::path(name).stem().string();
  for (const std::string& dir : {split_dir + "/" + wnid, split_dir})
    if (auto found = find_image_file(dir, stem); !found.empty()) return found;
  return exact;  // reported as missing by the dataset's stat pass
}

DatasetSplits make(const Config& cfg) {
  const std::string masks = readers::root_of(cfg);
  if (cfg.is_null("dataset.imagenet_root"))
    cfg.fail("dataset.imagenet_root", "required for hard_imagenet: the ILSVRC2012 folder its masks refer to");
  const std::string images = readers::ilsvrc_images_folder(cfg.get_string("dataset.imagenet_root"), "dataset.imagenet_root");
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> files;  // split -> (wnid, image name, mask)
  std::map<std::string, std::vector<std::string>> mask_of;
  std::set<std::string> wnids;
  for (const std::string split : {"train", "val"}) {
    const std::string dir = masks + "/" + split;
    if (!fs::is_directory(dir)) throw DataError(dir + ": folder is missing (dataset.root must hold the masks' train/ and val/)");
    for (const auto& m : list_image_files(dir)) {
      const auto cut = m.find('_');
      if (cut == std::string::npos || cut == 0 || cut + 1 == m.size())
        throw DataError(dir + "/" + m + ": mask name is not <wnid>_<image file name>");
      wnids.insert(m.substr(0, cut));
      files[split].emplace_back(m.substr(0, cut), m.substr(cut + 1));
      mask_of[split].push_back(dir + "/" + m);
    }
  }
  // Labels follow ImageNet's own order (sorted wnids), as the dataset's reference code does.
  std::vector<std::string> classes(wnids.begin(), wnids.end());
  std::map<std::string, int64_t> label;
  for (const auto& w : classes) label.emplace(w, int64_t(label.size()));
  std::vector<std::pair<std::string, std::vector<Sample>>> splits;
  for (const std::string split : {"train", "val"}) {
    std::vector<Sample> out;
    for (size_t i = 0; i < files[split].size(); ++i) {
      const auto& [wnid, name] = files[split][i];
      Sample s;
      s.path = image_for(images + "/" + split, wnid, name);
      s.label = label.at(wnid);
      s.mask_path = mask_of[split][i];
      s.mask_threshold = 0;  // any non-zero pixel is the object
      out.push_back(std::move(s));
    }
    splits.emplace_back(split, std::move(out));
  }
  return readers::make_splits(cfg, "hard_imagenet", std::move(splits), classes, {}, "segmentation", {"val"});
}

}  // namespace hard_imagenet

DatasetEntry hard_imagenet_dataset_entry() {
  return {hard_imagenet_dataset_info(), hard_imagenet::make, readers::files_like_eval};
}

}  // namespace aim::data
