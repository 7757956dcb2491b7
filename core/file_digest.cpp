#include "core/file_digest.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"

namespace aim {

namespace {

constexpr char kDigestMagic[8] = {'A', 'I', 'M', 'D', 'G', 'S', 'T', '1'};

void put_le(unsigned char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t get_le(const unsigned char* in, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}

// The CRC-32 of the first `bytes` bytes of `in`; false when the file holds fewer.
bool crc_of_prefix(std::ifstream& in, uint64_t bytes, uint32_t& crc) {
  std::vector<char> chunk(1 << 20);
  uLong c = crc32(0L, Z_NULL, 0);
  while (bytes > 0) {
    const auto want = std::streamsize(std::min<uint64_t>(bytes, chunk.size()));
    if (!in.read(chunk.data(), want)) return false;
    c = crc32(c, reinterpret_cast<const Bytef*>(chunk.data()), uInt(want));
    bytes -= uint64_t(want);
  }
  crc = uint32_t(c);
  return true;
}

std::string trailer_of(uint64_t body_bytes, const std::string& key, uint32_t body_crc) {
  unsigned char t[kFileDigestBytes];
  std::memcpy(t, kDigestMagic, 8);
  put_le(t + 8, body_bytes, 8);
  put_le(t + 16, fnv1a64(key), 8);
  put_le(t + 24, body_crc, 4);
  put_le(t + 28, crc32_of(std::string(reinterpret_cast<char*>(t), 28)), 4);
  return std::string(reinterpret_cast<char*>(t), kFileDigestBytes);
}

// Appends `bytes` to `path` with every call checked; 0 or the errno of the first failure.
int append_bytes(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, bytes.data(), bytes.size());
  int err = n == ssize_t(bytes.size()) ? 0 : n < 0 ? errno : ENOSPC;
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

}  // namespace

void append_file_digest(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path + ": cannot read it to record its digest: " + std::strerror(errno));
  const auto bytes = uint64_t(in.tellg());
  in.seekg(0);
  uint32_t crc = 0;
  if (!crc_of_prefix(in, bytes, crc)) throw Error(path + ": cannot read it to record its digest");
  if (int err = append_bytes(path, trailer_of(bytes, key, crc))) throw Error(write_error(path, err));
}

FileDigestCheck check_file_digest(const std::string& path, const std::string& key) {
  FileDigestCheck out;
  const auto fail = [&](const std::string& why) {
    out.problem = why;
    return out;
  };
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return fail(std::string("cannot be read: ") + std::strerror(errno));
  const auto size = uint64_t(in.tellg());
  if (size < kFileDigestBytes) return fail("too short to hold a content digest (truncated?)");
  unsigned char t[kFileDigestBytes];
  in.seekg(std::streamoff(size - kFileDigestBytes));
  if (!in.read(reinterpret_cast<char*>(t), kFileDigestBytes)) return fail("its digest cannot be read");
  if (std::memcmp(t, kDigestMagic, 8) != 0)
    return fail("no content digest at its end (truncated, or written by an aimrun before the digest)");
  if (uint32_t(get_le(t + 28, 4)) != crc32_of(std::string(reinterpret_cast<char*>(t), 28)))
    return fail("its content digest is damaged");
  const uint64_t body = get_le(t + 8, 8);
  if (body != size - kFileDigestBytes)
    return fail("holds " + std::to_string(size - kFileDigestBytes) + " bytes before its digest, recorded " +
                std::to_string(body) + " (truncated or extended)");
  if (get_le(t + 16, 8) != fnv1a64(key)) return fail("its digest was made for another cache key");
  in.seekg(0);
  uint32_t crc = 0;
  if (!crc_of_prefix(in, body, crc)) return fail("cannot be read to its end");
  if (crc != uint32_t(get_le(t + 24, 4)))
    return fail("content CRC-32 " + hex32(crc) + " differs from the recorded " + hex32(uint32_t(get_le(t + 24, 4))));
  out.ok = true;
  out.body_bytes = body;
  return out;
}

}  // namespace aim
