#pragma once
// A split held in memory as uint8 tensors (the built-in dataset, packed caches): batches
// are gathered with index_select, converted to float and normalised in one pass.
#include <vector>

#include "data/dataset.h"

namespace aim::data {

struct Normalisation {
  std::vector<float> mean{0.485f, 0.456f, 0.406f};
  std::vector<float> std{0.229f, 0.224f, 0.225f};
};

class InMemoryDataset : public Dataset {
 public:
  // images: [N,3,H,W] uint8; labels/groups: [N] int64; regions: [N,H,W] uint8 or undefined.
  InMemoryDataset(SplitInfo info, at::Tensor images, at::Tensor labels, at::Tensor groups,
                  at::Tensor regions, Normalisation norm, bool hflip);

  const SplitInfo& info() const override { return info_; }
  int64_t size() const override { return labels_.size(0); }
  at::Tensor labels() const override { return labels_; }
  at::Tensor groups() const override { return groups_; }
  Batch get_batch(const std::vector<int64_t>& indices,
                  std::optional<uint64_t> augment_seed) const override;

 private:
  SplitInfo info_;
  at::Tensor images_, labels_, groups_, regions_;
  at::Tensor mean_, inv_std_;  // [1,3,1,1]
  bool hflip_;
};

}  // namespace aim::data
