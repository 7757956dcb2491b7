#include "core/h5_content.h"

#include <zlib.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "core/error.h"
#include "core/h5.h"
#include "core/hash.h"

namespace aim::h5 {

namespace {

// The canonical stream (docs/hdf5-schema.md, "The content check"): per object, its attributes
// by name, then its children by name; each record is a tag, the object's name, a NUL and,
// for attributes and datasets, the value: kind, element size, shape, elements.
class Stream {
 public:
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const Bytef*>(data);
    while (n > 0) {
      const uInt chunk = uInt(std::min<size_t>(n, 1u << 30));
      crc_ = ::crc32(crc_, p, chunk);
      p += chunk;
      n -= chunk;
    }
  }
  void text(const std::string& s) { bytes(s.data(), s.size()); }
  void u32(uint32_t v) {
    unsigned char b[4];
    for (int i = 0; i < 4; ++i) b[i] = (unsigned char)(v >> (8 * i));
    bytes(b, 4);
  }
  void u64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = (unsigned char)(v >> (8 * i));
    bytes(b, 8);
  }
  void record(char tag, const std::string& name) {
    bytes(&tag, 1);
    text(name);
    bytes("", 1);
  }
  uint32_t crc() const { return uint32_t(crc_); }

 private:
  uLong crc_ = ::crc32(0L, Z_NULL, 0);
};

void check(herr_t status, const std::string& what) {
  if (status < 0) throw DataError(what);
}

// Closes an HDF5 identifier when it goes out of scope.
struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Id() {
    if (id >= 0) close(id);
  }
};

std::vector<hsize_t> extent(hid_t space, const std::string& where) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > 32) throw DataError(where + ": a value of rank " + std::to_string(rank));
  std::vector<hsize_t> dims(size_t(rank), 0);
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

uint64_t file_size_of(hid_t object) {
  hsize_t size = 0;
  const hid_t file = H5Iget_file_id(object);
  if (file >= 0) {
    H5Fget_filesize(file, &size);
    H5Fclose(file);
  }
  return size;
}

// Reads an attribute's or a dataset's elements with `mem` (the file's own type: no conversion).
using Reader = std::function<herr_t(hid_t mem, void* buf)>;

// How the file lays a number or a string out: a damaged datatype message (another exponent
// bias, byte order, bit offset) leaves the stored bytes alone but changes every value read.
void layout(Stream& s, hid_t type, char kind) {
  if (kind == 'f' || kind == 'i' || kind == 'u') {
    H5T_pad_t lsb = H5T_PAD_ERROR, msb = H5T_PAD_ERROR;
    H5Tget_pad(type, &lsb, &msb);
    for (auto v : {int64_t(H5Tget_order(type)), int64_t(H5Tget_precision(type)), int64_t(H5Tget_offset(type)),
                   int64_t(lsb), int64_t(msb)})
      s.u32(uint32_t(v));
  }
  if (kind == 'f') {
    size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
    H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize);
    for (auto v : {int64_t(spos), int64_t(epos), int64_t(esize), int64_t(mpos), int64_t(msize),
                   int64_t(H5Tget_ebias(type)), int64_t(H5Tget_norm(type)), int64_t(H5Tget_inpad(type))})
      s.u32(uint32_t(v));
  }
  if (kind == 's') {
    s.u32(uint32_t(H5Tget_cset(type)));
    s.u32(uint32_t(H5Tis_variable_str(type)));
  }
}

void value(Stream& s, hid_t type, hid_t space, uint64_t stored_bytes, const Reader& read, const std::string& where) {
  const auto dims = extent(space, where);
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  char kind = 'o';
  if (cls == H5T_FLOAT)
    kind = 'f';
  else if (cls == H5T_INTEGER)
    kind = H5Tget_sign(type) == H5T_SGN_NONE ? 'u' : 'i';
  else if (cls == H5T_STRING)
    kind = 's';
  s.bytes(&kind, 1);
  s.u32(kind == 'f' || kind == 'i' || kind == 'u' ? uint32_t(size) : 0);
  layout(s, type, kind);
  s.u32(uint32_t(dims.size()));
  for (auto d : dims) s.u64(d);
  const hssize_t points = H5Sget_select_npoints(space);
  if (kind == 'o' || points <= 0) return;
  // A damaged file may declare far more than it could hold (deflate's best ratio is about
  // 1:1030): refused before anything is allocated.
  const long double declared = (long double)points * (long double)size;
  if (declared > 4096.0L && declared > 1100.0L * (long double)stored_bytes)
    throw DataError(where + ": declares " + std::to_string(points) + " elements, more than its " +
                    std::to_string(stored_bytes) + " stored bytes can hold: damaged file");
  if (kind != 's') {
    std::vector<char> buf(size_t(points) * size);
    check(read(type, buf.data()), where + ": cannot read its values");
    s.bytes(buf.data(), buf.size());
    return;
  }
  std::vector<std::string> elements;
  if (H5Tis_variable_str(type) > 0) {
    Id mem{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(mem.id, H5T_VARIABLE);
    H5Tset_cset(mem.id, H5Tget_cset(type));
    std::vector<char*> ptrs(size_t(points), nullptr);
    check(read(mem.id, ptrs.data()), where + ": cannot read its strings");
    for (auto* p : ptrs) elements.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.id, space, H5P_DEFAULT, ptrs.data());
  } else {
    std::vector<char> buf(size_t(points) * size);
    check(read(type, buf.data()), where + ": cannot read its strings");
    for (hssize_t i = 0; i < points; ++i) {
      std::string e(buf.data() + size_t(i) * size, size);
      elements.push_back(e.substr(0, e.find('\0')));
    }
  }
  for (const auto& e : elements) {
    s.u64(e.size());
    s.text(e);
  }
}

// The `count` names `name_at(i, buffer, size)` gives (H5Aget_name_by_idx, H5Lget_name_by_idx:
// the name's length, negative on failure), sorted by bytes.
template <class NameAt>
std::vector<std::string> sorted_names(hsize_t count, NameAt name_at, const char* what) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < count; ++i) {
    const ssize_t len = name_at(i, nullptr, 0);
    if (len < 0) throw DataError(std::string("cannot read ") + what);
    std::string name(size_t(len) + 1, '\0');
    name_at(i, name.data(), name.size());
    name.resize(size_t(len));
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> sorted_attributes(hid_t obj) {
  H5O_info_t info;
  check(H5Oget_info(obj, &info), "cannot list attributes");
  return sorted_names(
      info.num_attrs,
      [&](hsize_t i, char* buf, size_t size) {
        return H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
      },
      "an attribute's name");
}

std::vector<std::string> sorted_children(hid_t group) {
  H5G_info_t info;
  check(H5Gget_info(group, &info), "cannot list a group");
  return sorted_names(
      info.nlinks,
      [&](hsize_t i, char* buf, size_t size) {
        return H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
      },
      "a link's name");
}

void attributes(Stream& s, hid_t obj, const std::string& path, bool root, const std::string& where) {
  const uint64_t file_size = file_size_of(obj);
  for (const auto& name : sorted_attributes(obj)) {
    if (root && name == kContentDigestAttr) continue;
    const std::string at = where + path + "@" + name;
    Id attr{H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose};
    if (attr.id < 0) throw DataError(at + ": cannot open the attribute");
    Id type{H5Aget_type(attr.id), H5Tclose}, space{H5Aget_space(attr.id), H5Sclose};
    s.record('A', path + "@" + name);
    value(
        s, type.id, space.id, file_size, [&](hid_t mem, void* buf) { return H5Aread(attr.id, mem, buf); }, at);
  }
}

void walk(Stream& s, hid_t group, const std::string& path, bool root, const std::string& where, int depth) {
  if (depth > 32) throw DataError(where + path + ": groups nested more than 32 deep");
  attributes(s, group, path, root, where);
  for (const auto& name : sorted_children(group)) {
    const std::string child = path + "/" + name, at = where + child;
    Id obj{H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose};
    if (obj.id < 0) throw DataError(at + ": cannot open");
    const H5I_type_t type = H5Iget_type(obj.id);
    if (type == H5I_GROUP) {
      s.record('G', child);
      walk(s, obj.id, child, false, where, depth + 1);
    } else if (type == H5I_DATASET) {
      s.record('D', child);
      Id dtype{H5Dget_type(obj.id), H5Tclose}, space{H5Dget_space(obj.id), H5Sclose};
      const uint64_t stored = std::min<uint64_t>(H5Dget_storage_size(obj.id), file_size_of(obj.id));
      value(
          s, dtype.id, space.id, stored,
          [&](hid_t mem, void* buf) { return H5Dread(obj.id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }, at);
      attributes(s, obj.id, child, false, where);
    } else {
      s.record('O', child);  // a committed datatype: named, not read
    }
  }
}

std::string where_of(const H5::Group& root) {
  std::string d = describe(root);
  return d.substr(0, d.rfind(':')) + ":";
}

}  // namespace

uint32_t content_crc32(const H5::Group& root) {
  Stream s;
  walk(s, root.getId(), "", true, where_of(root), 0);
  return s.crc();
}

void record_content_crc32(H5::Group& root) { set_attr(root, kContentDigestAttr, hex32(content_crc32(root))); }

std::string check_content_crc32(const H5::Group& root, bool* recorded) {
  const bool has = has_attr(root, kContentDigestAttr);
  if (recorded) *recorded = has;
  if (!has) return "";
  const std::string want = attr_string(root, kContentDigestAttr), got = hex32(content_crc32(root));
  if (want == got) return "";
  return std::string(kContentDigestAttr) + " is " + want + ", the content's CRC-32 is " + got;
}

}  // namespace aim::h5
