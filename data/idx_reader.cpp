#include "data/idx_reader.h"

#include <zlib.h>

#include <numeric>

#include "core/error.h"

namespace aim::data {

IdxArray read_idx(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) throw DataError(path + ": cannot open IDX file");
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw DataError(path + ": corrupt or truncated gzip data (" + msg + ")");
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw DataError(path + ": not an IDX file (bad magic number)");
  if (bytes[2] != 0x08) throw DataError(path + ": IDX element type is not unsigned byte");
  int ndim = bytes[3];
  size_t header = 4 + 4 * size_t(ndim);
  if (bytes.size() < header) throw DataError(path + ": truncated IDX header");
  IdxArray out;
  for (int i = 0; i < ndim; ++i) {
    const uint8_t* p = &bytes[4 + 4 * i];
    out.dims.push_back((int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | p[3]);
  }
  int64_t count = std::accumulate(out.dims.begin(), out.dims.end(), int64_t{1}, std::multiplies<>());
  if (int64_t(bytes.size() - header) != count)
    throw DataError(path + ": expected " + std::to_string(count) + " values, file holds " +
                    std::to_string(bytes.size() - header));
  out.data.assign(bytes.begin() + header, bytes.end());
  return out;
}

}  // namespace aim::data
