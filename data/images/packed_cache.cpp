#include "data/images/packed_cache.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "core/error.h"
#include "core/file_digest.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/hash.h"

namespace aim::data {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'A', 'I', 'M', 'P', 'A', 'C', 'K', '1'};
struct Header {
  char magic[8];
  uint64_t count;
  uint64_t index_offset;
};

struct Packed {
  cv::Mat rgb, region;
  std::string error;
};

Packed pack_one(const Sample& s, const PackOptions& o) {
  Packed p;
  try {
    auto d = decode_sample(s, o.with_region);
    const int shorter = std::min(d.rgb.rows, d.rgb.cols);
    if (shorter > o.shorter_side) {
      const double f = double(o.shorter_side) / shorter;
      cv::Size size(std::max(1, int(std::lround(d.rgb.cols * f))), std::max(1, int(std::lround(d.rgb.rows * f))));
      cv::resize(d.rgb, d.rgb, size, 0, 0, cv::INTER_AREA);
      if (!d.region.empty()) cv::resize(d.region, d.region, size, 0, 0, cv::INTER_NEAREST);
    }
    p.rgb = d.rgb.isContinuous() ? d.rgb : d.rgb.clone();
    if (!d.region.empty()) p.region = d.region.isContinuous() ? d.region : d.region.clone();
  } catch (const DataError& e) {
    p.error = e.what();
  }
  return p;
}

void write_all(FILE* f, const void* data, size_t n, const std::string& path) {
  if (n && std::fwrite(data, 1, n, f) != n) throw Error(write_error(path, errno));
}

// What a pack's digest is made for: its file name, itself a hash of the samples and options.
std::string pack_key(const std::string& path) { return fs::path(path).filename().string(); }

}  // namespace

void PackedCache::build(const std::string& path, const std::vector<Sample>& samples, const PackOptions& o) {
  const std::string tmp = temp_path_for(path);
  write_pack(tmp, path, samples, o);
  commit_file(tmp, path);
}

// The whole cache into `tmp` (flushed and closed, every call checked); on any error `tmp`
// is removed and the error names `path`.
void PackedCache::write_pack(const std::string& tmp, const std::string& path, const std::vector<Sample>& samples,
                             const PackOptions& o) {
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(tmp + ": cannot create packed cache: " + std::strerror(errno));
  try {
    Header h{};
    std::memcpy(h.magic, kMagic, 8);
    h.count = samples.size();
    write_all(f, &h, sizeof h, path);
    uint64_t offset = sizeof h;
    std::vector<PackedEntry> index(samples.size());
    const int threads = o.threads > 0 ? o.threads : std::max(1, int(std::thread::hardware_concurrency()));
    // Chunks bound the memory held at once; within a chunk samples decode in parallel and
    // are written in order.
    const size_t chunk = size_t(threads) * 32;
    std::vector<Packed> packed;
    for (size_t start = 0; start < samples.size(); start += chunk) {
      const size_t n = std::min(chunk, samples.size() - start);
      packed.assign(n, Packed{});
      std::atomic<size_t> next{0};
      std::vector<std::thread> pool;
      for (int t = 0; t < std::min<int>(threads, int(n)); ++t)
        pool.emplace_back([&] {
          for (size_t i; (i = next++) < n;) packed[i] = pack_one(samples[start + i], o);
        });
      for (auto& t : pool) t.join();
      for (size_t i = 0; i < n; ++i) {
        auto& p = packed[i];
        auto& e = index[start + i];
        if (!p.error.empty()) {
          if (!o.skip_corrupt) throw DataError(p.error);
          continue;  // an empty entry: height 0
        }
        e.height = uint32_t(p.rgb.rows);
        e.width = uint32_t(p.rgb.cols);
        e.image_offset = offset;
        write_all(f, p.rgb.data, p.rgb.total() * 3, path);
        offset += p.rgb.total() * 3;
        if (!p.region.empty()) {
          e.has_region = 1;
          e.region_offset = offset;
          write_all(f, p.region.data, p.region.total(), path);
          offset += p.region.total();
        }
      }
    }
    h.index_offset = offset;
    write_all(f, index.data(), index.size() * sizeof(PackedEntry), path);
    if (std::fseek(f, 0, SEEK_SET) != 0) throw Error(tmp + ": cannot seek");
    write_all(f, &h, sizeof h, path);
    if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) throw Error(write_error(path, errno));
    const int closed = std::fclose(f);
    f = nullptr;
    if (closed != 0) throw Error(write_error(path, errno));
    append_file_digest(tmp, pack_key(path));  // checked at every open (map)
  } catch (...) {
    if (f) std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
}

PackedCache PackedCache::open_or_build(const std::string& path, const std::vector<Sample>& samples,
                                       const PackOptions& options, std::vector<std::string>* failures) {
  ensure_dir(fs::path(path).parent_path().string());
  const std::string key = pack_key(path);
  PackedCache c;
  if (fs::exists(path)) {
    try {
      c.map(path, key);
    } catch (const DataError& e) {  // damaged (its digest names what failed): never read
      spdlog::warn("{}; packing it again in its place", e.what());
      c = PackedCache();
    }
  }
  if (!c.data_) {
    // Concurrent runs (ranks, sweep members) wait for one builder instead of all decoding;
    // for at most options.wait_seconds: a builder stopped or frozen holds no one up longer.
    FileLock lock;
    if (!lock.lock_within(path + ".lock", options.wait_seconds, "the packed cache " + path)) {
      spdlog::warn(
          "{}: another process has been packing it for {:.0f} s (dataset.cache_wait) without finishing; "
          "packing a private copy for this run",
          path, options.wait_seconds);
      const std::string own = temp_path_for(path);
      write_pack(own, path, samples, options);
      try {
        c.map(own, key);  // the mapping outlives the name
      } catch (...) {
        ::unlink(own.c_str());
        throw;
      }
      ::unlink(own.c_str());
    } else if (!fs::exists(path) || !check_file_digest(path, key).ok) {  // another process may have packed it
      spdlog::info("packing {} images into {} (once; later runs read it)", samples.size(), path);
      build(path, samples, options);
    }
  }
  if (!c.data_) c.map(path, key);
  if (c.size() != samples.size())
    throw DataError(path + ": packed cache holds " + std::to_string(c.size()) + " samples, expected " +
                    std::to_string(samples.size()) + " (delete it to rebuild)");
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.readable(i)) continue;
    if (!options.skip_corrupt)
      throw DataError(samples[i].path + ": cannot decode image (recorded as unreadable in " + path + ")");
    if (failures) failures->push_back(samples[i].path);
  }
  return c;
}

void PackedCache::map(const std::string& path, const std::string& key) {
  // Every byte checked against the digest recorded at its end before any is used.
  const auto digest = check_file_digest(path, key);
  if (!digest.ok) throw DataError(path + ": damaged packed cache: " + digest.problem);
  path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(path + ": cannot open packed cache: " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  bytes_ = size_t(st.st_size);
  void* p = bytes_ ? ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (p == MAP_FAILED) throw Error(path + ": cannot map packed cache");
  data_ = static_cast<const uint8_t*>(p);
  const auto bad = [&](const std::string& why) { return DataError(path + ": damaged packed cache: " + why); };
  if (bytes_ != digest.body_bytes + kFileDigestBytes) throw bad("it changed while it was read");
  const size_t body = size_t(digest.body_bytes);
  if (body < sizeof(Header)) throw bad("too short");
  Header h;
  std::memcpy(&h, data_, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) throw bad("wrong magic");
  if (h.index_offset > body || (body - h.index_offset) != h.count * sizeof(PackedEntry))
    throw bad("index does not match the file size");
  index_.resize(h.count);
  std::memcpy(index_.data(), data_ + h.index_offset, h.count * sizeof(PackedEntry));
  for (const auto& e : index_) {
    const uint64_t px = uint64_t(e.height) * e.width;
    if (e.height && (e.image_offset + px * 3 > h.index_offset ||
                     (e.has_region && e.region_offset + px > h.index_offset)))
      throw bad("entry outside the data");
  }
}

cv::Mat PackedCache::image(size_t i) const {
  const auto& e = index_[i];
  return cv::Mat(int(e.height), int(e.width), CV_8UC3, const_cast<uint8_t*>(data_ + e.image_offset));
}

cv::Mat PackedCache::region(size_t i) const {
  const auto& e = index_[i];
  if (!e.has_region) return {};
  return cv::Mat(int(e.height), int(e.width), CV_8UC1, const_cast<uint8_t*>(data_ + e.region_offset));
}

PackedCache::~PackedCache() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), bytes_);
}

PackedCache::PackedCache(PackedCache&& o) noexcept
    : path_(std::move(o.path_)), data_(o.data_), bytes_(o.bytes_), index_(std::move(o.index_)) {
  o.data_ = nullptr;
  o.bytes_ = 0;
}

PackedCache& PackedCache::operator=(PackedCache&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), bytes_);
    path_ = std::move(o.path_);
    data_ = o.data_;
    bytes_ = o.bytes_;
    index_ = std::move(o.index_);
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

std::string packed_cache_path(const std::string& cache_dir, const std::string& dataset, const std::string& split,
                              const std::vector<Sample>& samples, const PackOptions& o) {
  // Paths and sizes on disk identify the files (modification times would invalidate the
  // cache whenever a dataset is copied to a node's local disk).
  std::string key = "v1|" + std::to_string(o.shorter_side) + "|" + std::to_string(o.with_region) + "|";
  uint64_t h = fnv1a64(key);
  std::error_code ec;
  for (const auto& s : samples) {
    std::string line = s.path + "|" + std::to_string(fs::file_size(s.path, ec)) + "|" + s.mask_path + "|" +
                       std::to_string(s.mask_threshold) + "|" + std::to_string(s.box_frame_width) + "x" +
                       std::to_string(s.box_frame_height);
    for (const auto& b : s.boxes)
      line += "|" + std::to_string(b.x) + "," + std::to_string(b.y) + "," + std::to_string(b.w) + "," + std::to_string(b.h);
    h = fnv1a64(line, h);
  }
  return cache_dir + "/packed/" + dataset + "-" + split + "-" + hex_digest(h) + ".pack";
}

}  // namespace aim::data
