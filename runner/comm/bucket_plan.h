#pragma once
// Which gradients share a bucket (one allreduce each), decided from the parameters' sizes
// alone, so every rank, holding the same model, plans the same buckets without talking.
// Parameters are taken in reverse order (the order backward produces their gradients); a
// bucket closes as soon as it holds at least its cap (as PyTorch DDP's reducer), so a
// parameter larger than the cap gets a bucket of its own and the small ones around it
// (norms, biases) join the next large one instead of making tiny buckets.
//
// The default cap comes from the model: its gradient bytes / kAutoBuckets, between
// kMinBucketMiB and kMaxBucketMiB. A fixed 25 MiB (DDP's default) put a 21 MB model in one
// bucket besides the first, ready only when backward ends, so nothing overlapped; with
// about 8 buckets the last one, the only one whose allreduce cannot overlap backward, is
// about 1/8 of the gradients. The floor keeps each allreduce well above its latency (MPI
// over shared memory or NCCL: ~10-50 us, against ~300 us for 1 MiB at ~3 GB/s); the ceiling
// is DDP's default, which clusters are tuned for.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace aim::comm {

struct GradientInfo {
  int64_t bytes;  // numel x element size
  int dtype;      // a bucket holds one dtype only (at::ScalarType as int)
};

constexpr double kAutoBuckets = 8;
constexpr double kMinBucketMiB = 1;
constexpr double kMaxBucketMiB = 25;

// The bucket cap for `bucket_mb` (the config's value): itself when positive, else (0) the
// model-derived cap above for gradients of `total_bytes`.
double bucket_cap_mib(double bucket_mb, int64_t total_bytes);

// Buckets as lists of indices into `grads`, in launch order. The first bucket's cap is
// `first_mib` (small, so communication starts early), every later one's `cap_mib`.
std::vector<std::vector<size_t>> plan_buckets(const std::vector<GradientInfo>& grads, double cap_mib, double first_mib);

}  // namespace aim::comm
