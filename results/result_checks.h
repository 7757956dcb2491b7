#pragma once
// The checks a result file (or a collection's /runs/<id>) passes before any number of it is
// used (issue 36, docs/hdf5-schema.md "The content check"): its content_crc32 against its
// content, and each split's derived scalars against the parts the file holds (accuracy vs
// correct/n, correct vs the per-sample labels and predictions, per-group counts vs the samples'
// groups, worst-group accuracy vs the groups). A failure is aim::DataError naming the file, what
// failed and the command that writes the file anew. The derived scalars are checked in files
// without a content_crc32 only: in the others the content check covers them (and test
// records with made-up accuracies stay readable).
#include <H5Cpp.h>

#include <string>

#include "results/run_record.h"

namespace aim::results {

// Throws DataError when `root` records a content_crc32 that its content does not match; true
// when it matched. A file without one (written by an aimrun before it): false, with one
// warning per process; its reader checks its derived scalars instead.
bool check_result_content(const H5::Group& root, const std::string& path);

// Throws DataError when a split's derived scalars disagree with their parts (`path`: the file).
void check_derived_scalars(const SplitResult& s, const std::string& path);

// How a damaged file is written anew: for <dir>/result.h5 the `aimrun train` of its folder,
// for a collection's run its run folder's train and `aimrun collect` again.
std::string repair_hint(const std::string& path);

}  // namespace aim::results
