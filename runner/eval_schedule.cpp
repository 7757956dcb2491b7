#include "runner/eval_schedule.h"

#include <algorithm>
#include <cmath>

#include "aim/attribution.h"
#include "core/error.h"
#include "core/strings.h"
#include "runner/train_settings.h"

namespace aim {

EvalProtocol eval_protocol(const Config& cfg) { return {cfg.get_string("eval.explain"), cfg.get_string("eval.select")}; }

EvalOptions final_eval_options(const Config& cfg) {
  EvalOptions o;
  o.batch_size = cfg.get_int("eval.batch_size");
  o.workers = int(cfg.get_int("dataset.workers"));
  o.prefetch = int(cfg.get_int("dataset.prefetch"));
  o.attributions = cfg.get_string_list("eval.attributions");
  o.explain_true_class = cfg.get_string("eval.explain") == "true";
  o.keep_maps = cfg.get_int("eval.keep_maps");
  o.keep_maps_bytes = int64_t(cfg.get_float("eval.keep_maps_mib") * 1024 * 1024);
  o.mask_confidence = cfg.get_bool("eval.mask_confidence");
  return o;
}

std::vector<std::string> evaluated_splits(const Config& cfg, const data::DatasetSplits& splits) {
  auto names = cfg.is_null("eval.splits") ? splits.eval_splits : cfg.get_string_list("eval.splits");
  for (const auto& name : names)
    if (!splits.splits.count(name)) cfg.fail("eval.splits", "dataset has no split '" + name + "'");
  if (names.empty()) cfg.fail("eval.splits", "expected at least one split to evaluate (~: the dataset's own)");
  return names;
}

EvalSchedule eval_schedule(const Config& cfg, const data::DatasetSplits& splits) {
  EvalSchedule s;
  s.final = final_eval_options(cfg);
  s.during = s.final;
  s.during.attributions.clear();
  s.during.keep_maps = 0;
  s.during.mask_confidence = false;
  s.splits = evaluated_splits(cfg, splits);
  const bool has_val = splits.splits.count("val") > 0;
  s.val = has_val ? "val" : s.splits.front();
  s.select = cfg.get_string("eval.select");
  if (s.select != "last" && !has_val)
    cfg.fail("eval.select", "'" + s.select + "' selects by the validation split, and the dataset has none");
  s.every = cfg.get_int("train.eval_every");
  s.epochs = cfg.get_int("train.epochs");
  return s;
}

void add_eval_point(results::EvalCurve& c, int64_t epoch, const results::SplitResult& r) {
  c.epoch.push_back(epoch);
  c.accuracy.push_back(r.accuracy);
  c.worst_group_accuracy.push_back(r.worst_group_accuracy);
  c.loss.push_back(r.loss);
}

bool is_new_best(const std::string& select, TrainState& state, int64_t epoch, const results::SplitResult& r) {
  if (select == "last") return false;
  const double score = select == "best_val_accuracy" ? r.accuracy : r.worst_group_accuracy;
  if (std::isnan(score))
    throw Error("eval.select: " + select + " needs a validation split with " +
                (select == "best_val_worst_group" ? "groups" : "samples") + " (its score is NaN)");
  if (state.best_epoch > 0 && !(score > state.best_score)) return false;
  state.best_epoch = epoch;
  state.best_score = score;
  return true;
}

}  // namespace aim
