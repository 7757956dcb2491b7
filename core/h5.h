#pragma once
// Thin helpers over the HDF5 C++ API: typed attributes and datasets with explicit chunking
// and gzip, and error messages that name the file and the object. The layout written with
// them is documented in docs/hdf5-schema.md.
#include <H5Cpp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace aim::h5 {

// Creates (truncating) or opens a file; errors become aim::Error naming the path. Both use
// file_access(): HDF5's file locking is off unless the user sets HDF5_USE_FILE_LOCKING
// (then the library's own handling of it wins). docs/hdf5-schema.md, "File locking".
H5::H5File create_file(const std::string& path);
H5::H5File open_file(const std::string& path, bool writable = false);
H5::FileAccPropList file_access();

// Files that are written whole (result files, collections) are built in memory (HDF5's
// core driver: no HDF5 call can fail on the disk, and a failed write leaves nothing open in
// the library) and then saved: save_file closes the file, refusing while other objects of
// it are still open (their close would happen later, in a destructor, unseen), and writes
// its bytes to `path` with every write, the fsync and the close checked; on error `path` is
// removed and aim::Error says why ("... No space left on device").
H5::H5File create_in_memory(const std::string& name);
void save_file(H5::H5File& file, const std::string& path);
// The one way a whole HDF5 file is written: `fill` builds it in memory, it is saved to a
// temporary name beside `path`, `verify` (when given) reads the temporary back, and it is
// renamed over `path`. Any HDF5 call that failed meanwhile (seen or not), any write, fsync
// or close error, and any exception of `fill` or `verify` becomes aim::Error with
// write_error()'s message; nothing is left at the temporary name and `path` is untouched.
void write_whole_file(const std::string& path, const std::function<void(H5::H5File&)>& fill,
                      const std::function<void(const std::string& tmp)>& verify = {});

// Failing HDF5 calls so far in this process, whether or not anyone saw the exception (a
// destructor's close): a writer compares it before and after. system_error(): the OS's
// message of the last failure that had one ("No space left on device").
uint64_t error_count();
std::string system_error();
void clear_system_error();
// The message of a failed write of `path`: "no space left on device: <path> (...)" when
// the disk was full, else "<path>: cannot write: <what>".
std::string write_error(const std::string& path, const std::string& what);
// An HDF5 exception's message with the OS's reason added when there was one.
std::string detail(const H5::Exception& e);

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
