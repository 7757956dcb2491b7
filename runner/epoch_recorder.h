#pragma once
// What one epoch adds to the run's curves (results/run_record.h: /curves in result.h5): the
// training loss and its parts, accuracy, learning rate, throughput and seconds per phase,
// and per masked stage the mean, spread and histogram of the mask's active fraction beside
// its target. Built from the epoch's sums, reduced over ranks, in the layout fixed before the
// first step (runner/train_state.h), so every epoch records the same series.
#include <cstdint>
#include <vector>

#include "results/run_record.h"
#include "runner/train_state.h"

namespace aim {

struct EpochFacts {
  int64_t epoch = 1;                 // 1-based, just completed
  double lr = 0;                     // at the epoch's last step
  double seconds = 0;                // wall time of the epoch
  std::vector<double> area_targets;  // per masked stage (NaN where none)
  std::vector<int> mask_stages;      // the backbone stage of each masked stage
};

class EpochRecorder {
 public:
  explicit EpochRecorder(const EpochLayout& layout) : layout_(layout) {}
  // Appends the epoch to `rec`; throws aim::Error when `total` does not match the layout.
  void record(results::RunRecord& rec, const EpochSums& total, const EpochFacts& facts) const;

 private:
  EpochLayout layout_;
};

}  // namespace aim
