#include "data/sampler.h"

#include <stdexcept>

#include "core/hash.h"
#include "core/random.h"

namespace aim::data {

BatchIndices train_batches(int64_t n, int64_t batch_per_rank, uint64_t seed, int64_t epoch,
                           int rank, int world) {
  if (batch_per_rank <= 0 || world <= 0 || rank < 0 || rank >= world)
    throw std::invalid_argument("train_batches: bad batch size, rank or world size");
  Rng rng(mix_seed(mix_seed(seed, 0x5a3d1e), uint64_t(epoch)));
  std::vector<int64_t> order = rng.permutation(n);
  const int64_t global = batch_per_rank * world;
  BatchIndices out;
  for (int64_t start = 0; start + global <= n; start += global) {
    auto first = order.begin() + start + rank * batch_per_rank;
    out.emplace_back(first, first + batch_per_rank);
  }
  return out;
}

BatchIndices eval_batches(int64_t n, int64_t batch, int rank, int world) {
  if (batch <= 0 || world <= 0 || rank < 0 || rank >= world)
    throw std::invalid_argument("eval_batches: bad batch size, rank or world size");
  BatchIndices out;
  std::vector<int64_t> cur;
  for (int64_t i = rank; i < n; i += world) {
    cur.push_back(i);
    if (int64_t(cur.size()) == batch) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace aim::data
