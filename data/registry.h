#pragma once
// Datasets by name. Adding a dataset: one file that defines its entry (its config keys, a
// factory, its layout), plus one line in registry.cpp (or a register_dataset() call).
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
  // The keys this dataset reads beyond those every dataset shares (add_dataset_keys), shared
  // ones through data/dataset_keys.h; each applies only when dataset.name names a dataset that
  // declared it (runner/registry_keys.h). Empty: none.
  std::function<void(Schema&)> add_keys;
  std::function<DatasetSplits(const Config&)> make;
  // Checks the dataset's keys beyond the schema (Config::fail: file:line: key) and says
  // which splits make() will return.
  std::function<DatasetLayout(const Config&)> layout;
  // Image files outside the dataset (aimrun predict --images) as a split read with this
  // dataset's evaluation transform and normalisation; empty when the dataset has no image
  // files (synthetic).
  std::function<std::shared_ptr<const Dataset>(const Config&, const std::vector<std::string>& paths)> files;
};

// The registered datasets; the first is the default dataset.name.
const std::vector<DatasetEntry>& dataset_registry();
// Adds a dataset after the built-in ones (an experiment's own, a test's). Call it before the
// registry is first read (before the first config is loaded): a later call, or a name that is
// registered already, is a std::logic_error. Returns true, for `static const bool x = ...`.
bool register_dataset(DatasetEntry entry);
// dataset.name and the keys every dataset shares (normalisation, flips, the loader); each
// entry's own keys are its add_keys (collected by runner/schema.cpp).
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
double cache_wait_of(const Config& cfg);  // dataset.cache_wait: seconds

}  // namespace aim::data
