#pragma once
// Evaluation of one split: every sample exactly once over all ranks; per-sample results
// are gathered (each rank fills its own samples, then a sum) and all metrics are computed
// once from the complete arrays, with 64-bit sums. Never an average of per-rank averages.
#include <memory>

#include "aim/model.h"
#include "data/dataset.h"
#include "results/run_record.h"
#include "runner/comm/communicator.h"

namespace aim {

struct EvalOptions {
  int64_t batch_size = 256;
  int workers = 0;
  int prefetch = 4;
};

results::SplitResult evaluate_split(model::Model& model, std::shared_ptr<const data::Dataset> dataset,
                                    comm::Communicator& comm, const EvalOptions& options);

// Accuracy per group and the worst of them, from per-sample arrays (groups < 0 ignored).
void fill_group_metrics(results::SplitResult& result, int64_t num_groups);

}  // namespace aim
