#include "data/registry.h"

#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "core/registry_entry.h"

namespace aim::data {

DatasetEntry builtin_dataset_entry();
DatasetEntry synthetic_dataset_entry();
DatasetEntry cub_dataset_entry();
DatasetEntry waterbirds_dataset_entry();
DatasetEntry traveling_birds_dataset_entry();
DatasetEntry hard_imagenet_dataset_entry();
DatasetEntry imagenet100_dataset_entry();
DatasetEntry imagewoof_dataset_entry();

namespace {

std::vector<DatasetEntry> built_in_entries() {
  return {
#ifdef AIM_WITH_OPENCV
      builtin_dataset_entry(),
#endif
      synthetic_dataset_entry(),
#ifdef AIM_WITH_OPENCV
      cub_dataset_entry(),           waterbirds_dataset_entry(),  traveling_birds_dataset_entry(),
      hard_imagenet_dataset_entry(), imagenet100_dataset_entry(), imagewoof_dataset_entry(),
#endif
  };
}

struct Registry {
  std::mutex mutex;
  std::vector<DatasetEntry> entries = built_in_entries();
  bool read = false;  // set by the first dataset_registry(): no registering after it
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

const std::vector<DatasetEntry>& dataset_registry() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.read = true;
  return r.entries;
}

bool register_dataset(DatasetEntry entry) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.read)
    throw std::logic_error("register_dataset(" + entry.name +
                           "): the dataset registry was read already (register before the first config is loaded)");
  for (const auto& e : r.entries)
    if (e.name == entry.name) throw std::logic_error("register_dataset(" + entry.name + "): registered already");
  register_dataset_info(entry);  // sliced: the schema's side
  r.entries.push_back(std::move(entry));
  return true;
}

namespace {
const DatasetEntry& registered_dataset(const Config& cfg) {
  return registry_entry(dataset_registry(), cfg, "dataset.name", "dataset");
}
}  // namespace

std::shared_ptr<const Dataset> dataset_of_files(const Config& cfg, const std::vector<std::string>& paths) {
  const auto& e = registered_dataset(cfg);
  if (!e.files) cfg.fail("dataset.name", "'" + e.name + "' has no image files to prepare images like (use an HDF5 file of images)");
  return e.files(cfg, paths);
}

DatasetSplits make_datasets(const Config& cfg) { return registered_dataset(cfg).make(cfg); }

std::string default_cache_dir() {
  if (const char* v = std::getenv("AIMRUN_CACHE"); v && *v) return v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v) return std::string(v) + "/aimrun";
  if (const char* v = std::getenv("HOME"); v && *v) return std::string(v) + "/.cache/aimrun";
  return ".cache/aimrun";
}

std::string cache_dir_of(const Config& cfg) {
  return cfg.is_null("dataset.cache_dir") ? default_cache_dir() : cfg.get_string("dataset.cache_dir");
}

double cache_wait_of(const Config& cfg) { return cfg.get_float("dataset.cache_wait"); }

}  // namespace aim::data
