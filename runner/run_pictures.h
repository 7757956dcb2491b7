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

void write_run_pictures(const RunPaths& paths, model::Model& model, const data::DatasetSplits& splits,
                        const results::RunRecord& record, const EvalOptions& eval, size_t rows);

}  // namespace aim
