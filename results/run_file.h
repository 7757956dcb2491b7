#pragma once
// One HDF5 file per run, written by rank 0 only, to a temporary name that is renamed into
// place when complete: a file under the final name is always a complete result.
#include <string>

#include "results/run_record.h"

namespace aim::results {

void write_run_file(const std::string& path, const RunRecord& record);
// Throws aim::DataError naming the file when it is not a complete run file.
RunRecord read_run_file(const std::string& path);

}  // namespace aim::results
