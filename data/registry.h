#pragma once
// Datasets by name. Adding a dataset: one file that defines its entry (its config keys and
// a factory), plus one line in registry.cpp.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"

namespace aim::data {

// What a config's dataset will hold, answered without loading (or generating) images, so
// that a config is refused before anything runs: its splits with their sizes (-1 where
// only reading the dataset would tell), and the splits evaluated by default.
struct DatasetLayout {
  std::map<std::string, int64_t> split_sizes;
  std::vector<std::string> eval_splits;
};

struct DatasetEntry {
  std::string name;
  std::string help;
  std::function<void(Schema&)> add_keys;  // keys only this dataset reads
  std::function<DatasetSplits(const Config&)> make;
  // Checks the dataset's keys beyond the schema (Config::fail: file:line: key) and says
  // which splits make() will return.
  std::function<DatasetLayout(const Config&)> layout;
  // Image files outside the dataset (aimrun predict --images) as a split read with this
  // dataset's evaluation transform and normalisation; empty when the dataset has no image
  // files (synthetic).
  std::function<std::shared_ptr<const Dataset>(const Config&, const std::vector<std::string>& paths)> files;
};

const std::vector<DatasetEntry>& dataset_registry();
// dataset.name, the keys every dataset shares, and each registered dataset's own keys.
void add_dataset_keys(Schema& schema);
DatasetSplits make_datasets(const Config& cfg);
// The layout of the config's dataset (throws ConfigError for keys it cannot use).
DatasetLayout dataset_layout(const Config& cfg);
// The image files `paths` as the config's dataset would evaluate them (DatasetEntry::files);
// a ConfigError naming dataset.name when that dataset reads no image files.
std::shared_ptr<const Dataset> dataset_of_files(const Config& cfg, const std::vector<std::string>& paths);

// Shared helpers for entries.
std::string default_cache_dir();  // $AIMRUN_CACHE, else $XDG_CACHE_HOME/aimrun, else ~/.cache/aimrun
std::string cache_dir_of(const Config& cfg);

}  // namespace aim::data
