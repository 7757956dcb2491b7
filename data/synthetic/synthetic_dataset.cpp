// synthetic: random images for benchmarks and GPU checks, no files needed. A small pool of
// distinct noise images is made once and repeated (making fresh noise per batch would
// measure the random generator, not the trainer); labels cycle through the classes; the
// ground truth is a centred box covering a quarter of the image.
#include <torch/torch.h>

#include "data/dataset_keys.h"
#include "data/registry.h"

namespace aim::data {

// Named, not anonymous: the unity build (CMAKE_UNITY_BUILD) puts several datasets in one
// translation unit.
namespace synthetic {

class SyntheticDataset : public Dataset {
 public:
  SyntheticDataset(SplitInfo info, int64_t size, int64_t pool, uint64_t seed) : info_(std::move(info)), size_(size) {
    auto gen = at::detail::createCPUGenerator(seed);
    images_ = torch::randn({pool, 3, info_.height, info_.width}, gen);
    labels_ = torch::arange(size) % info_.num_classes();
    groups_ = torch::full({size}, -1, torch::kLong);
    region_ = torch::zeros({info_.height, info_.width}, torch::kUInt8);
    region_.slice(0, info_.height / 4, 3 * info_.height / 4).slice(1, info_.width / 4, 3 * info_.width / 4).fill_(1);
  }
  const SplitInfo& info() const override { return info_; }
  int64_t size() const override { return size_; }
  at::Tensor labels() const override { return labels_; }
  at::Tensor groups() const override { return groups_; }
  Batch get_batch(const std::vector<int64_t>& indices, std::optional<uint64_t>) const override {
    const int64_t b = int64_t(indices.size());
    Batch out;
    out.indices = torch::tensor(indices, torch::kLong);
    out.images = images_.index_select(0, out.indices % images_.size(0));
    out.labels = labels_.index_select(0, out.indices);
    out.groups = groups_.index_select(0, out.indices);
    out.regions = region_.unsqueeze(0).expand({b, info_.height, info_.width}).contiguous();
    return out;
  }

 private:
  SplitInfo info_;
  int64_t size_;
  at::Tensor images_, labels_, groups_, region_;
};

DatasetSplits make(const Config& cfg) {
  const int64_t side = cfg.get_int("dataset.image_size"), classes = cfg.get_int("dataset.num_classes");
  DatasetSplits out;
  for (const std::string split : {"train", "val"}) {
    SplitInfo info;
    info.dataset = "synthetic";
    info.split = split;
    for (int64_t c = 0; c < classes; ++c) info.class_names.push_back("class" + std::to_string(c));
    info.height = info.width = side;
    info.region_kind = "boxes";
    info.mean = {0, 0, 0};
    info.std = {1, 1, 1};
    const char* key = split == "train" ? "dataset.train_size" : "dataset.val_size";
    int64_t n = cfg.is_null(key) ? 4096 : cfg.get_int(key);
    out.splits[split] = std::make_shared<SyntheticDataset>(info, n, cfg.get_int("dataset.pool"),
                                                           uint64_t(cfg.get_int("dataset.seed")) + (split == "val"));
  }
  out.eval_splits = {"val"};
  return out;
}

}  // namespace synthetic

DatasetEntry synthetic_dataset_entry() {
  return {synthetic_dataset_info(), synthetic::make, /*files=*/{}};
}

}  // namespace aim::data
