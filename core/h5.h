#pragma once
// Thin helpers over the HDF5 C++ API: typed attributes and datasets with explicit chunking
// and gzip, and error messages that name the file and the object. The layout written with
// them is documented in docs/hdf5-schema.md.
#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace aim::h5 {

// Creates (truncating) or opens a file; errors become aim::Error naming the path.
H5::H5File create_file(const std::string& path);
H5::H5File open_file(const std::string& path, bool writable = false);

// Creates the nested groups of "a/b/c" as needed and returns the last.
H5::Group ensure_group(H5::Group& parent, const std::string& path);
bool exists(const H5::Group& parent, const std::string& path);

void set_attr(H5::H5Object& obj, const std::string& name, const std::string& value);
void set_attr(H5::H5Object& obj, const std::string& name, const char* value);
void set_attr(H5::H5Object& obj, const std::string& name, int64_t value);
void set_attr(H5::H5Object& obj, const std::string& name, double value);
void set_attr(H5::H5Object& obj, const std::string& name, const std::vector<double>& value);

bool has_attr(const H5::H5Object& obj, const std::string& name);
std::string attr_string(const H5::H5Object& obj, const std::string& name);
int64_t attr_int(const H5::H5Object& obj, const std::string& name);
double attr_double(const H5::H5Object& obj, const std::string& name);

// Element types a dataset can hold. float16 is IEEE half (h5py reads it as numpy float16).
enum class Dtype { f16, f32, f64, i32, i64, u8 };

// Writes an N-d dataset from contiguous row-major data. Datasets larger than a few KiB are
// chunked along the first axis (about 256 KiB per chunk) and gzip-compressed.
void write_raw(H5::Group& g, const std::string& name, Dtype stored, const void* data,
               Dtype in_memory, const std::vector<hsize_t>& dims, bool compress = true);

template <class T>
void write(H5::Group& g, const std::string& name, const std::vector<T>& data,
           std::vector<hsize_t> dims = {});
void write_strings(H5::Group& g, const std::string& name, const std::vector<std::string>& data);

// Reads a dataset converted to T; `dims` receives its shape when given.
template <class T>
std::vector<T> read(const H5::Group& g, const std::string& name,
                    std::vector<hsize_t>* dims = nullptr);
std::vector<std::string> read_strings(const H5::Group& g, const std::string& name);
// Shape of a dataset; throws naming the object when it is missing.
std::vector<hsize_t> shape(const H5::Group& g, const std::string& name);
// Reads a whole dataset into caller memory of `dims` (checked against the file).
void read_raw(const H5::Group& g, const std::string& name, Dtype in_memory, void* dst,
              const std::vector<hsize_t>& dims);

// A name for messages: "file.h5:/eval/test/accuracy".
std::string describe(const H5::H5Object& obj, const std::string& name = "");

}  // namespace aim::h5
