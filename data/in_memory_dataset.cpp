#include "data/in_memory_dataset.h"

#include <torch/torch.h>

#include "core/hash.h"
#include "core/random.h"

namespace aim::data {

InMemoryDataset::InMemoryDataset(SplitInfo info, at::Tensor images, at::Tensor labels,
                                 at::Tensor groups, at::Tensor regions, Normalisation norm,
                                 bool hflip)
    : info_(std::move(info)),
      images_(std::move(images)),
      labels_(std::move(labels)),
      groups_(std::move(groups)),
      regions_(std::move(regions)),
      hflip_(hflip) {
  TORCH_CHECK(images_.dim() == 4 && images_.size(1) == 3 && images_.scalar_type() == torch::kUInt8,
              "images must be [N,3,H,W] uint8");
  TORCH_CHECK(labels_.size(0) == images_.size(0), "labels and images differ in length");
  if (!groups_.defined()) groups_ = torch::full({images_.size(0)}, -1, torch::kLong);
  info_.mean = norm.mean;
  info_.std = norm.std;
  mean_ = torch::tensor(norm.mean).view({1, 3, 1, 1});
  inv_std_ = 1.0 / torch::tensor(norm.std).view({1, 3, 1, 1});
  info_.height = images_.size(2);
  info_.width = images_.size(3);
}

Batch InMemoryDataset::get_batch(const std::vector<int64_t>& indices,
                                 std::optional<uint64_t> augment_seed) const {
  const int64_t b = int64_t(indices.size());
  auto idx = torch::from_blob(const_cast<int64_t*>(indices.data()), {b}, torch::kLong).clone();
  Batch out;
  out.indices = idx;
  out.labels = labels_.index_select(0, idx);
  out.groups = groups_.index_select(0, idx);
  auto images = images_.index_select(0, idx).to(torch::kFloat).mul_(1.0 / 255.0);
  at::Tensor regions = regions_.defined() ? regions_.index_select(0, idx) : at::Tensor();
  if (augment_seed && hflip_) {
    Rng rng(*augment_seed);
    std::vector<uint8_t> flip(b);
    for (auto& f : flip) f = rng.bernoulli(0.5);
    auto mask = torch::from_blob(flip.data(), {b}, torch::kUInt8).to(torch::kBool);
    images = torch::where(mask.view({b, 1, 1, 1}), images.flip({3}), images);
    if (regions.defined()) regions = torch::where(mask.view({b, 1, 1}), regions.flip({2}), regions);
  }
  out.images = images.sub_(mean_).mul_(inv_std_);
  out.regions = regions;
  return out;
}

Batch Batch::to(const c10::Device& device, bool non_blocking) const {
  if (images.device() == device) return *this;
  Batch b = *this;
  b.images = images.to(device, non_blocking);
  b.labels = labels.to(device, non_blocking);
  b.groups = groups.to(device, non_blocking);
  if (regions.defined()) b.regions = regions.to(device, non_blocking);
  return b;
}

Batch Batch::pinned() const {
  Batch b = *this;
  b.images = images.pin_memory();
  b.labels = labels.pin_memory();
  b.groups = groups.pin_memory();
  if (regions.defined()) b.regions = regions.pin_memory();
  return b;
}

const Dataset& DatasetSplits::at(const std::string& name) const {
  auto it = splits.find(name);
  TORCH_CHECK(it != splits.end(), "dataset has no split '", name, "'");
  return *it->second;
}

}  // namespace aim::data
