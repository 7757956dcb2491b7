#pragma once
// The datasets as the schema and the config checks see them: name, help, the keys each reads
// and its layout (its splits and their sizes, without reading images), without libtorch:
// aimrun checks configs and plans sweeps with them (docs/architecture.md, "Two
// executables"). Their factories are data/registry.h's entries, one for each name here.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"

namespace aim::data {

// What a config's dataset will hold, answered without loading (or generating) images, so
// that a config is refused before anything runs: its splits with their sizes (-1 where
// only reading the dataset would tell), and the splits evaluated by default.
struct DatasetLayout {
  std::map<std::string, int64_t> split_sizes;
  std::vector<std::string> eval_splits;
};

struct DatasetInfo {
  std::string name;
  std::string help;
  // The keys this dataset reads beyond those every dataset shares (add_dataset_keys), shared
  // ones through data/dataset_keys.h; each applies only when dataset.name names a dataset that
  // declared it (runner/registry_keys.h). Empty: none.
  std::function<void(Schema&)> add_keys;
  // Checks the dataset's keys beyond the schema (Config::fail: file:line: key) and says
  // which splits make() will return.
  std::function<DatasetLayout(const Config&)> layout;
};

// The datasets the schema knows; the first is the default dataset.name. The built-in ones,
// then those register_dataset_info() added (data::register_dataset adds both sides).
const std::vector<DatasetInfo>& dataset_info_registry();
// Adds a dataset after the built-in ones; a std::logic_error once the registry was read, or
// for a name registered already.
void register_dataset_info(DatasetInfo info);
// dataset.name and the keys every dataset shares (normalisation, flips, the loader); each
// entry's own keys are its add_keys (collected by runner/schema.cpp).
void add_dataset_keys(Schema& schema);
// The layout of the config's dataset (throws ConfigError for keys it cannot use).
DatasetLayout dataset_layout(const Config& cfg);

// The built-in datasets' descriptions (each in its dataset's folder).
DatasetInfo synthetic_dataset_info();
#ifdef AIM_WITH_OPENCV
DatasetInfo builtin_dataset_info();
DatasetInfo cub_dataset_info();
DatasetInfo waterbirds_dataset_info();
DatasetInfo traveling_birds_dataset_info();
DatasetInfo hard_imagenet_dataset_info();
DatasetInfo imagenet100_dataset_info();
DatasetInfo imagewoof_dataset_info();
#endif

}  // namespace aim::data
