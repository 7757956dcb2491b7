#pragma once
// A small, portable random generator (xoshiro256**, seeded through splitmix64). The
// standard library's distributions and std::shuffle differ between implementations, so
// everything that must be reproducible across machines (dataset generation, sampler
// order, augmentation) draws from this instead.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace aim {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();                       // [0, 1)
  double uniform(double lo, double hi);   // [lo, hi)
  uint64_t below(uint64_t n);             // [0, n), unbiased
  double normal();                        // standard normal (Box-Muller)
  bool bernoulli(double p) { return uniform() < p; }
  std::vector<int64_t> permutation(int64_t n);
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  uint64_t s_[4];
};

}  // namespace aim
