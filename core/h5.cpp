#include "core/h5.h"

#include <numeric>

#include "core/error.h"
#include "core/strings.h"

namespace aim::h5 {

namespace {

struct QuietErrors {
  // The C++ API prints HDF5's error stack to stderr by default; we report our own message.
  QuietErrors() { H5::Exception::dontPrint(); }
};
const QuietErrors quiet;

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

H5::H5File create_file(const std::string& path) {
  try {
    return H5::H5File(path, H5F_ACC_TRUNC);
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot create HDF5 file: " + e.getDetailMsg());
  }
}

H5::H5File open_file(const std::string& path, bool writable) {
  try {
    if (!H5::H5File::isHdf5(path.c_str())) throw Error(path + ": not an HDF5 file");
    return H5::H5File(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot open HDF5 file (truncated or corrupt?): " + e.getDetailMsg());
  }
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
}

void set_attr(H5::H5Object& obj, const std::string& name, const char* value) {
  set_attr(obj, name, std::string(value));
}

void set_attr(H5::H5Object& obj, const std::string& name, int64_t value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  auto attr = obj.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
  attr.write(H5::PredType::NATIVE_INT64, &value);
}

void set_attr(H5::H5Object& obj, const std::string& name, double value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  auto attr = obj.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(H5S_SCALAR));
  attr.write(H5::PredType::NATIVE_DOUBLE, &value);
}

void set_attr(H5::H5Object& obj, const std::string& name, const std::vector<double>& value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  hsize_t n = value.size();
  auto attr = obj.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(1, &n));
  attr.write(H5::PredType::NATIVE_DOUBLE, value.data());
}

bool has_attr(const H5::H5Object& obj, const std::string& name) { return obj.attrExists(name); }

namespace {
H5::Attribute open_attr(const H5::H5Object& obj, const std::string& name) {
  if (!obj.attrExists(name)) throw Error(describe(obj) + ": attribute '" + name + "' is missing");
  return obj.openAttribute(name);
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
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot write dataset: " + e.getDetailMsg());
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
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot write strings: " + e.getDetailMsg());
  }
}

template <class T>
std::vector<T> read(const H5::Group& g, const std::string& name, std::vector<hsize_t>* dims) {
  try {
    if (!exists(g, name)) throw Error(describe(g, name) + ": dataset is missing");
    auto ds = g.openDataSet(name);
    auto space = ds.getSpace();
    int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> shape(rank);
    space.getSimpleExtentDims(shape.data());
    hsize_t count = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
    std::vector<T> out(count);
    if (count) ds.read(out.data(), mem_type(dtype_of<T>()));
    if (dims) *dims = shape;
    return out;
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot read dataset: " + e.getDetailMsg());
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
    auto space = g.openDataSet(name).getSpace();
    std::vector<hsize_t> dims(space.getSimpleExtentNdims());
    space.getSimpleExtentDims(dims.data());
    return dims;
  } catch (const H5::Exception& e) {
    throw Error(describe(g, name) + ": cannot read shape: " + e.getDetailMsg());
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
    throw Error(describe(g, name) + ": cannot read dataset: " + e.getDetailMsg());
  }
}

std::vector<std::string> read_strings(const H5::Group& g, const std::string& name) {
  try {
    if (!exists(g, name)) throw Error(describe(g, name) + ": dataset is missing");
    auto ds = g.openDataSet(name);
    hsize_t n = 0;
    ds.getSpace().getSimpleExtentDims(&n);
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
    throw Error(describe(g, name) + ": cannot read strings: " + e.getDetailMsg());
  }
}

}  // namespace aim::h5
