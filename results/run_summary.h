#pragma once
// <run>/summary.json: every scalar of a run's result.h5 that the report, the comparisons,
// --where/--group-by, `sweep status` and the Python reader need (no per-sample arrays, maps
// or curves, except the test split's least confident samples and each masked stage's area
// targets), so that reading a sweep costs a small file per run instead of a whole HDF5 file
// in a child process. Written by rank 0 right after result.h5, atomically; bound to it by
// result.h5's size, mtime and CRC-32, and to itself by the CRC-32 of its body. A summary
// that fails any check is never used: the reader falls back to result.h5 and says why.
// Format (version 1, docs/hdf5-schema.md, "The run summary"): the file is exactly
//   {"format": "aimrun-run-summary", "version": 1, "crc32": "<8 hex>", "body": BODY}\n
// with crc32 = zlib's CRC-32 of BODY's bytes.
#include <cstdint>
#include <string>

#include "results/run_folder.h"
#include "results/run_record.h"

namespace aim::results {

inline constexpr int kSummaryVersion = 1;
inline constexpr size_t kLeastConfidentKept = 32;  // per run: enough for report --least-confident <= 32

// What binds a summary to its result.h5.
struct FileStamp {
  int64_t size = 0, mtime_ns = 0;
  uint32_t crc32 = 0;
};
FileStamp stamp_of(const std::string& path);  // reads the whole file (CRC-32)

// The `count` samples of a split with the least confident masks (fewest first, ties by
// position): from per_sample when it is there, else what a summary kept. Empty for a
// model without masks.
LeastConfident least_confident(const SplitResult& s, size_t count);

std::string summary_text(const RunRecord& r, const FileStamp& result);
// Stamps paths.result() and writes paths.summary() atomically (aim::Error on failure).
void write_run_summary(const RunPaths& paths, const RunRecord& r);

// Reads paths.result() in full (in a child process first) and writes its summary; throws
// aim::DataError when result.h5 is not a complete run file, aim::Error when writing fails.
// Call only while holding the run's lock (or where nothing else trains it).
void rebuild_run_summary(const RunPaths& paths);
struct SummaryRead {
  bool ok = false;
  std::string why;    // when not ok: "<run>/summary.json: <what failed>" ("missing" for none)
  bool missing = false;
  // The summary is whole (its checksum holds) but result.h5 is not the file it was written
  // for: result.h5 was damaged or replaced after the run finished. Not done: the summary's
  // numbers are the run's, result.h5's are not (results/run_folder.h: unreadable).
  bool result_mismatch = false;
  bool restamp = false;  // ok, but result.h5's mtime changed (a copy): its bytes were checked in full
  RunRecord record;   // when ok: everything but per-sample arrays, kept maps and curves
};
// Reads and checks paths.summary() against itself and against paths.result(). With
// `record` false only the run id and result.h5's stamp are read (a run's state: every
// check but the parse of the scalars, a tenth of the time); record holds the run id alone.
SummaryRead read_run_summary(const RunPaths& paths, bool record = true);
// Writes a valid summary again with result.h5's present mtime (read.restamp), so that later
// reads need not check result.h5's bytes.
void restamp_run_summary(const RunPaths& paths, const SummaryRead& read);


}  // namespace aim::results
