// The synthetic dataset's keys and layout (data/dataset_info.h); its factory is
// synthetic_dataset.cpp.
#include "data/dataset_info.h"
#include "data/dataset_keys.h"

namespace aim::data {

namespace synthetic {

DatasetLayout layout(const Config& cfg) {
  auto size = [&](const char* key) { return cfg.is_null(key) ? int64_t{4096} : cfg.get_int(key); };
  return {{{"train", size("dataset.train_size")}, {"val", size("dataset.val_size")}}, {"val"}};
}

void add_keys(Schema& s) {
  s.add(train_size_key());
  s.add(val_size_key());
  s.add(seed_key());
  s.add(image_size_key());
  s.add(KeySpec("dataset.num_classes", ValueType::Int, "1000", "synthetic: number of classes").range(2, 100000));
  s.add(KeySpec("dataset.pool", ValueType::Int, "64", "synthetic: distinct noise images, repeated").range(1, 100000));
}

}  // namespace synthetic

DatasetInfo synthetic_dataset_info() {
  return {"synthetic", "random noise images for benchmarks (no files; accuracy means nothing)", synthetic::add_keys,
          synthetic::layout};
}

}  // namespace aim::data
