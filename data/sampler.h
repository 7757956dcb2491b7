#pragma once
// Which samples each rank processes, and in what order.
//
// Training: one permutation of the split per epoch, drawn from (seed, epoch), so every seed
// of a sweep sees its own order and every epoch reshuffles. It is cut into global batches
// of batch_per_rank * world samples, and rank r takes the r-th slice of each: two ranks
// with batch b see exactly the samples one rank with batch 2b sees. The incomplete last
// global batch is dropped so that every rank takes the same number of steps.
//
// Evaluation: every sample exactly once over all ranks (rank r takes r, r+world, ...), no
// padding, so no sample is counted twice; ranks may get one batch more or fewer.
#include <cstdint>
#include <vector>

namespace aim::data {

using BatchIndices = std::vector<std::vector<int64_t>>;

BatchIndices train_batches(int64_t n, int64_t batch_per_rank, uint64_t seed, int64_t epoch,
                           int rank, int world);
BatchIndices eval_batches(int64_t n, int64_t batch, int rank, int world);

}  // namespace aim::data
