#pragma once
// Seeded single-bit flips and truncations spread over every region of a file (issue 36,
// item 8): a test mutates a copy of a good file with each and checks that the reader either
// names the damage or reads exactly what the good file holds.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace aim::test {

struct Mutation {
  bool truncate = false;
  uint64_t offset = 0;  // the flipped byte, or the length cut to
  int bit = 0;
  std::string describe() const {
    return truncate ? "cut to " + std::to_string(offset) + " bytes"
                    : "bit " + std::to_string(bit) + " of byte " + std::to_string(offset) + " flipped";
  }
  std::string apply(const std::string& bytes) const {
    if (truncate) return bytes.substr(0, offset);
    std::string out = bytes;
    out[offset] = char(uint8_t(out[offset]) ^ uint8_t(1u << bit));
    return out;
  }
};

// `flips` single-bit flips and `cuts` truncations of a file of `size` bytes, drawn from
// std::mt19937_64(seed) (its output is fixed by the standard): the file is split into 16
// regions of equal length and the i-th mutation lands in region i % 16, so every region
// (header, data, index, trailer) gets its share; the first and last 8 bytes are flipped
// too, and the cuts include 0 and size - 1.
inline std::vector<Mutation> mutations(uint64_t size, int flips, int cuts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Mutation> out;
  const uint64_t regions = std::min<uint64_t>(16, size);
  const auto in_region = [&](int i) {
    const uint64_t r = uint64_t(i) % regions, begin = size * r / regions, end = size * (r + 1) / regions;
    return begin + rng() % std::max<uint64_t>(1, end - begin);
  };
  for (uint64_t e = 0; e < std::min<uint64_t>(8, size); ++e) {
    out.push_back({false, e, int(rng() % 8)});
    out.push_back({false, size - 1 - e, int(rng() % 8)});
  }
  for (int i = 0; i < flips; ++i) out.push_back({false, in_region(i), int(rng() % 8)});
  out.push_back({true, 0, 0});
  out.push_back({true, size - 1, 0});
  for (int i = 0; i < cuts; ++i) out.push_back({true, in_region(i), 0});
  return out;
}

}  // namespace aim::test
