#include "data/registry.h"

#include <cstdlib>

#include "core/strings.h"
#ifdef AIM_WITH_OPENCV
#include "data/readers/common.h"
#endif

namespace aim::data {

DatasetEntry builtin_dataset_entry();
DatasetEntry synthetic_dataset_entry();
DatasetEntry cub_dataset_entry();
DatasetEntry waterbirds_dataset_entry();
DatasetEntry traveling_birds_dataset_entry();
DatasetEntry hard_imagenet_dataset_entry();
DatasetEntry imagenet100_dataset_entry();
DatasetEntry imagewoof_dataset_entry();

const std::vector<DatasetEntry>& dataset_registry() {
  static const std::vector<DatasetEntry> entries = {
#ifdef AIM_WITH_OPENCV
      builtin_dataset_entry(),
#endif
      synthetic_dataset_entry(),
#ifdef AIM_WITH_OPENCV
      cub_dataset_entry(),
      waterbirds_dataset_entry(),
      traveling_birds_dataset_entry(),
      hard_imagenet_dataset_entry(),
      imagenet100_dataset_entry(),
      imagewoof_dataset_entry(),
#endif
  };
  return entries;
}

void add_dataset_keys(Schema& schema) {
  std::vector<std::string> names;
  for (const auto& e : dataset_registry()) names.push_back(e.name);
  // The default is the first registered dataset: the built-in benchmark (synthetic data in a
  // build without OpenCV).
  schema.add(KeySpec("dataset.name", ValueType::String, names.front(), "which dataset to train and evaluate on").one_of(names));
  schema.add(KeySpec("dataset.mean", ValueType::FloatList, "[0.485, 0.456, 0.406]", "per-channel mean subtracted from images in [0,1] (ImageNet's, so pretrained weights apply)").length(3));
  schema.add(KeySpec("dataset.std", ValueType::FloatList, "[0.229, 0.224, 0.225]", "per-channel standard deviation").length(3).above(0.0));
  schema.add(KeySpec("dataset.hflip", ValueType::Bool, "true", "random horizontal flips of training images"));
  schema.add(KeySpec("dataset.cache_dir", ValueType::String, "~", "where generated or packed datasets are cached (~: $AIMRUN_CACHE, $XDG_CACHE_HOME/aimrun or ~/.cache/aimrun)").not_identity().path());
  schema.add(KeySpec("dataset.workers", ValueType::Int, "0", "threads that assemble batches ahead of the trainer (0: on the training thread)").range(0.0, 256.0).not_identity());
  schema.add(KeySpec("dataset.pin_memory", ValueType::Bool, "true",
                     "GPU runs: batches are assembled in page-locked memory and copied asynchronously")
                 .not_identity());
  schema.add(KeySpec("dataset.prefetch", ValueType::Int, "4", "batches assembled ahead (per loader)").range(1.0, 1024.0).not_identity());
  // Keys of the generated datasets (built-in and synthetic).
  schema.add(KeySpec("dataset.train_size", ValueType::Int, "~", "builtin, synthetic: training samples (~: all that remain after val)").range(1.0, std::nullopt).only_when("dataset.name", {"builtin", "synthetic"}));
  schema.add(KeySpec("dataset.val_size", ValueType::Int, "2000", "builtin, synthetic: validation samples, taken from Fashion-MNIST train (fewer than it holds)").range(0.0, std::nullopt).only_when("dataset.name", {"builtin", "synthetic"}));
  schema.add(KeySpec("dataset.seed", ValueType::Int, "0", "builtin, synthetic: seed of the generated data (fixed across a sweep's seeds, like a real dataset); cub, traveling_birds: of the held-out val split").range(0.0, std::nullopt).only_when("dataset.name", {"builtin", "synthetic", "cub", "traveling_birds"}));
  std::vector<std::string> sized = {"synthetic"};
#ifdef AIM_WITH_OPENCV
  readers::add_image_dataset_keys(schema);
  for (const auto& n : readers::image_dataset_names()) sized.push_back(n);
#endif
  schema.add(KeySpec("dataset.image_size", ValueType::Int, "224", "synthetic, image datasets: side of the square images the model sees").range(8.0, 4096.0).only_when("dataset.name", sized));
  // The built-in benchmark generates its training split with this correlation; Waterbirds
  // comes as one folder per variant, and this key says which one a run used, so that runs
  // of the 95% and 100% variants have different identities (dataset.root is a path, not
  // part of the identity). The reader checks it against metadata.csv.
  schema.add(KeySpec("dataset.correlation", ValueType::Float, "0.95",
                     "builtin: probability that a training sample shows its class's place (1.0: the '100%' variant); "
                     "waterbirds: the variant dataset.root holds (0.95 or 1.0: the fraction of training birds on their "
                     "own place, checked against metadata.csv)")
                 .range(0.0, 1.0)
                 .only_when("dataset.name", {"builtin", "waterbirds"}));
  for (const auto& e : dataset_registry()) e.add_keys(schema);
}

std::shared_ptr<const Dataset> dataset_of_files(const Config& cfg, const std::vector<std::string>& paths) {
  const std::string name = cfg.get_string("dataset.name");
  for (const auto& e : dataset_registry()) {
    if (e.name != name) continue;
    if (!e.files) cfg.fail("dataset.name", "'" + name + "' has no image files to prepare images like (use an HDF5 file of images)");
    return e.files(cfg, paths);
  }
  cfg.fail("dataset.name", "unknown dataset '" + name + "'");
}

DatasetSplits make_datasets(const Config& cfg) {
  const std::string name = cfg.get_string("dataset.name");
  for (const auto& e : dataset_registry())
    if (e.name == name) return e.make(cfg);
  cfg.fail("dataset.name", "unknown dataset '" + name + "'");
}

DatasetLayout dataset_layout(const Config& cfg) {
  const std::string name = cfg.get_string("dataset.name");
  for (const auto& e : dataset_registry())
    if (e.name == name) return e.layout(cfg);
  cfg.fail("dataset.name", "unknown dataset '" + name + "'");
}

std::string default_cache_dir() {
  if (const char* v = std::getenv("AIMRUN_CACHE"); v && *v) return v;
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v) return std::string(v) + "/aimrun";
  if (const char* v = std::getenv("HOME"); v && *v) return std::string(v) + "/.cache/aimrun";
  return ".cache/aimrun";
}

std::string cache_dir_of(const Config& cfg) {
  return cfg.is_null("dataset.cache_dir") ? default_cache_dir() : cfg.get_string("dataset.cache_dir");
}

}  // namespace aim::data
