#pragma once
// Which gradients share a bucket (one allreduce each), decided from the parameters' sizes
// alone, so every rank, holding the same model, plans the same buckets without talking.
// Parameters are taken in reverse order (the order backward produces their gradients); a
// bucket closes as soon as it holds at least its cap (as PyTorch DDP's reducer), so a
// parameter larger than the cap gets a bucket of its own and the small ones around it
// (norms, biases) join the next large one instead of making tiny buckets.
//
// Three caps: the first bucket (the last layers) is small, so communication starts early in
// backward; the last bucket (the first layers, complete only when backward ends: the one
// allreduce that can never overlap it) is small, so little is left exposed; the buckets
// between are large, as each allreduce has a fixed cost (a synchronisation of the ranks and,
// where ranks share cores, a communication thread competing with backward). With the middle
// cap alone (DDP's 25 MiB) a 21 MB model had one bucket besides the first, ready only when
// backward ended, so nothing overlapped. The last bucket's cap comes from the model: its
// gradient bytes / 8, between 1 and 25 MiB, and never more than a quarter of the model.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aim::comm {

struct GradientInfo {
  int64_t bytes;  // numel x element size
  int dtype;      // a bucket holds one dtype only (at::ScalarType as int)
};

// The last bucket's cap for `last_mb` (the config's value): itself when positive, 0: from
// the model's `total_bytes` as above; negative: no separate last bucket.
double last_bucket_cap_mib(double last_mb, int64_t total_bytes);

// Buckets as lists of indices into `grads`, in launch order: the first capped at
// `first_mib`, the last (if last_mib > 0) holding the first parameters up to last_mib (at
// most a quarter of all bytes), every other one `cap_mib`.
std::vector<std::vector<size_t>> plan_buckets(const std::vector<GradientInfo>& grads, double cap_mib, double first_mib,
                                              double last_mib);

}  // namespace aim::comm
