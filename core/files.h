#pragma once
// Files that are either complete or absent: results and checkpoints are written to a
// temporary name, flushed to disk and renamed, so a crash never leaves a half-written
// file under the final name. The run lock is in core/file_lock.h.
#include <string>
#include <vector>

namespace aim {

// "<dir>/.<name>.tmp-<pid>": same directory (rename stays atomic), hidden, per process.
std::string temp_path_for(const std::string& final_path);
// fsync(tmp), rename(tmp, final), fsync(directory). Throws aim::Error on failure.
void commit_file(const std::string& tmp_path, const std::string& final_path);
// Writes `size` bytes to a new file `path` (truncating one that is there), fsyncs and
// closes it, every call checked; returns 0, or the errno of the first failure, after which
// the file is removed. With commit_file, what write_file_atomic does, for a writer that
// reads the temporary file back before it is renamed into place (h5::write_whole_file).
int write_new_file(const std::string& path, const void* data, size_t size);
// Writes `content` to a temporary name, checks every write, fsync and close, and renames
// it into place; on any error the temporary file is removed and aim::Error names the path
// ("no space left on device: <path>" when the disk is full). Nothing half-written remains.
void write_file_atomic(const std::string& path, const std::string& content);
void write_text_atomic(const std::string& path, const std::string& content);
// Appends `line` (ending with a newline) to `path`, creating it, in one write(2) with
// O_APPEND (whole lines from concurrent appenders do not interleave); a last line left
// without its newline (a full disk, a writer killed mid-write) is ended first, so the new
// line always stands alone. Returns 0, or the errno of the failure.
int append_line(const std::string& path, const std::string& line);
// The message for a failed write of `path` with errno `err`.
std::string write_error(const std::string& path, int err);
// Removes the temporary files of writes that a killed process left in `dir`
// (".<name>.tmp-<pid>"); returns their names. Call only while holding the run's lock.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);
std::string read_text(const std::string& path);
void ensure_dir(const std::string& path);
// A file a command is asked to write (`option` names where it was given, "--out"): its
// folder exists and can be written to, and it is not a folder itself. Throws ConfigError
// ("--out x/y.h5: the folder x does not exist"), so a wrong path is an error (exit 2)
// before any work, not after it.
void check_output_file(const std::string& option, const std::string& path);

}  // namespace aim
