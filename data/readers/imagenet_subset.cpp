// ImageFolder-style class subsets of ImageNet: ImageNet100 (100 classes) and ImageWoof (10
// dog breeds). <root>/{train,val}/<wnid>/*.JPEG; the classes from a class-list file or, by
// default, every class folder of train. Boxes from ILSVRC localisation XML when given.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "data/readers/common.h"
#include "data/readers/ilsvrc_xml.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace imagenet_subset {

namespace fs = std::filesystem;

std::string boxes_folder(const std::string& dir) {
  for (const std::string& c : {dir + "/Annotations/CLS-LOC", dir + "/ILSVRC/Annotations/CLS-LOC"})
    if (fs::is_directory(c)) return c;
  return dir;
}

// The annotation of an image: ILSVRC keeps train XML in class folders and val XML flat.
std::string xml_for(const std::string& boxes, const std::string& split, const std::string& wnid,
                    const std::string& stem) {
  for (const std::string& c : {boxes + "/" + split + "/" + wnid + "/" + stem + ".xml", boxes + "/" + split + "/" + stem + ".xml",
                              boxes + "/" + wnid + "/" + stem + ".xml", boxes + "/" + stem + ".xml"})
    if (fs::exists(c)) return c;
  return "";
}

struct ClassList {
  std::vector<std::string> wnids, names;
};

ClassList read_class_list(const Config& cfg, const std::string& images) {
  ClassList c;
  std::map<std::string, std::string> named;
  if (cfg.is_null("dataset.class_list")) {
    for (const auto& d : readers::list_dirs(images + "/train")) named[d] = d;
    if (named.empty()) throw DataError(images + "/train: no class folders");
  } else {
    const std::string path = cfg.get_string("dataset.class_list");
    std::map<std::string, int> line_of;
    for (const auto& l : readers::read_lines(path)) {
      auto f = readers::fields(l.text);
      if (f[0][0] == '#') continue;
      if (auto it = line_of.find(f[0]); it != line_of.end())
        readers::fail_line(path, l.number, "class " + f[0] + " is listed twice (first on line " + std::to_string(it->second) + ")");
      if (!fs::is_directory(images + "/train/" + f[0]))
        readers::fail_line(path, l.number, "no class folder " + images + "/train/" + f[0]);
      line_of[f[0]] = l.number;
      const auto name_at = l.text.find(f[0]) + f[0].size();
      std::string name = l.text.substr(name_at);
      name.erase(0, name.find_first_not_of(" \t,"));
      named[f[0]] = name.empty() ? f[0] : name;
    }
    if (named.empty()) throw DataError(path + ": no classes listed");
  }
  // Labels in sorted wnid order (ImageNet's own class order, and ImageFolder's), whatever
  // order the list file has.
  for (const auto& [w, n] : named) {
    c.wnids.push_back(w);
    c.names.push_back(n);
  }
  return c;
}

DatasetSplits make_subset(const Config& cfg, const std::string& dataset) {
  const std::string images = readers::ilsvrc_images_folder(readers::root_of(cfg), "dataset.root");
  const auto classes = read_class_list(cfg, images);
  const bool with_boxes = !cfg.is_null("dataset.boxes_dir");
  const std::string boxes = with_boxes ? boxes_folder(cfg.get_string("dataset.boxes_dir")) : "";
  std::vector<std::pair<std::string, std::vector<Sample>>> splits;
  for (const std::string split : {"train", "val"}) {
    std::vector<Sample> out;
    size_t without_boxes = 0;
    for (size_t label = 0; label < classes.wnids.size(); ++label) {
      const auto& wnid = classes.wnids[label];
      const std::string dir = images + "/" + split + "/" + wnid;
      if (!fs::is_directory(dir)) throw DataError(dir + ": class folder is missing");
      for (const auto& f : list_image_files(dir)) {
        Sample s;
        s.path = dir + "/" + f;
        s.label = int64_t(label);
        if (with_boxes) {
          const auto xml = xml_for(boxes, split, wnid, fs::path(f).stem().string());
          if (xml.empty()) {
            ++without_boxes;
          } else {
            auto b = readers::read_ilsvrc_xml(xml);
            s.boxes = std::move(b.boxes);
            s.box_frame_width = b.width;
            s.box_frame_height = b.height;
          }
        }
        out.push_back(std::move(s));
      }
    }
    // ILSVRC annotates a part of train only: those images have an empty region.
    if (without_boxes)
      spdlog::info("{} {}: {} of {} images have no box annotation (empty ground truth)", dataset, split,
                   without_boxes, out.size());
    splits.emplace_back(split, std::move(out));
  }
  return readers::make_splits(cfg, dataset, std::move(splits), classes.names, {}, with_boxes ? "boxes" : "", {"val"});
}

// Both subsets: a class list and ILSVRC's localisation boxes.
}  // namespace imagenet_subset

DatasetEntry imagenet100_dataset_entry() {
  return {imagenet100_dataset_info(), [](const Config& cfg) { return imagenet_subset::make_subset(cfg, "imagenet100"); },
          readers::files_like_eval};
}

DatasetEntry imagewoof_dataset_entry() {
  return {imagewoof_dataset_info(), [](const Config& cfg) { return imagenet_subset::make_subset(cfg, "imagewoof"); },
          readers::files_like_eval};
}

}  // namespace aim::data
