#pragma once
// One HDF5 file per run, written by rank 0 only, to a temporary name that is renamed into
// place when complete: a file under the final name is always a complete result.
#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <variant>

#include "results/run_record.h"

namespace aim::results {

// A config value as result.h5 stores it in /config (pandas gets numbers, not strings): an
// integer where the whole text is one, else a double where it is one, else the text.
using ConfigValue = std::variant<int64_t, double, std::string>;
ConfigValue typed_config_value(const std::string& text);

void write_run_file(const std::string& path, const RunRecord& record);
// Throws aim::DataError naming the file when it is not a complete run file.
RunRecord read_run_file(const std::string& path);
// The same from a group holding a run (the root of a result file, or /runs/<id> of a
// collection); `where` names it in messages.
RunRecord read_run_group(const H5::Group& root, const std::string& where);

}  // namespace aim::results
