#include "runner/run_keys.h"

#include "aim/attribution_names.h"
#include "runner/train_settings.h"

namespace aim {

void add_device_keys(Schema& s) {
  s.add(KeySpec("device", ValueType::String, "auto",
                "where each rank computes: auto (its local rank's GPU when CUDA is available, else the CPU), cpu, cuda")
            .one_of({"auto", "cpu", "cuda"})
            .not_identity());
}

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

}  // namespace aim
