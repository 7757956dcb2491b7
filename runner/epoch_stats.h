#pragma once
// Per-step statistics of training (loss and its parts, accuracy, mask areas), summed per
// epoch on each rank and over ranks at the epoch's end, in a layout fixed before the first
// step (runner/train_state.h: EpochLayout).
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "aim/model.h"
#include "runner/comm/communicator.h"
#include "runner/train_state.h"

namespace aim {

// The layout of a model's epoch statistics: its loss parts and masked stages.
EpochLayout epoch_layout(const model::Model& model, int64_t bins);

// `sums` with every entry of `layout` (missing ones zero, e.g. from an older checkpoint);
// throws aim::Error when it holds an entry the layout does not know.
EpochSums conform(const EpochSums& sums, const EpochLayout& layout);

// Sums `s` over all ranks: doubles and counts in 64 bits, phase seconds as the mean over
// ranks. Every rank must pass sums that match the same layout.
EpochSums reduce_sums(const EpochSums& s, const EpochLayout& layout, comm::Communicator& comm);

// Accumulated in tensors on the training device and read back only when needed (a progress
// line, a checkpoint, the end of the epoch): reading a GPU scalar every step would stall.
class StepStats {
 public:
  explicit StepStats(const EpochLayout& layout) : layout_(layout) {}
  void add(const model::ModelOutput& out, const model::LossTerms& terms, const at::Tensor& labels);
  // Moves what was accumulated into `sums` (on the CPU) and starts again.
  void flush(EpochSums& sums);

 private:
  EpochLayout layout_;
  int64_t seen_ = 0;
  at::Tensor loss_, correct_;
  std::map<std::string, at::Tensor> parts_;
  std::vector<at::Tensor> area_sum_, area_sumsq_, hist_;
};

}  // namespace aim
