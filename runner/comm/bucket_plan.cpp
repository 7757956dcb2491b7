#include "runner/comm/bucket_plan.h"

#include <algorithm>

namespace aim::comm {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

double last_bucket_cap_mib(double last_mb, int64_t total_bytes) {
  if (last_mb != 0) return last_mb;
  return std::clamp(double(total_bytes) / kMiB / 8, 1.0, 25.0);
}

std::vector<std::vector<size_t>> plan_buckets(const std::vector<GradientInfo>& grads, double cap_mib, double first_mib,
                                              double last_mib) {
  int64_t total = 0;
  for (const auto& g : grads) total += g.bytes;
  // The last bucket: the first parameters (one dtype), up to its cap.
  size_t tail = 0;
  if (last_mib > 0) {
    const double cap = std::min(last_mib * kMiB, double(total) / 4);
    int64_t filled = 0;
    while (tail < grads.size() && double(filled) < cap && grads[tail].dtype == grads[0].dtype)
      filled += grads[tail++].bytes;
  }
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;  // bytes in the open bucket
  bool open = false;
  for (size_t k = grads.size(); k-- > tail;) {
    const bool join = open && grads[buckets.back().front()].dtype == grads[k].dtype;
    if (!join) {  // nothing open, or another dtype: a new bucket
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += grads[k].bytes;
    const double cap = buckets.size() == 1 ? first_mib : cap_mib;
    open = double(filled) < cap * kMiB;
  }
  if (tail > 0) {
    buckets.emplace_back();
    for (size_t k = tail; k-- > 0;) buckets.back().push_back(k);
  }
  return buckets;
}

}  // namespace aim::comm
