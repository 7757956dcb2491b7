#include "core/h5.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace aim::h5 {

namespace {

// Every failing HDF5 call, counted, and the operating system's message of the last one
// that had one ("No space left on device"): HDF5 puts errno only in the deepest entry of
// its error stack, which is gone once the next call (a destructor's close) runs.
std::atomic<uint64_t> failed_calls{0};
std::mutex system_error_mutex;
std::string last_system_error;

herr_t note_error_entry(unsigned, const H5E_error2_t* e, void* found) {
  const char* d = e->desc ? std::strstr(e->desc, "error message = '") : nullptr;
  if (!d) return 0;
  d += std::strlen("error message = '");
  const char* end = std::strchr(d, '\'');
  *static_cast<std::string*>(found) = end ? std::string(d, end) : std::string(d);
  return 0;
}

herr_t on_error(hid_t stack, void*) {
  failed_calls++;
  std::string found;
  H5Ewalk2(stack, H5E_WALK_UPWARD, note_error_entry, &found);
  if (!found.empty()) {
    std::lock_guard<std::mutex> lock(system_error_mutex);
    last_system_error = found;
  }
  return 0;  // nothing printed: we report our own message
}

struct QuietErrors {
  // The C++ API prints HDF5's error stack to stderr by default; we count and report instead.
  QuietErrors() {
    H5::Exception::dontPrint();
    H5Eset_auto2(H5E_DEFAULT, on_error, nullptr);
  }
};
const QuietErrors quiet;

uint64_t quiet_error_count() { return failed_calls.load(); }

H5::StrType utf8_string() {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}

H5::DataType half_type() {
  // IEEE 754 binary16, little endian: what numpy calls float16 and h5py maps to it.
  H5::FloatType t(H5::PredType::IEEE_F32LE);
  t.setFields(15, 10, 5, 0, 10);
  t.setEbias(15);
  t.setSize(2);
  t.setPrecision(16);
  return t;
}

H5::DataType mem_type(Dtype d) {
  switch (d) {
    case Dtype::f16: return half_type();
    case Dtype::f32: return H5::PredType::NATIVE_FLOAT;
    case Dtype::f64: return H5::PredType::NATIVE_DOUBLE;
    case Dtype::i32: return H5::PredType::NATIVE_INT32;
    case Dtype::i64: return H5::PredType::NATIVE_INT64;
    case Dtype::u8: return H5::PredType::NATIVE_UINT8;
  }
  return H5::PredType::NATIVE_FLOAT;
}

H5::DataType file_type(Dtype d) {
  switch (d) {
    case Dtype::f16: return half_type();
    case Dtype::f32: return H5::PredType::IEEE_F32LE;
    case Dtype::f64: return H5::PredType::IEEE_F64LE;
    case Dtype::i32: return H5::PredType::STD_I32LE;
    case Dtype::i64: return H5::PredType::STD_I64LE;
    case Dtype::u8: return H5::PredType::STD_U8LE;
  }
  return H5::PredType::IEEE_F32LE;
}

size_t dtype_size(Dtype d) {
  switch (d) {
    case Dtype::f16: return 2;
    case Dtype::f32: return 4;
    case Dtype::f64: return 8;
    case Dtype::i32: return 4;
    case Dtype::i64: return 8;
    case Dtype::u8: return 1;
  }
  return 4;
}

template <class T> Dtype dtype_of();
template <> Dtype dtype_of<float>() { return Dtype::f32; }
template <> Dtype dtype_of<double>() { return Dtype::f64; }
template <> Dtype dtype_of<int32_t>() { return Dtype::i32; }
template <> Dtype dtype_of<int64_t>() { return Dtype::i64; }
template <> Dtype dtype_of<uint8_t>() { return Dtype::u8; }

std::string file_name_of(const H5::H5Object& obj) {
  try {
    return obj.getFileName();
  } catch (...) {
    return "?";
  }
}

}  // namespace

std::string describe(const H5::H5Object& obj, const std::string& name) {
  std::string path;
  try {
    path = obj.getObjName();
  } catch (...) {
    path = "?";
  }
  if (!name.empty()) path = (path == "/" ? "/" : path + "/") + name;
  return file_name_of(obj) + ":" + path;
}

H5::FileAccPropList file_access() {
  H5::FileAccPropList fapl;
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
  // Our files are private until renamed into place, and readers only read: HDF5's own
  // locks (flock, which NFS without lockd and Lustre without -o flock refuse) buy nothing.
  // A user's HDF5_USE_FILE_LOCKING wins: the library reads it and overrides this setting.
  if (!std::getenv("HDF5_USE_FILE_LOCKING") && H5Pset_file_locking(fapl.getId(), false, true) < 0)
    throw Error("HDF5: cannot turn file locking off");
#endif
  return fapl;
}

H5::H5File create_file(const std::string& path) {
  try {
    return H5::H5File(path, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, file_access());
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot create HDF5 file: " + detail(e));
  }
}

H5::H5File open_file(const std::string& path, bool writable) {
  try {
    if (!H5::H5File::isHdf5(path.c_str())) throw Error(path + ": not an HDF5 file");
    return H5::H5File(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5::FileCreatPropList::DEFAULT, file_access());
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot open HDF5 file (truncated or corrupt?): " + detail(e));
  }
}

H5::H5File create_in_memory(const std::string& name) {
  try {
    H5::FileAccPropList fapl;
    fapl.setCore(1 << 20, false);  // grows by 1 MiB; nothing goes to disk
    return H5::H5File(name, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
  } catch (const H5::Exception& e) {
    throw Error(name + ": cannot create an HDF5 file in memory: " + detail(e));
  }
}

namespace {

std::vector<char> close_to_image(H5::H5File& file, const std::string& path) {
  try {
    ssize_t open_objects = H5Fget_obj_count(file.getId(), H5F_OBJ_ALL | H5F_OBJ_LOCAL);
    if (open_objects != 1)  // the file itself: anything else would be closed (and fail) unseen
      throw Error(path + ": " + std::to_string(open_objects - 1) + " HDF5 objects still open at close");
    file.flush(H5F_SCOPE_GLOBAL);
    ssize_t size = H5Fget_file_image(file.getId(), nullptr, 0);
    if (size <= 0) throw Error(path + ": cannot get the HDF5 file image");
    std::vector<char> image(static_cast<size_t>(size));
    if (H5Fget_file_image(file.getId(), image.data(), size_t(size)) != size)
      throw Error(path + ": cannot get the HDF5 file image");
    file.close();
    return image;
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot flush and close: " + detail(e));
  }
}

}  // namespace

void save_file(H5::H5File& file, const std::string& path) {
  const auto image = close_to_image(file, path);
  if (int err = write_new_file(path, image.data(), image.size())) throw Error(path + ": cannot write: " + std::strerror(err));
}

void write_whole_file(const std::string& path, const std::function<void(H5::H5File&)>& fill,
                      const std::function<void(const std::string& tmp)>& verify) {
  const std::string tmp = temp_path_for(path);
  clear_system_error();
  const uint64_t failed_before = error_count();
  try {
    {
      auto file = create_in_memory(tmp);
      fill(file);
      save_file(file, tmp);
    }
    if (auto failed = error_count() - failed_before)
      throw Error(std::to_string(failed) + " HDF5 calls failed while writing " + tmp);
    if (verify) verify(tmp);
    commit_file(tmp, path);
  } catch (const H5::Exception& e) {
    std::remove(tmp.c_str());
    throw Error(write_error(path, detail(e)));
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw Error(write_error(path, e.what()));
  }
}

uint64_t error_count() { return quiet_error_count(); }

std::string system_error() {
  std::lock_guard<std::mutex> lock(system_error_mutex);
  return last_system_error;
}

void clear_system_error() {
  std::lock_guard<std::mutex> lock(system_error_mutex);
  last_system_error.clear();
}

std::string write_error(const std::string& path, const std::string& what) {
  if (what.find(std::strerror(ENOSPC)) != std::string::npos || system_error() == std::strerror(ENOSPC))
    return "no space left on device: " + path + " (" + what + ")";
  return path + ": cannot write: " + what;
}

std::string detail(const H5::Exception& e) {
  std::string msg = e.getDetailMsg(), sys = system_error();
  return sys.empty() || msg.find(sys) != std::string::npos ? msg : msg + " (" + sys + ")";
}

H5::Group ensure_group(H5::Group& parent, const std::string& path) {
  // Walk by growing path strings ("a", "a/b", ...): H5::Group objects are not reassignable.
  std::string sub;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    sub += (sub.empty() ? "" : "/") + part;
    if (!parent.nameExists(sub)) parent.createGroup(sub);
  }
  return parent.openGroup(sub);
}

bool exists(const H5::Group& parent, const std::string& path) {
  std::string sub;
  auto parts = split(path, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    sub += (sub.empty() ? "" : "/") + parts[i];
    if (!parent.nameExists(sub)) return false;
    if (i + 1 < parts.size() && parent.childObjType(sub) != H5O_TYPE_GROUP) return false;
  }
  return true;
}

void set_attr(H5::H5Object& obj, const std::string& name, const std::string& value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  auto type = utf8_string();
  auto attr = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  attr.write(type, value);
  attr.close();
}

void set_attr(H5::H5Object& obj, const std::string& name, const char* value) {
  set_attr(obj, name, std::string(value));
}

void set_attr(H5::H5Object& obj, const std::string& name, int64_t value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  auto attr = obj.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
  attr.write(H5::PredType::NATIVE_INT64, &value);
  attr.close();
}

void set_attr(H5::H5Object& obj, const std::string& name, double value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  auto attr = obj.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(H5S_SCALAR));
  attr.write(H5::PredType::NATIVE_DOUBLE, &value);
  attr.close();
}

void set_attr(H5::H5Object& obj, const std::string& name, const std::vector<double>& value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  hsize_t n = value.size();
  auto attr = obj.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(1, &n));
  attr.write(H5::PredType::NATIVE_DOUBLE, value.data());
  attr.close();
}

bool has_attr(const H5::H5Object& obj, const std::string& name) { return obj.attrExists(name); }

namespace {
// An attribute holding one value (a damaged file may declare more: reading them into one
// value's memory would write past it).
H5::Attribute open_attr(const H5::H5Object& obj, const std::string& name) {
  if (!obj.attrExists(name)) throw Error(describe(obj) + ": attribute '" + name + "' is missing");
  auto attr = obj.openAttribute(name);
  auto space = attr.getSpace();
  if (space.getSimpleExtentNpoints() != 1)
    throw DataError(describe(obj) + ": attribute '" + name + "' should hold one value, not " +
                    std::to_string(space.getSimpleExtentNpoints()));
  return attr;
}
}  // namespace

std::string attr_string(const H5::H5Object& obj, const std::string& name) {
  auto attr = open_attr(obj, name);
  if (attr.getTypeClass() != H5T_STRING)
    throw Error(describe(obj) + ": attribute '" + name + "' is not a string");
  std::string out;
  attr.read(attr.getStrType(), out);
  return out;
}

int64_t attr_int(const H5::H5Object& obj, const std::string& name) {
  auto attr = open_attr(obj, name);
  int64_t v = 0;
  attr.read(H5::PredType::NATIVE_INT64, &v);
  return v;
}

double attr_double(const H5::H5Object& obj, const std::string& name) {
  auto attr = open_attr(obj, name);
  double v = 0;
  attr.read(H5::PredType::NATIVE_DOUBLE, &v);
  return v;
}

void write_raw(H5::Group& g, const std::string& name, Dtype stored, const void* data,
               Dtype in_memory, const std::vector<hsize_t>& dims, bool compress) {
  try {
    if (g.nameExists(name)) g.unlink(name);
    H5::DataSpace space(int(dims.size()), dims.data());
    H5::DSetCreatPropList props;
    hsize_t count = std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<>());
    size_t bytes = count * dtype_size(stored);
    if (!dims.empty() && count > 0 && bytes > 4096) {
      // Chunk along the first axis so that one chunk holds about 256 KiB.
      std::vector<hsize_t> chunk = dims;
      hsize_t row_bytes = bytes / dims[0];
      chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (256 * 1024) / std::max<hsize_t>(1, row_bytes)));
      props.setChunk(int(chunk.size()), chunk.data());
      if (compress) {
        props.setShuffle();
        props.setDeflate(4);
      }
    }
    auto ds = g.createDataSet(name, file_type(stored), space, props);
    if (count > 0) ds.write(data, mem_type(in_memory));
    ds.close();  // a failed close (the chunk cache flushed to a full disk) throws here
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot write dataset: " + detail(e));
  }
}

template <class T>
void write(H5::Group& g, const std::string& name, const std::vector<T>& data,
           std::vector<hsize_t> dims) {
  if (dims.empty()) dims = {hsize_t(data.size())};
  write_raw(g, name, dtype_of<T>(), data.data(), dtype_of<T>(), dims);
}

template void write<float>(H5::Group&, const std::string&, const std::vector<float>&, std::vector<hsize_t>);
template void write<double>(H5::Group&, const std::string&, const std::vector<double>&, std::vector<hsize_t>);
template void write<int32_t>(H5::Group&, const std::string&, const std::vector<int32_t>&, std::vector<hsize_t>);
template void write<int64_t>(H5::Group&, const std::string&, const std::vector<int64_t>&, std::vector<hsize_t>);
template void write<uint8_t>(H5::Group&, const std::string&, const std::vector<uint8_t>&, std::vector<hsize_t>);

void write_strings(H5::Group& g, const std::string& name, const std::vector<std::string>& data) {
  try {
    if (g.nameExists(name)) g.unlink(name);
    hsize_t n = data.size();
    auto type = utf8_string();
    auto ds = g.createDataSet(name, type, H5::DataSpace(1, &n));
    std::vector<const char*> ptrs;
    for (const auto& s : data) ptrs.push_back(s.c_str());
    if (n) ds.write(ptrs.data(), type);
    ds.close();
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot write strings: " + detail(e));
  }
}

namespace {

// The shape of a dataset, refused when the file could not hold what it declares: raw data
// takes at least 1/1100 of its size in the file (deflate's best ratio is about 1:1030), and
// no more than the file itself.
std::vector<hsize_t> checked_shape(const H5::DataSet& ds, const std::string& where, size_t element_size) {
  auto space = ds.getSpace();
  int rank = space.getSimpleExtentNdims();
  if (rank < 0 || rank > 8) throw DataError(where + ": dataset of rank " + std::to_string(rank));
  std::vector<hsize_t> dims(size_t(rank), 0);
  if (rank > 0) space.getSimpleExtentDims(dims.data());
  long double declared = element_size;
  for (auto d : dims) declared *= (long double)d;
  hsize_t file_size = 0;
  hid_t fid = H5Iget_file_id(ds.getId());
  if (fid >= 0) {
    H5Fget_filesize(fid, &file_size);
    H5Fclose(fid);
  }
  hsize_t stored = ds.getStorageSize();
  if (declared > 4096.0L && (declared > 1100.0L * (long double)stored || stored > file_size))
    throw DataError(where + ": declares " + std::to_string((unsigned long long)(declared / element_size)) +
                    " elements, more than its " + std::to_string(stored) + " stored bytes (file of " +
                    std::to_string(file_size) + " bytes) can hold: damaged file");
  return dims;
}

}  // namespace

template <class T>
std::vector<T> read(const H5::Group& g, const std::string& name, std::vector<hsize_t>* dims) {
  try {
    if (!exists(g, name)) throw Error(describe(g, name) + ": dataset is missing");
    auto ds = g.openDataSet(name);
    auto shape = checked_shape(ds, describe(g, name), sizeof(T));
    hsize_t count = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
    std::vector<T> out(count);
    if (count) ds.read(out.data(), mem_type(dtype_of<T>()));
    if (dims) *dims = shape;
    return out;
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot read dataset: " + detail(e));
  }
}

template std::vector<float> read<float>(const H5::Group&, const std::string&, std::vector<hsize_t>*);
template std::vector<double> read<double>(const H5::Group&, const std::string&, std::vector<hsize_t>*);
template std::vector<int32_t> read<int32_t>(const H5::Group&, const std::string&, std::vector<hsize_t>*);
template std::vector<int64_t> read<int64_t>(const H5::Group&, const std::string&, std::vector<hsize_t>*);
template std::vector<uint8_t> read<uint8_t>(const H5::Group&, const std::string&, std::vector<hsize_t>*);

std::vector<hsize_t> shape(const H5::Group& g, const std::string& name) {
  try {
    if (!exists(g, name)) throw Error(describe(g, name) + ": dataset is missing");
    return checked_shape(g.openDataSet(name), describe(g, name), 1);
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot read shape: " + detail(e));
  }
}

void read_raw(const H5::Group& g, const std::string& name, Dtype in_memory, void* dst,
              const std::vector<hsize_t>& dims) {
  auto actual = shape(g, name);
  if (actual != dims) {
    std::string a, b;
    for (auto d : actual) a += std::to_string(d) + " ";
    for (auto d : dims) b += std::to_string(d) + " ";
    throw Error(describe(g, name) + ": shape is [ " + a + "], expected [ " + b + "]");
  }
  try {
    g.openDataSet(name).read(dst, mem_type(in_memory));
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot read dataset: " + detail(e));
  }
}

std::vector<std::string> read_strings(const H5::Group& g, const std::string& name) {
  try {
    if (!exists(g, name)) throw Error(describe(g, name) + ": dataset is missing");
    auto ds = g.openDataSet(name);
    auto dims = checked_shape(ds, describe(g, name), sizeof(char*));
    if (dims.size() != 1) throw DataError(describe(g, name) + ": expected a list of strings");
    hsize_t n = dims[0];
    auto type = ds.getStrType();
    std::vector<std::string> out;
    if (type.isVariableStr()) {
      std::vector<char*> ptrs(n, nullptr);
      if (n) ds.read(ptrs.data(), type);
      for (auto* p : ptrs) out.emplace_back(p ? p : "");
      if (n) H5::DataSet::vlenReclaim(ptrs.data(), type, ds.getSpace());
    } else {
      size_t len = type.getSize();
      std::vector<char> buf(n * len);
      if (n) ds.read(buf.data(), type);
      for (hsize_t i = 0; i < n; ++i) {
        std::string s(buf.data() + i * len, len);
        out.push_back(s.substr(0, s.find('\0')));
      }
    }
    return out;
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot read strings: " + detail(e));
  }
}

}  // namespace aim::h5
