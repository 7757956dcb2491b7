#pragma once
// A result file's own check (issue 36): zlib's CRC-32 over its whole logical content, every
// attribute and every dataset's values in a canonical order, recorded as the root attribute
// `content_crc32` (8 hex digits) written last. It does not depend on HDF5's layout (chunks,
// compression, free space), so h5py reproduces it (scripts/aimresults.py, content_crc32());
// the encoding is specified in docs/hdf5-schema.md, "The content check".
#include <H5Cpp.h>

#include <cstdint>
#include <string>

namespace aim::h5 {

constexpr const char* kContentDigestAttr = "content_crc32";

// The CRC-32 of everything under `root` (a file's root or a collection's /runs/<id>), except
// `root`'s own content_crc32 attribute. Throws aim::DataError naming the object when a dataset
// declares more than the file could hold, or when something cannot be read.
uint32_t content_crc32(const H5::Group& root);

// Records content_crc32 on `root` (written last: anything written after it is not covered).
void record_content_crc32(H5::Group& root);

// "" when `root` holds a content_crc32 that matches its content; otherwise what failed
// ("content_crc32 is 1a2b3c4d, the content's CRC-32 is 5e6f7a8b"). `recorded` tells whether
// the attribute was there at all (files of an aimrun before it have none: "" and false).
std::string check_content_crc32(const H5::Group& root, bool* recorded = nullptr);

}  // namespace aim::h5
