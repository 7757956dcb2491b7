// TravelingBirds (Koh et al. 2020, "CUB_fixed"): CUB birds on Places backgrounds, one
// background per species in training and shifted backgrounds in test; the train/test
// folders follow CUB's own split. Labels are the species folders; no groups. CUB's boxes
// and segmentations apply by file name.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "data/readers/common.h"
#include "data/readers/cub.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace traveling_birds {

namespace fs = std::filesystem;

// <root>/CUB_fixed/{train,test} or <root>/{train,test}.
std::string data_folder(const std::string& root) {
  if (fs::is_directory(root + "/CUB_fixed/train")) return root + "/CUB_fixed";
  if (fs::is_directory(root + "/train")) return root;
  throw DataError(root + "/CUB_fixed/train: folder is missing (dataset.root must hold CUB_fixed/train and CUB_fixed/test)");
}

DatasetSplits make(const Config& cfg) {
  const std::string root = data_folder(readers::root_of(cfg));
  if (!fs::is_directory(root + "/test")) throw DataError(root + "/test: folder is missing");
  const auto train_dirs = readers::list_dirs(root + "/train"), test_dirs = readers::list_dirs(root + "/test");
  // Classes: the species folders of train (CUB's "001.Black_footed_Albatross" names sort
  // in CUB's class order); a test species unknown to train is an error, not a new class.
  if (train_dirs.empty()) throw DataError(root + "/train: no species folders");
  std::map<std::string, int64_t> label;
  for (const auto& d : train_dirs) label.emplace(d, int64_t(label.size()));
  for (const auto& d : test_dirs)
    if (!label.count(d)) throw DataError(root + "/test/" + d + ": species folder not in train/");

  std::optional<readers::CubMetadata> cub;
  if (!cfg.is_null("dataset.cub_root")) cub = readers::read_cub(cfg.get_string("dataset.cub_root"), /*full=*/false);
  const bool segs = cub && cfg.get_bool("dataset.segmentations") && cub->has_segmentations;
  size_t unmatched = 0, total = 0;
  auto read_split = [&](const std::string& split, const std::vector<std::string>& dirs) {
    std::vector<Sample> out;
    for (const auto& d : dirs)
      for (const auto& f : list_image_files(root + "/" + split + "/" + d)) {
        Sample s;
        s.path = root + "/" + split + "/" + d + "/" + f;
        s.label = label.at(d);
        ++total;
        if (cub && !readers::attach_cub_ground_truth(*cub, f, segs, s)) ++unmatched;
        out.push_back(std::move(s));
      }
    return out;
  };
  auto train = read_split("train", train_dirs), test = read_split("test", test_dirs);
  if (cub && unmatched == total)
    throw DataError(cub->root + ": none of the TravelingBirds images is in this CUB copy's images.txt (is dataset.cub_root right?)");
  if (unmatched)
    spdlog::warn("traveling_birds: {} images have no CUB counterpart by file name: no EPG ground truth for them", unmatched);
  std::vector<std::string> eval;
  auto splits = readers::train_val_test(cfg, std::move(train), std::move(test), eval);
  const std::string region = !cub ? "" : segs ? "segmentation" : "boxes";
  return readers::make_splits(cfg, "traveling_birds", std::move(splits), train_dirs, {}, region, eval);
}

}  // namespace traveling_birds

DatasetEntry traveling_birds_dataset_entry() {
  return {traveling_birds_dataset_info(), traveling_birds::make, readers::files_like_eval};
}

}  // namespace aim::data
