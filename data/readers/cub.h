#pragma once
// CUB-200-2011's metadata files (images.txt, bounding_boxes.txt, classes.txt,
// image_class_labels.txt, train_test_split.txt) and its segmentations: read by the cub
// dataset, and by Waterbirds and TravelingBirds for their boxes and segmentations.
#include <map>
#include <string>
#include <vector>

#include "data/images/sample.h"

namespace aim::data::readers {

// CUB-200-2011's metadata, ids as in its files (1-based).
struct CubMetadata {
  std::string root;
  std::vector<std::string> class_names;       // classes.txt order (label = position)
  std::map<int64_t, std::string> image_path;  // images.txt, relative to images/
  std::map<int64_t, int64_t> label;           // 0-based
  std::map<int64_t, bool> is_train;
  std::map<int64_t, Box> box;
  std::map<std::string, int64_t> id_by_name;  // file name (no folder) -> id
  // segmentations/<class_dir>/<name>.png, or "" when the copy has no segmentations folder.
  std::string segmentation_of(int64_t id) const;
  bool has_segmentations = false;
  std::string segmentation_root;  // <root>/segmentations, or the one next to <root>
};
// Reads images.txt and bounding_boxes.txt always, and with `full` also classes.txt,
// image_class_labels.txt and train_test_split.txt.
CubMetadata read_cub(const std::string& root, bool full);

// Puts CUB's ground truth for the image named like `file_name` on `s`: its segmentation
// when `segmentations` and the copy has one, else its box. Returns false when CUB has no
// image of that name.
bool attach_cub_ground_truth(const CubMetadata& cub, const std::string& file_name, bool segmentations, Sample& s);

}  // namespace aim::data::readers
