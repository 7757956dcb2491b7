#include "runner/epoch_recorder.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace aim {

namespace {

void record_masks(results::RunRecord& rec, const EpochSums& total, const EpochFacts& facts, int64_t bins, double seen) {
  auto& masks = rec.mask_curves;
  if (masks.empty())
    for (size_t s = 0; s < total.area_sum.size(); ++s) {
      results::MaskCurve m;
      m.stage = s < facts.mask_stages.size() ? facts.mask_stages[s] : int64_t(s);
      m.bins = bins;
      masks.push_back(m);
    }
  for (size_t s = 0; s < total.area_sum.size(); ++s) {
    const double mean = total.area_sum[s] / seen;
    const double var = std::max(0.0, total.area_sumsq[s] / seen - mean * mean);
    masks[s].active_mean.push_back(mean);
    masks[s].active_std.push_back(std::sqrt(var));
    masks[s].target.push_back(s < facts.area_targets.size() ? facts.area_targets[s] : NAN);
    for (int64_t k = 0; k < bins; ++k) masks[s].histogram.push_back(double(total.area_hist[s][k]) / seen);
  }
}

}  // namespace

void EpochRecorder::record(results::RunRecord& rec, const EpochSums& total, const EpochFacts& facts) const {
  if (!total.matches(layout_)) throw Error("internal: the epoch's sums do not match the layout fixed at the start");
  rec.curves.epoch.push_back(facts.epoch);
  auto push = [&](const std::string& k, double v) { rec.curves.series[k].push_back(v); };
  const double seen = double(std::max<int64_t>(1, total.seen));
  push("train_loss", total.loss / seen);
  push("train_accuracy", double(total.correct) / seen);
  push("lr", facts.lr);
  double step_seconds = 0;
  for (const auto& [k, v] : total.seconds) step_seconds += v;
  push("images_per_s", double(total.seen) / std::max(1e-9, step_seconds));
  push("epoch_seconds", facts.seconds);
  for (const auto& phase : EpochLayout::phases())
    push(phase + "_seconds", total.seconds.count(phase) ? total.seconds.at(phase) : 0.0);
  for (const auto& [k, v] : total.parts) push("loss_" + k, v / seen);
  if (!total.area_sum.empty()) record_masks(rec, total, facts, layout_.bins, seen);
}

}  // namespace aim
