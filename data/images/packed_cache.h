#pragma once
// A split's images decoded once, resized (shorter side to a fixed length, aspect kept) and
// stored with their ground-truth regions in one file, memory-mapped on later epochs and
// runs. Decoding a JPEG costs far more than the transforms; the cache pays it once.
//
// File layout (little-endian, native struct layout of this build):
//   header {char magic[8] = "AIMPACK1"; uint64 count; uint64 index_offset}
//   pixel data: per entry RGB bytes (h*w*3), then region bytes (h*w, 0/1) when it has one
//   index: count x Entry
//   a content digest of everything before it and the file's name (core/file_digest.h),
//   checked at every open: a damaged pack is named in a warning and packed again.
// An entry with height 0 is a sample that could not be decoded (skip_corrupt).
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/images/sample.h"

namespace aim::data {

struct PackedEntry {
  uint32_t height = 0, width = 0;
  uint32_t has_region = 0, reserved = 0;
  uint64_t image_offset = 0, region_offset = 0;
};

struct PackOptions {
  int64_t shorter_side = 256;  // images larger than this are shrunk to it; never enlarged
  bool with_region = false;
  bool skip_corrupt = false;  // store undecodable samples as empty entries instead of failing
  int threads = 0;            // decoding threads (0: one per core)
  double wait_seconds = 600;  // for another process building the same cache; then a private copy
};

class PackedCache {
 public:
  // Opens `path`, or builds it from `samples` first (under a lock, so that concurrent
  // runs build it once). `failures` receives "<file>: <reason>" per undecodable sample
  // (only with skip_corrupt; otherwise the first one throws).
  static PackedCache open_or_build(const std::string& path, const std::vector<Sample>& samples,
                                   const PackOptions& options, std::vector<std::string>* failures = nullptr);
  static void build(const std::string& path, const std::vector<Sample>& samples, const PackOptions& options);

  PackedCache() = default;
  ~PackedCache();
  PackedCache(PackedCache&& other) noexcept;
  PackedCache& operator=(PackedCache&& other) noexcept;
  PackedCache(const PackedCache&) = delete;
  PackedCache& operator=(const PackedCache&) = delete;

  size_t size() const { return index_.size(); }
  bool readable(size_t i) const { return index_[i].height > 0; }
  // Views into the mapped file (valid while this object lives); region empty when none.
  cv::Mat image(size_t i) const;
  cv::Mat region(size_t i) const;
  const std::string& path() const { return path_; }

 private:
  // Maps `path` after checking its digest against `key`; DataError when it is damaged.
  void map(const std::string& path, const std::string& key);
  static void write_pack(const std::string& tmp, const std::string& path, const std::vector<Sample>& samples,
                         const PackOptions& options);
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t bytes_ = 0;
  std::vector<PackedEntry> index_;
};

// The cache file for a split: <cache_dir>/packed/<dataset>-<split>-<hash>.pack, the hash
// over the sample list (paths, sizes on disk, labels' ground truth) and the options.
std::string packed_cache_path(const std::string& cache_dir, const std::string& dataset, const std::string& split,
                              const std::vector<Sample>& samples, const PackOptions& options);

}  // namespace aim::data
