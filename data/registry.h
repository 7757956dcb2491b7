#pragma once
// Datasets by name. Adding a dataset: its DatasetInfo (config keys, layout: torch-free, one
// line in dataset_info.cpp) and its entry (the factories, one line in registry.cpp), or one
// register_dataset() call with both.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"
#include "data/dataset_info.h"

namespace aim::data {

// A dataset of data/dataset_info.h (name, help, add_keys, layout) with its factories.
struct DatasetEntry : DatasetInfo {
  std::function<DatasetSplits(const Config&)> make;
  // Image files outside the dataset (aimrun predict --images) as a split read with this
  // dataset's evaluation transform and normalisation; empty when the dataset has no image
  // files (synthetic).
  std::function<std::shared_ptr<const Dataset>(const Config&, const std::vector<std::string>& paths)> files;
};

// The registered datasets; the first is the default dataset.name.
const std::vector<DatasetEntry>& dataset_registry();
// Adds a dataset after the built-in ones (an experiment's own, a test's), to both registries
// (dataset_info_registry too). Call it before the
// registry is first read (before the first config is loaded): a later call, or a name that is
// registered already, is a std::logic_error. Returns true, for `static const bool x = ...`.
bool register_dataset(DatasetEntry entry);
DatasetSplits make_datasets(const Config& cfg);
// The image files `paths` as the config's dataset would evaluate them (DatasetEntry::files);
// a ConfigError naming dataset.name when that dataset reads no image files.
std::shared_ptr<const Dataset> dataset_of_files(const Config& cfg, const std::vector<std::string>& paths);

// Shared helpers for entries.
std::string default_cache_dir();  // $AIMRUN_CACHE, else $XDG_CACHE_HOME/aimrun, else ~/.cache/aimrun
std::string cache_dir_of(const Config& cfg);
double cache_wait_of(const Config& cfg);  // dataset.cache_wait: seconds

}  // namespace aim::data
