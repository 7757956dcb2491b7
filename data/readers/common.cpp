#include "data/readers/common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/random.h"
#include "core/strings.h"
#include "data/dataset_keys.h"
#include "data/registry.h"

namespace aim::data::readers {

namespace fs = std::filesystem;

ImageListOptions image_options(const Config& cfg, bool train_split) {
  ImageListOptions o;
  auto& t = o.transforms;
  t.image_size = cfg.get_int("dataset.image_size");
  t.resize = cfg.get_int("dataset.resize");
  auto scale = cfg.get_float_list("dataset.crop_scale"), ratio = cfg.get_float_list("dataset.crop_ratio");
  if (scale.size() != 2 || !(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1))
    cfg.fail("dataset.crop_scale", "expected [min, max] with 0 < min <= max <= 1");
  if (ratio.size() != 2 || !(ratio[0] > 0 && ratio[0] <= ratio[1]))
    cfg.fail("dataset.crop_ratio", "expected [min, max] with 0 < min <= max");
  t.scale_min = scale[0];
  t.scale_max = scale[1];
  t.ratio_min = ratio[0];
  t.ratio_max = ratio[1];
  t.hflip = cfg.get_bool("dataset.hflip");
  auto mean = cfg.get_float_list("dataset.mean"), std = cfg.get_float_list("dataset.std");
  if (mean.size() != 3) cfg.fail("dataset.mean", "expected 3 values (R, G, B)");
  if (std.size() != 3) cfg.fail("dataset.std", "expected 3 values (R, G, B)");
  o.norm.mean.assign(mean.begin(), mean.end());
  o.norm.std.assign(std.begin(), std.end());
  o.augment = train_split;
  o.skip_corrupt = cfg.get_bool("dataset.skip_corrupt");
  o.packed_cache = cfg.get_bool("dataset.packed_cache");
  o.cache_dir = cache_dir_of(cfg);
  o.cache_wait_seconds = cache_wait_of(cfg);
  return o;
}

std::shared_ptr<const Dataset> files_like_eval(const Config& cfg, const std::vector<std::string>& paths) {
  return image_files_dataset(paths, image_options(cfg, false), cfg.get_string("dataset.name"));
}

SplitInfo split_info(const std::string& dataset, const std::string& split, std::vector<std::string> class_names,
                     std::vector<std::string> group_names, std::string region_kind) {
  SplitInfo i;
  i.dataset = dataset;
  i.split = split;
  i.class_names = std::move(class_names);
  i.group_names = std::move(group_names);
  i.region_kind = std::move(region_kind);
  return i;
}

std::vector<Line> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": file is missing or cannot be read");
  std::vector<Line> lines;
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    ++n;
    if (n == 1 && text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) text.pop_back();
    if (trim(text).empty()) continue;
    lines.push_back({n, text});
  }
  return lines;
}

std::vector<std::string> fields(const std::string& text) {
  std::istringstream ss(text);
  std::vector<std::string> out;
  for (std::string f; ss >> f;) out.push_back(f);
  return out;
}

void fail_line(const std::string& path, int line, const std::string& message) {
  throw DataError(path + ":" + std::to_string(line) + ": " + message);
}

int64_t parse_int(const std::string& s, const std::string& path, int line, const std::string& what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  fail_line(path, line, "expected an integer " + what + ", got '" + s + "'");
}

double parse_double(const std::string& s, const std::string& path, int line, const std::string& what) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  fail_line(path, line, "expected a number " + what + ", got '" + s + "'");
}

std::vector<std::pair<std::string, std::vector<Sample>>> train_val_test(const Config& cfg, std::vector<Sample> train,
                                                                        std::vector<Sample> test,
                                                                        std::vector<std::string>& eval_splits) {
  auto val = carve_validation(train, cfg.get_float("dataset.val_fraction"), uint64_t(cfg.get_int("dataset.seed")));
  std::vector<std::pair<std::string, std::vector<Sample>>> splits = {{"train", std::move(train)}};
  eval_splits = {"test"};
  if (!val.empty()) {
    splits.emplace_back("val", std::move(val));
    eval_splits = {"val", "test"};
  }
  splits.emplace_back("test", std::move(test));
  return splits;
}

std::string ilsvrc_images_folder(const std::string& root, const std::string& key) {
  for (const std::string& c : {root, root + "/Data/CLS-LOC", root + "/ILSVRC/Data/CLS-LOC"})
    if (fs::is_directory(c + "/train")) return c;
  throw DataError(root + "/train: folder is missing (" + key + " must hold train/<wnid>/ and val/<wnid>/)");
}

std::vector<Sample> carve_validation(std::vector<Sample>& train, double fraction, uint64_t seed) {
  std::vector<Sample> val;
  if (fraction <= 0) return val;
  std::map<int64_t, std::vector<size_t>> by_class;
  for (size_t i = 0; i < train.size(); ++i) by_class[train[i].label].push_back(i);
  std::vector<char> to_val(train.size(), 0);
  for (auto& [label, idx] : by_class) {
    Rng rng(mix_seed(seed, uint64_t(label)));
    rng.shuffle(idx);
    const size_t n = size_t(std::lround(fraction * double(idx.size())));
    for (size_t k = 0; k < n && k + 1 < idx.size(); ++k) to_val[idx[k]] = 1;  // keep one to train on
  }
  std::vector<Sample> keep;
  for (size_t i = 0; i < train.size(); ++i) (to_val[i] ? val : keep).push_back(std::move(train[i]));
  train = std::move(keep);
  return val;
}

std::vector<std::string> list_dirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  if (ec) throw DataError(dir + ": cannot list folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}


DatasetSplits make_splits(const Config& cfg, const std::string& dataset,
                          std::vector<std::pair<std::string, std::vector<Sample>>> splits,
                          const std::vector<std::string>& class_names, const std::vector<std::string>& group_names,
                          const std::string& region_kind, std::vector<std::string> eval_splits) {
  DatasetSplits out;
  for (auto& [name, samples] : splits) {
    if (samples.empty() && name == "train") throw DataError(dataset + ": no training samples under " + root_of(cfg));
    if (samples.empty()) {
      // A copy without (say) a val split still trains; it just is not evaluated.
      spdlog::warn("{}: split '{}' has no samples under {}: left out", dataset, name, root_of(cfg));
      eval_splits.erase(std::remove(eval_splits.begin(), eval_splits.end(), name), eval_splits.end());
      continue;
    }
    auto info = split_info(dataset, name, class_names, group_names, region_kind);
    out.splits[name] = std::make_shared<ImageListDataset>(info, std::move(samples), image_options(cfg, name == "train"));
  }
  if (eval_splits.empty()) throw DataError(dataset + ": no samples to evaluate on under " + root_of(cfg));
  out.eval_splits = std::move(eval_splits);
  return out;
}

}  // namespace aim::data::readers
