#pragma once
// A cache file's own check: the CRC-32 of its bytes and a hash of the key it was made for,
// appended to its end as a 32-byte trailer (docs/reliability.md, "Dataset caches"):
//   char magic[8] = "AIMDGST1"; uint64 body_bytes; uint64 key_hash (fnv1a64);
//   uint32 body_crc32; uint32 trailer_crc32 (of the 28 bytes before it); little-endian.
// The bytes are checked before any library parses them (HDF5 reading a damaged file can
// crash), so a flipped bit or a cut anywhere in the file is found and named, never read.
// HDF5 files keep working with a trailer: the library reads up to its own end of data.
#include <cstdint>
#include <string>

namespace aim {

constexpr uint64_t kFileDigestBytes = 32;

// Appends the trailer for the bytes `path` holds now and `key`, fsyncs nothing (the caller's
// commit_file does). Throws aim::Error naming `path` when it cannot be read or written.
void append_file_digest(const std::string& path, const std::string& key);

struct FileDigestCheck {
  bool ok = false;
  std::string problem;      // what failed ("content CRC-32 1a2b3c4d, recorded 5e6f7a8b"), "" when ok
  uint64_t body_bytes = 0;  // the file's size without its trailer, when ok
};
// Whether `path` ends with a whole trailer that matches its bytes and `key`.
FileDigestCheck check_file_digest(const std::string& path, const std::string& key);

}  // namespace aim
