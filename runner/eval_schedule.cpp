#include "runner/eval_schedule.h"

#include <algorithm>
#include <cmath>

#include "aim/attribution.h"
#include "core/error.h"
#include "core/strings.h"
#include "runner/train_settings.h"

namespace aim {

void add_eval_keys(Schema& s) {
  const TrainSettings d;  // the defaults of eval.pictures and eval.mask_hist_bins
  s.add(KeySpec("eval.batch_size", ValueType::Int, "256", "samples per evaluation step per rank")
            .range(1.0, std::nullopt)
            .not_identity());
  s.add(KeySpec("eval.splits", ValueType::StringList, "~",
                "splits evaluated at the end (~: all of the dataset's eval splits)"));
  s.add(KeySpec("eval.attributions", ValueType::StringList, "[gradcam, gradcam_backbone, ixg, mask]",
                "attribution methods scored with the Energy Pointing Game at the end ('mask': a masking model's merged "
                "mask and each stage's)")
            .one_of(model::attribution_names()));
  s.add(KeySpec("eval.explain", ValueType::String, "true",
                "which class the attributions explain: true (the label, as the localisation literature does) or "
                "predicted (the model's prediction, which on a misclassified sample explains the wrong class)")
            .one_of({"true", "predicted"}));
  s.add(KeySpec("eval.select", ValueType::String, "last",
                "which weights the final evaluation scores: last (the last epoch's), or the best validation "
                "evaluation (every train.eval_every epochs and the last) by accuracy or worst-group accuracy "
                "(best_val_worst_group uses group labels, which AIM's premise does not); needs a val split")
            .one_of({"last", "best_val_accuracy", "best_val_worst_group"}));
  s.add(KeySpec("eval.keep_maps", ValueType::Int, "64",
                "the first K samples of each split are stored with image, ground truth and every attribution map "
                "(fewer where they would take more than eval.keep_maps_mib)")
            .at_least(0));
  s.add(KeySpec("eval.keep_maps_mib", ValueType::Float, "4",
                "at most this many MiB (before compression) of kept samples per split: images, ground truth and "
                "maps; at 64x64 the 64 samples of eval.keep_maps fit (about 1.6 MiB), at 224x224 about 13 do "
                "(docs/hdf5-schema.md)")
            .range(0, 1e6)
            .not_identity());
  s.add(KeySpec("eval.mask_confidence", ValueType::Bool, "true",
                "masking models: per-sample mask confidence (logit margin x agreement under flip and shift)"));
  s.add(KeySpec(
            "eval.pictures", ValueType::Int, default_text(d.pictures),
            "rows of the PNG grids written to <run>/pictures at the end (chosen and least confident samples; 0: none)")
            .range(0, 256)
            .not_identity());
  s.add(KeySpec("eval.mask_hist_bins", ValueType::Int, default_text(d.mask_hist_bins),
                "bins of the per-epoch histogram of mask active fractions")
            .range(1.0, 1000.0));
}

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
