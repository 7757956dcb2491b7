#pragma once
// What the image-dataset readers share: their config keys (each entry declares those it
// reads), options from a config, text files read line by line with errors naming
// file:line, and splits assembled from sample lists. CUB's metadata (which Waterbirds and
// TravelingBirds borrow for boxes and segmentations) is in data/readers/cub.h.
#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"
#include "data/readers/image_info.h"
#include "data/registry.h"
#include "data/images/image_files.h"
#include "data/images/image_list_dataset.h"

namespace aim::data::readers {

// Transforms, normalisation, cache and skipping options from the config.
ImageListOptions image_options(const Config& cfg, bool train_split);
// DatasetEntry::files of the image datasets: the files with image_options' evaluation transform.
std::shared_ptr<const Dataset> files_like_eval(const Config& cfg, const std::vector<std::string>& paths);
SplitInfo split_info(const std::string& dataset, const std::string& split, std::vector<std::string> class_names,
                     std::vector<std::string> group_names, std::string region_kind);

// A text file's non-blank lines with their 1-based numbers; CR of CRLF endings and a UTF-8
// byte-order mark removed. A missing file is an error naming it.
struct Line {
  int number;
  std::string text;
};
std::vector<Line> read_lines(const std::string& path);
// Whitespace-separated fields.
std::vector<std::string> fields(const std::string& text);
[[noreturn]] void fail_line(const std::string& path, int line, const std::string& message);
int64_t parse_int(const std::string& s, const std::string& path, int line, const std::string& what);
double parse_double(const std::string& s, const std::string& path, int line, const std::string& what);

// Moves a deterministic fraction of `train` (per class, from seed) into the returned
// validation list.
std::vector<Sample> carve_validation(std::vector<Sample>& train, double fraction, uint64_t seed);

// Datasets that come as train and test (CUB, TravelingBirds): "train", an optional "val"
// carved from train by dataset.val_fraction (from dataset.seed), and "test"; the
// evaluated splits are val (when there is one) and test. Sets `eval_splits`.
std::vector<std::pair<std::string, std::vector<Sample>>> train_val_test(const Config& cfg, std::vector<Sample> train,
                                                                        std::vector<Sample> test,
                                                                        std::vector<std::string>& eval_splits);

// The ILSVRC folder with train/<wnid>/ and val/<wnid>/: `root` itself, or its Data/CLS-LOC
// folder (the Kaggle and academic-torrents layouts). `key` names the config key in errors.
std::string ilsvrc_images_folder(const std::string& root, const std::string& key);

// Sorted names of the sub-folders of `dir`.
std::vector<std::string> list_dirs(const std::string& dir);

// The splits as ImageListDatasets.
DatasetSplits make_splits(const Config& cfg, const std::string& dataset,
                          std::vector<std::pair<std::string, std::vector<Sample>>> splits,
                          const std::vector<std::string>& class_names, const std::vector<std::string>& group_names,
                          const std::string& region_kind, std::vector<std::string> eval_splits);

}  // namespace aim::data::readers
