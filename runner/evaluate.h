#pragma once
// Evaluation of one split: every sample exactly once over all ranks; per-sample results
// (prediction, EPG per attribution method, mask area and confidence) are gathered (each
// rank fills its own samples, then a sum) and all metrics are computed once from the
// complete arrays, in 64-bit. Never an average of per-rank averages.
#include <memory>
#include <string>
#include <vector>

#include "aim/model.h"
#include "data/dataset.h"
#include "results/run_record.h"
#include "runner/comm/communicator.h"

namespace aim {

struct EvalOptions {
  int64_t batch_size = 256;
  int workers = 0;
  int prefetch = 4;
  std::vector<std::string> attributions = {"gradcam", "gradcam_backbone", "ixg", "mask"};
  bool explain_true_class = true;   // explain the label (eval.explain: true), else the prediction
  int64_t keep_maps = 64;           // first K samples stored with their maps (rank 0)
  int64_t keep_maps_bytes = 4 << 20;  // ... as many of them as fit in this many bytes (raw)
  bool mask_confidence = true;      // masking models: margin and agreement under augmentation
};

results::SplitResult evaluate_split(model::Model& model, std::shared_ptr<const data::Dataset> dataset,
                                    comm::Communicator& comm, const EvalOptions& options);

// Accuracy per group and the worst of them, from per-sample arrays (groups < 0 ignored).
void fill_group_metrics(results::SplitResult& result, int64_t num_groups);

// Per group, the mean of every per-sample epg_<attribution> over the samples with a value
// (result.group_means; NaN for a group without any), and scalars["worst_group_epg_<a>"], the
// lowest of those means (NaN when no group has one). Needs result.group and per_sample.
void fill_group_epg(results::SplitResult& result, int64_t num_groups);

// Mask agreement per sample: mean IoU of the merged mask with the merged masks of a
// horizontally flipped and a one-cell shifted copy of the image (mapped back). [B] float.
at::Tensor mask_agreement(model::Model& model, const at::Tensor& images, const at::Tensor& merged_mask);

}  // namespace aim
