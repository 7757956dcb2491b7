#pragma once
// Datasets by name. Adding a dataset: one file that defines its entry (its config keys and
// a factory), plus one line in registry.cpp.
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"

namespace aim::data {

struct DatasetEntry {
  std::string name;
  std::string help;
  std::function<void(Schema&)> add_keys;  // keys only this dataset reads
  std::function<DatasetSplits(const Config&)> make;
};

const std::vector<DatasetEntry>& dataset_registry();
// dataset.name, the keys every dataset shares, and each registered dataset's own keys.
void add_dataset_keys(Schema& schema);
DatasetSplits make_datasets(const Config& cfg);

// Shared helpers for entries.
std::string default_cache_dir();  // $AIMRUN_CACHE, else $XDG_CACHE_HOME/aimrun, else ~/.cache/aimrun
std::string cache_dir_of(const Config& cfg);

}  // namespace aim::data
