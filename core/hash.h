#pragma once
// Stable, platform-independent hashing for run identities and cache keys.
#include <cstdint>
#include <string>

namespace aim {

uint64_t fnv1a64(const std::string& data, uint64_t seed = 0xcbf29ce484222325ULL);
std::string hex_digest(uint64_t value);  // 16 lowercase hex digits
// Mixes integers into one well-spread seed (splitmix64), e.g. (seed, epoch, rank).
uint64_t mix_seed(uint64_t a, uint64_t b);
// zlib's CRC-32 of bytes, and of a whole file (throws aim::Error naming the file when it
// cannot be read); hex32: 8 lowercase hex digits.
uint32_t crc32_of(const std::string& data);
uint32_t crc32_of_file(const std::string& path);
std::string hex32(uint32_t value);

}  // namespace aim
