// CUB-200-2011 (Wah et al. 2011): 200 bird species, CUB's own train/test split, boxes and
// optional segmentations as EPG ground truth. Its metadata reader (cub.h) is shared with
// Waterbirds and TravelingBirds.
#include "data/readers/cub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "data/readers/common.h"
#include "data/registry.h"

namespace aim::data::readers {

namespace fs = std::filesystem;

// Named, not anonymous: the unity build puts this file in one translation unit with the
// other readers.
namespace cub_files {

// CUB's "<id> <value...>" files: every line an id and `n` fields (the last may hold spaces
// when rest_joined, as in images.txt paths). Duplicate ids are errors.
std::map<int64_t, std::vector<std::string>> read_id_file(const std::string& path, size_t n,
                                                         const std::string& expected) {
  std::map<int64_t, std::vector<std::string>> out;
  for (const auto& l : read_lines(path)) {
    auto f = fields(l.text);
    if (f.size() != n + 1) fail_line(path, l.number, "expected '" + expected + "', got '" + l.text + "'");
    const int64_t id = parse_int(f[0], path, l.number, "id");
    if (id < 1) fail_line(path, l.number, "ids are 1-based, got " + f[0]);
    if (!out.emplace(id, std::vector<std::string>(f.begin() + 1, f.end())).second)
      fail_line(path, l.number, "id " + f[0] + " appears twice");
  }
  return out;
}

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

// bounding_boxes.txt: one box per image of images.txt.
void read_boxes(CubMetadata& m, const std::string& boxes) {
  for (const auto& l : read_lines(boxes)) {
    auto f = fields(l.text);
    if (f.size() != 5)
      fail_line(boxes, l.number, "expected '<image_id> <x> <y> <width> <height>', got '" + l.text + "'");
    const int64_t id = parse_int(f[0], boxes, l.number, "image id");
    Box b{parse_double(f[1], boxes, l.number, "x"), parse_double(f[2], boxes, l.number, "y"),
          parse_double(f[3], boxes, l.number, "width"), parse_double(f[4], boxes, l.number, "height")};
    if (b.w < 0 || b.h < 0) fail_line(boxes, l.number, "negative box size");
    if (!m.image_path.count(id)) fail_line(boxes, l.number, "image id " + f[0] + " is not in images.txt");
    if (!m.box.emplace(id, b).second) fail_line(boxes, l.number, "id " + f[0] + " appears twice");
  }
}

// classes.txt names the classes; returns false when the copy has none.
bool read_class_names(CubMetadata& m, const std::string& classes) {
  if (!fs::exists(classes)) return false;
  std::map<int64_t, std::vector<std::string>> cls = read_id_file(classes, 1, "<class_id> <class_dir>");
  int64_t expect = 1;
  for (auto& [id, f] : cls) {
    if (id != expect++)
      throw DataError(classes + ": class ids must be 1..N without gaps (missing " + std::to_string(expect - 1) + ")");
    m.class_names.push_back(f[0]);
  }
  return true;
}

// image_class_labels.txt; `named`: the class ids are checked against classes.txt.
void read_labels(CubMetadata& m, const std::string& labels, bool named) {
  for (const auto& l : read_lines(labels)) {
    auto f = fields(l.text);
    if (f.size() != 2) fail_line(labels, l.number, "expected '<image_id> <class_id>', got '" + l.text + "'");
    const int64_t id = parse_int(f[0], labels, l.number, "image id"), c = parse_int(f[1], labels, l.number, "class id");
    if (c < 1 || (named && c > int64_t(m.class_names.size())))
      fail_line(labels, l.number,
                "class id " + f[1] + " outside 1.." +
                    (named ? std::to_string(m.class_names.size()) + " (classes.txt)"
                           : std::string("N (class ids are 1-based)")));
    if (!m.image_path.count(id)) fail_line(labels, l.number, "image id " + f[0] + " is not in images.txt");
    if (!m.label.emplace(id, c - 1).second) fail_line(labels, l.number, "id " + f[0] + " appears twice");
  }
}

// Copies without classes.txt: each class named by the folder of its images.
void name_classes_by_folder(CubMetadata& m) {
  int64_t n = 0;
  for (const auto& [id, c] : m.label) n = std::max(n, c + 1);
  m.class_names.assign(size_t(n), "");
  for (const auto& [id, c] : m.label)
    if (m.class_names[size_t(c)].empty()) m.class_names[size_t(c)] = fs::path(m.image_path[id]).parent_path().string();
  for (size_t c = 0; c < m.class_names.size(); ++c)
    if (m.class_names[c].empty()) m.class_names[c] = "class_" + std::to_string(c + 1);
}

// train_test_split.txt.
void read_split(CubMetadata& m, const std::string& split) {
  for (const auto& l : read_lines(split)) {
    auto f = fields(l.text);
    if (f.size() != 2 || (f[1] != "0" && f[1] != "1"))
      fail_line(split, l.number, "expected '<image_id> <1 = train, 0 = test>', got '" + l.text + "'");
    const int64_t id = parse_int(f[0], split, l.number, "image id");
    if (!m.image_path.count(id)) fail_line(split, l.number, "image id " + f[0] + " is not in images.txt");
    if (!m.is_train.emplace(id, f[1] == "1").second) fail_line(split, l.number, "id " + f[0] + " appears twice");
  }
}

}  // namespace cub_files

std::string CubMetadata::segmentation_of(int64_t id) const {
  if (!has_segmentations) return "";
  fs::path rel(image_path.at(id));
  rel.replace_extension(".png");
  return segmentation_root + "/" + rel.string();
}

CubMetadata read_cub(const std::string& root_in, bool full) {
  using namespace cub_files;
  CubMetadata m;
  // Accept the folder that holds images.txt, or its parent (CUB_200_2011/ inside the archive).
  m.root = root_in;
  if (!fs::exists(m.root + "/images.txt") && fs::exists(m.root + "/CUB_200_2011/images.txt")) m.root += "/CUB_200_2011";
  const std::string& r = m.root;
  if (!fs::exists(r + "/images.txt"))
    throw DataError(r + "/images.txt: file is missing (is " + root_in + " a CUB-200-2011 folder?)");
  for (auto& [id, f] : read_id_file(r + "/images.txt", 1, "<image_id> <class_dir>/<file>.jpg")) {
    m.id_by_name[file_name(f[0])] = id;
    m.image_path[id] = f[0];
  }
  const std::string boxes = r + "/bounding_boxes.txt";
  if (!fs::exists(boxes) && full) spdlog::warn("{}: no bounding_boxes.txt: no box ground truth", r);
  if (fs::exists(boxes)) read_boxes(m, boxes);
  m.segmentation_root = r + "/segmentations";
  // The segmentations archive unpacks next to CUB_200_2011/, not inside it.
  if (!fs::is_directory(m.segmentation_root) && fs::is_directory(fs::path(r).parent_path() / "segmentations"))
    m.segmentation_root = (fs::path(r).parent_path() / "segmentations").string();
  m.has_segmentations = fs::is_directory(m.segmentation_root);
  if (!full) return m;
  const bool named = read_class_names(m, r + "/classes.txt");
  const std::string labels = r + "/image_class_labels.txt", split = r + "/train_test_split.txt";
  read_labels(m, labels, named);
  if (!named) name_classes_by_folder(m);
  read_split(m, split);
  for (const auto& [id, p] : m.image_path) {
    if (!m.label.count(id)) throw DataError(labels + ": no label for image id " + std::to_string(id) + " (" + p + ")");
    if (!m.is_train.count(id))
      throw DataError(split + ": no split for image id " + std::to_string(id) + " (" + p + ")");
  }
  return m;
}

bool attach_cub_ground_truth(const CubMetadata& cub, const std::string& name, bool segmentations, Sample& s) {
  auto it = cub.id_by_name.find(name);
  if (it == cub.id_by_name.end()) return false;
  if (segmentations && cub.has_segmentations) {
    s.mask_path = cub.segmentation_of(it->second);
    // CUB's masks are soft (the share of annotators who marked a pixel): the majority counts.
    s.mask_threshold = 127;
  } else if (auto b = cub.box.find(it->second); b != cub.box.end()) {
    s.boxes = {b->second};
  }
  return true;
}

}  // namespace aim::data::readers

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

}  // namespace cub

DatasetEntry cub_dataset_entry() { return {cub_dataset_info(), cub::make, readers::files_like_eval}; }

}  // namespace aim::data
