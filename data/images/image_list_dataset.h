#pragma once
// A split of an image dataset given as a list of samples (files, labels, groups, ground
// truth). Every reader produces one of these per split; decoding (OpenCV, or the packed
// cache) and the transforms happen here, per sample, when a batch is asked for.
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/images/sample.h"
#include "data/images/transforms.h"
#include "data/in_memory_dataset.h"

namespace aim::data {

class PackedCache;

struct ImageListOptions {
  TransformOptions transforms;
  Normalisation norm;
  bool augment = false;       // training transforms when a batch comes with an augment seed
  bool skip_corrupt = false;  // drop missing/undecodable images (recorded in SplitInfo::skipped)
  bool packed_cache = false;  // decode once into <cache_dir>/packed/
  std::string cache_dir;
  double cache_wait_seconds = 600;  // dataset.cache_wait
  int threads = 0;  // threads of the one-off decoding passes (0: one per core)
};

class ImageListDataset : public Dataset {
 public:
  // Checks that every file exists (a missing one is an error naming it, or skipped), and
  // with skip_corrupt or packed_cache decodes every sample once. info.region_kind decides
  // whether batches carry regions.
  ImageListDataset(SplitInfo info, std::vector<Sample> samples, const ImageListOptions& options);
  ~ImageListDataset() override;

  const SplitInfo& info() const override { return info_; }
  int64_t size() const override { return int64_t(samples_.size()); }
  at::Tensor labels() const override { return labels_; }
  at::Tensor groups() const override { return groups_; }
  Batch get_batch(const std::vector<int64_t>& indices, std::optional<uint64_t> augment_seed) const override;

  const std::vector<Sample>& samples() const { return samples_; }

 private:
  DecodedSample source(int64_t i) const;

  SplitInfo info_;
  std::vector<Sample> samples_;
  std::vector<size_t> cache_entry_;  // sample -> packed cache entry
  ImageListOptions options_;
  std::unique_ptr<PackedCache> cache_;
  at::Tensor labels_, groups_, mean_, inv_std_;
};

}  // namespace aim::data
