#include "data/dataset_info.h"

#include <mutex>
#include <stdexcept>

#include "core/registry_entry.h"

namespace aim::data {

namespace {

std::vector<DatasetInfo> built_in_infos() {
  return {
#ifdef AIM_WITH_OPENCV
      builtin_dataset_info(),
#endif
      synthetic_dataset_info(),
#ifdef AIM_WITH_OPENCV
      cub_dataset_info(),           waterbirds_dataset_info(),  traveling_birds_dataset_info(),
      hard_imagenet_dataset_info(), imagenet100_dataset_info(), imagewoof_dataset_info(),
#endif
  };
}

struct InfoRegistry {
  std::mutex mutex;
  std::vector<DatasetInfo> infos = built_in_infos();
  bool read = false;  // set by the first dataset_info_registry(): no registering after it
};

InfoRegistry& info_registry() {
  static InfoRegistry r;
  return r;
}

}  // namespace

const std::vector<DatasetInfo>& dataset_info_registry() {
  auto& r = info_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.read = true;
  return r.infos;
}

void register_dataset_info(DatasetInfo info) {
  auto& r = info_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.read)
    throw std::logic_error("register_dataset(" + info.name +
                           "): the dataset registry was read already (register before the first config is loaded)");
  for (const auto& e : r.infos)
    if (e.name == info.name) throw std::logic_error("register_dataset(" + info.name + "): registered already");
  r.infos.push_back(std::move(info));
}

void add_dataset_keys(Schema& schema) {
  std::vector<std::string> names;
  for (const auto& e : dataset_info_registry()) names.push_back(e.name);
  // The default is the first registered dataset: the built-in benchmark (synthetic data in a
  // build without OpenCV).
  schema.add(KeySpec("dataset.name", ValueType::String, names.front(), "which dataset to train and evaluate on")
                 .one_of(names));
  schema.add(KeySpec("dataset.mean", ValueType::FloatList, "[0.485, 0.456, 0.406]",
                     "per-channel mean subtracted from images in [0,1] (ImageNet's, so pretrained weights apply)")
                 .length(3));
  schema.add(KeySpec("dataset.std", ValueType::FloatList, "[0.229, 0.224, 0.225]", "per-channel standard deviation")
                 .length(3)
                 .above(0.0));
  schema.add(KeySpec("dataset.hflip", ValueType::Bool, "true", "random horizontal flips of training images"));
  schema.add(
      KeySpec(
          "dataset.cache_dir", ValueType::String, "~",
          "where generated or packed datasets are cached (~: $AIMRUN_CACHE, $XDG_CACHE_HOME/aimrun or ~/.cache/aimrun)")
          .not_identity()
          .writes_below(256));
  schema.add(KeySpec("dataset.cache_wait", ValueType::Float, "600",
                     "seconds a run waits for another process writing the same cache (generating the built-in "
                     "dataset, packing images) before it goes on without it and makes its own copy: a process "
                     "stopped or frozen while it writes a cache holds no other run up longer")
                 .range(1.0, 86400.0)
                 .not_identity());
  schema.add(KeySpec("dataset.workers", ValueType::Int, "0",
                     "threads that assemble batches ahead of the trainer (0: on the training thread)")
                 .range(0.0, 256.0)
                 .not_identity());
  schema.add(KeySpec("dataset.pin_memory", ValueType::Bool, "true",
                     "GPU runs: batches are assembled in page-locked memory and copied asynchronously")
                 .not_identity());
  schema.add(KeySpec("dataset.prefetch", ValueType::Int, "4", "batches assembled ahead (per loader)")
                 .range(1.0, 1024.0)
                 .not_identity());
}

DatasetLayout dataset_layout(const Config& cfg) {
  return registry_entry(dataset_info_registry(), cfg, "dataset.name", "dataset").layout(cfg);
}

}  // namespace aim::data
