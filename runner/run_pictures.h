#pragma once
// The pictures of a trained run: PNG grids of the first and the least confident samples of
// the test split (else the last evaluated split) into <run>/pictures/ (rank 0, after the
// final evaluation), drawn by runner/pictures.h.
#include <cstddef>

#include "aim/model.h"
#include "data/dataset.h"
#include "results/run_folder.h"
#include "results/run_record.h"
#include "runner/evaluate.h"

namespace aim {

// The per-sample scores the pictures rank samples by: mask confidence (masking models),
// else the softmax confidence of the prediction.
const std::vector<float>& picture_scores(const results::SplitResult& split);
bool has_mask_confidence(const results::SplitResult& split);

void write_run_pictures(const RunPaths& paths, model::Model& model, const data::DatasetSplits& splits,
                        const results::RunRecord& record, const EvalOptions& eval, size_t rows);

}  // namespace aim
