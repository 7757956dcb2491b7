#pragma once
// The dataset interface every reader implements. A split is a Dataset; a batch carries
// what training and evaluation need: normalised images, labels, groups and the
// ground-truth region used by the Energy Pointing Game.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aim::data {

struct Batch {
  at::Tensor images;   // [B,3,H,W] float32, normalised
  at::Tensor labels;   // [B] int64
  at::Tensor groups;   // [B] int64, -1 where the dataset has no groups
  at::Tensor regions;  // [B,H,W] uint8 ground truth (1 = object); undefined when none
  at::Tensor indices;  // [B] int64 positions in the split
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  // The same batch on `device` (indices stay on the CPU: they index CPU arrays).
  Batch to(const c10::Device& device, bool non_blocking = false) const;
  // Page-locked copies, so that a copy to the GPU can run asynchronously.
  Batch pinned() const;
};

struct SplitInfo {
  std::string dataset;  // "builtin", "waterbirds", ...
  std::string split;    // "train", "val", "test", ...
  std::vector<std::string> class_names;
  std::vector<std::string> group_names;  // empty when the dataset has no groups
  int64_t height = 0, width = 0;
  std::string region_kind;  // "segmentation", "boxes" or "" (no ground truth)
  std::vector<float> mean, std;  // the normalisation applied to images (to undo it for pictures)
  // Files left out because they were missing or could not be decoded (dataset.skip_corrupt);
  // the run's result file lists them.
  std::vector<std::string> skipped;
  int64_t num_classes() const { return int64_t(class_names.size()); }
  int64_t num_groups() const { return int64_t(group_names.size()); }
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual const SplitInfo& info() const = 0;
  virtual int64_t size() const = 0;
  virtual at::Tensor labels() const = 0;  // [N] int64
  virtual at::Tensor groups() const = 0;  // [N] int64, -1 when none
  // Assembles the samples at `indices`. With an augment seed, training transforms are
  // drawn from it (so a batch is the same whichever thread builds it); without one, the
  // evaluation transforms are applied.
  virtual Batch get_batch(const std::vector<int64_t>& indices,
                          std::optional<uint64_t> augment_seed) const = 0;
};

// The splits of one dataset. "train" is trained on; eval_splits are evaluated, in order.
struct DatasetSplits {
  std::map<std::string, std::shared_ptr<const Dataset>> splits;
  std::vector<std::string> eval_splits;
  const Dataset& at(const std::string& name) const;
};

}  // namespace aim::data
