#pragma once
// Reads the IDX files of MNIST / Fashion-MNIST (gzip-compressed or plain).
#include <cstdint>
#include <string>
#include <vector>

namespace aim::data {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // row-major
};

// Only unsigned-byte IDX files (type 0x08). Throws aim::DataError naming the file.
IdxArray read_idx(const std::string& path);

}  // namespace aim::data
