#include "runner/comm/bucket_plan.h"

#include <algorithm>
#include <stdexcept>

namespace aim::comm {

double bucket_cap_mib(double bucket_mb, int64_t total_bytes) {
  if (bucket_mb > 0) return bucket_mb;
  if (bucket_mb < 0) throw std::invalid_argument("bucket size must be positive, or 0 for the model-derived size");
  const double total_mib = double(total_bytes) / (1024.0 * 1024.0);
  return std::clamp(total_mib / kAutoBuckets, kMinBucketMiB, kMaxBucketMiB);
}

std::vector<std::vector<size_t>> plan_buckets(const std::vector<GradientInfo>& grads, double cap_mib,
                                              double first_mib) {
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;  // bytes in the open bucket
  bool open = false;
  for (size_t k = grads.size(); k-- > 0;) {
    const bool join = open && grads[buckets.back().front()].dtype == grads[k].dtype;
    if (!join) {  // nothing open, or another dtype: a new bucket
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += grads[k].bytes;
    const double cap = buckets.size() == 1 ? first_mib : cap_mib;
    open = double(filled) < cap * 1024 * 1024;
  }
  return buckets;
}

}  // namespace aim::comm
