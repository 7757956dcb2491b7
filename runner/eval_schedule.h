#pragma once
// When and what a run evaluates (the eval.* keys and train.eval_every), read from the config
// once beside the keys that define them: the validation split during training (accuracy
// only), the splits of the final evaluation (attributions, EPG, mask confidence, stored
// maps), and eval.select's choice of the weights the final evaluation scores. `aimrun
// evaluate` takes the same options, so a run's two result files cannot disagree on them.
#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"
#include "results/run_record.h"
#include "runner/run_keys.h"  // add_eval_keys
#include "runner/evaluate.h"
#include "runner/train_state.h"

namespace aim {

// The eval.* keys, in the order docs/config-reference.md lists them.

// The final evaluation's options (eval.batch_size, eval.attributions, eval.explain,
// eval.keep_maps, eval.mask_confidence, dataset.workers/prefetch).
EvalOptions final_eval_options(const Config& cfg);
// What the result files record of the protocol: eval.explain and eval.select, verbatim.
struct EvalProtocol {
  std::string explain, select;
};
EvalProtocol eval_protocol(const Config& cfg);
// eval.splits, or the dataset's evaluation splits when it is ~; a ConfigError for a split
// the dataset does not have.
std::vector<std::string> evaluated_splits(const Config& cfg, const data::DatasetSplits& splits);

struct EvalSchedule {
  EvalOptions during;               // validation during training: accuracy only
  EvalOptions final;                // every evaluated split, at the end
  std::vector<std::string> splits;  // evaluated at the end, in this order
  std::string val;                  // "val" when the dataset has one, else the first evaluated split
  std::string select = "last";      // eval.select: last | best_val_accuracy | best_val_worst_group
  int64_t every = 1;                // train.eval_every (0: only at the end)
  int64_t epochs = 1;               // train.epochs

  // Whether the validation split is evaluated after `epoch` (1-based, just completed) during
  // training. The last epoch's is part of the final evaluation, never here.
  bool due_after(int64_t epoch) const { return every > 0 && epoch % every == 0 && epoch < epochs; }
  // Whether the final evaluation of `val` is also a point of its validation curve.
  bool final_val_is_curve_point() const { return every > 0 && select == "last"; }
};

// A ConfigError (eval.splits, eval.select) when the dataset cannot serve the schedule.
EvalSchedule eval_schedule(const Config& cfg, const data::DatasetSplits& splits);

// One point of a validation curve.
void add_eval_point(results::EvalCurve& curve, int64_t epoch, const results::SplitResult& r);

// eval.select: whether the evaluation `r` after `epoch` is the best so far (strictly better
// than the best, or the first): then it is recorded in `state` (best_epoch, best_score) and
// the caller keeps the weights. The same on every rank: the evaluation is reduced over all
// ranks. Throws aim::Error when the score is NaN (no samples, or no groups).
bool is_new_best(const std::string& select, TrainState& state, int64_t epoch, const results::SplitResult& r);

}  // namespace aim
