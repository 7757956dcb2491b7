// Waterbirds (Sagawa et al. 2020): CUB birds pasted on Places backgrounds, label
// landbird/waterbird, place land/water; 4 groups (label x place). The 95% and 100%
// variants are two folders of the same format. CUB's boxes and segmentations apply by
// file name (the birds keep CUB's geometry).
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/strings.h"
#include "data/dataset_keys.h"
#include "data/readers/common.h"
#include "data/readers/cub.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace waterbirds {

namespace fs = std::filesystem;

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.push_back(trim(cur)), cur.clear();
    else cur += c;
  }
  out.push_back(trim(cur));
  return out;
}

// The folder holding metadata.csv: the root, or its only sub-folder that has one (the
// archive unpacks to waterbird_complete95_forest2water2/).
std::string data_folder(const std::string& root) {
  if (fs::exists(root + "/metadata.csv")) return root;
  std::vector<std::string> found;
  for (const auto& d : readers::list_dirs(root))
    if (fs::exists(root + "/" + d + "/metadata.csv")) found.push_back(root + "/" + d);
  if (found.size() == 1) return found.front();
  throw DataError(root + "/metadata.csv: file is missing (dataset.root must be the Waterbirds folder that holds metadata.csv)");
}

DatasetSplits make(const Config& cfg) {
  const std::string root = data_folder(readers::root_of(cfg));
  const std::string meta = root + "/metadata.csv";
  auto lines = readers::read_lines(meta);
  if (lines.empty()) throw DataError(meta + ": file is empty");
  auto header = csv_fields(lines[0].text);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  for (const char* need : {"img_filename", "y", "split", "place"})
    if (!col.count(need))
      readers::fail_line(meta, lines[0].number, std::string("header has no column '") + need +
                                                    "' (expected img_id,img_filename,y,split,place,place_filename)");

  std::optional<readers::CubMetadata> cub;
  if (!cfg.is_null("dataset.cub_root")) cub = readers::read_cub(cfg.get_string("dataset.cub_root"), /*full=*/false);
  const bool segs = cub && cfg.get_bool("dataset.segmentations") && cub->has_segmentations;

  std::map<std::string, std::vector<Sample>> by_split;
  size_t unmatched = 0;
  for (size_t k = 1; k < lines.size(); ++k) {
    const auto& l = lines[k];
    auto f = csv_fields(l.text);
    if (f.size() != header.size())
      readers::fail_line(meta, l.number, "expected " + std::to_string(header.size()) + " comma-separated fields (" +
                                             join(header, ",") + "), got " + std::to_string(f.size()));
    const auto& file = f[col["img_filename"]];
    if (file.empty()) readers::fail_line(meta, l.number, "empty img_filename");
    const int64_t y = readers::parse_int(f[col["y"]], meta, l.number, "y");
    const int64_t split = readers::parse_int(f[col["split"]], meta, l.number, "split");
    const int64_t place = readers::parse_int(f[col["place"]], meta, l.number, "place");
    if (y != 0 && y != 1) readers::fail_line(meta, l.number, "y must be 0 (landbird) or 1 (waterbird), got " + f[col["y"]]);
    if (place != 0 && place != 1) readers::fail_line(meta, l.number, "place must be 0 (land) or 1 (water), got " + f[col["place"]]);
    if (split < 0 || split > 2) readers::fail_line(meta, l.number, "split must be 0 (train), 1 (val) or 2 (test), got " + f[col["split"]]);
    Sample s;
    s.path = root + "/" + file;
    s.label = y;
    s.group = 2 * y + place;
    if (cub && !readers::attach_cub_ground_truth(*cub, fs::path(file).filename().string(), segs, s)) ++unmatched;
    by_split[split == 0 ? "train" : split == 1 ? "val" : "test"].push_back(std::move(s));
  }
  // The variant: the fraction of training birds on their own place (landbird on land,
  // waterbird on water), 0.95 or 1.0 in the released folders.
  if (!by_split["train"].empty()) {
    size_t own = 0;
    for (const auto& s : by_split["train"]) own += s.group == 0 || s.group == 3;
    const double measured = double(own) / double(by_split["train"].size());
    const double declared = cfg.get_float("dataset.correlation");
    if (std::abs(measured - declared) > 0.02)
      spdlog::warn("waterbirds: {}: {:.1f}% of the training birds are on their own place, but dataset.correlation is "
                   "{} (set it to the variant this folder holds, so that runs of different variants keep different "
                   "identities)",
                   meta, 100.0 * measured, declared);
  }
  if (cub && unmatched == lines.size() - 1)
    throw DataError(cub->root + ": none of the Waterbirds images is in this CUB copy's images.txt (is dataset.cub_root right?)");
  if (unmatched)
    spdlog::warn("waterbirds: {} images have no CUB counterpart by file name: no EPG ground truth for them", unmatched);
  std::vector<std::pair<std::string, std::vector<Sample>>> splits;
  for (const std::string s : {"train", "val", "test"}) splits.emplace_back(s, std::move(by_split[s]));
  const std::string region = !cub ? "" : segs ? "segmentation" : "boxes";
  return readers::make_splits(cfg, "waterbirds", std::move(splits), {"landbird", "waterbird"},
                              {"landbird/land", "landbird/water", "waterbird/land", "waterbird/water"}, region,
                              {"val", "test"});
}

}  // namespace waterbirds

DatasetEntry waterbirds_dataset_entry() {
  return {waterbirds_dataset_info(), waterbirds::make, readers::files_like_eval};
}

}  // namespace aim::data
