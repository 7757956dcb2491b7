#pragma once
// Stable, platform-independent hashing for run identities and cache keys.
#include <cstdint>
#include <string>

namespace aim {

uint64_t fnv1a64(const std::string& data, uint64_t seed = 0xcbf29ce484222325ULL);
std::string hex_digest(uint64_t value);  // 16 lowercase hex digits
// Mixes integers into one well-spread seed (splitmix64), e.g. (seed, epoch, rank).
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace aim
