#pragma once
// Files that are either complete or absent: results and checkpoints are written to a
// temporary name, flushed to disk and renamed, so a crash never leaves a half-written
// file under the final name. Plus an advisory lock so two processes never own one run.
#include <string>

namespace aim {

// "<dir>/.<name>.tmp-<pid>": same directory (rename stays atomic), hidden, per process.
std::string temp_path_for(const std::string& final_path);
// fsync(tmp), rename(tmp, final), fsync(directory). Throws aim::Error on failure.
void commit_file(const std::string& tmp_path, const std::string& final_path);
void write_text_atomic(const std::string& path, const std::string& content);
std::string read_text(const std::string& path);
void ensure_dir(const std::string& path);

// flock()-based lock, released by the kernel when the process dies (a crashed run never
// looks "running"). Works across nodes on NFSv4 and Lustre.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // True when this process now holds the lock; false when another process holds it.
  bool try_lock(const std::string& path);
  // Waits until the lock is free, then holds it.
  void lock(const std::string& path);
  void unlock();
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// True when some process holds the lock at `path` (probes with a non-blocking flock).
bool is_locked_by_other(const std::string& path);

}  // namespace aim
