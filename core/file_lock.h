#pragma once
// An advisory lock so two processes never own one run (or one cache, one submission).
//
// flock()-based, released by the kernel when the process dies (a crashed run never looks
// "running"). Works across nodes on NFSv4 and Lustre (-o flock).
//
// Where the file system has no flock (ENOLCK, EOPNOTSUPP, ENOSYS: NFS without lockd,
// Lustre without -o flock), the lock is "<path>.owner", created with O_EXCL and holding
// "host pid heartbeat"; its owner rewrites it every kHeartbeatSeconds. Another process
// takes an owner file over only when it is stale: not rewritten for kStaleSeconds, or
// naming this host and a pid that no longer runs. Its age is measured on the file
// system's clock (its modification time against that of a file created now beside it),
// never against the heartbeat written in it, so hosts whose clocks differ agree on it.
// An owner file that does not yet name its owner is being created: it is stale only
// after kCreatingSeconds.
//
// This fallback lock can be lost: a process frozen (SIGSTOP, a hung node) for longer than
// kStaleSeconds finds, when it wakes, that another process has taken its owner file over.
// still_held() tells; the heartbeat checks it every second (seems_held()). A lost lock's
// owner file is never rewritten nor removed by the process that lost it.
#include <memory>
#include <string>

namespace aim {

class FileLock {
 public:
  static constexpr int kHeartbeatSeconds = 20;
  static constexpr int kStaleSeconds = 90;
  static constexpr int kCreatingSeconds = 10;
  FileLock();
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // True when this process now holds the lock; false when another process holds it.
  bool try_lock(const std::string& path);
  // Waits at most `seconds` for the lock, logging as the wait begins and every 30 s what it
  // waits for (`what`: "the built-in dataset's cache <file>"); true when it is held, false
  // when the time ran out (its holder may be stopped or frozen: the caller goes on without
  // it). A stop request (core/stop_signal.h) ends the wait: throws StopRequested.
  bool lock_within(const std::string& path, double seconds, const std::string& what);
  void unlock();
  bool locked() const;
  // Whether this process still holds the lock it took (false when it holds none). A flock
  // is held until unlock(); the fallback's owner file is checked now (opened again: on NFS
  // that revalidates it).
  bool still_held() const;
  // The heartbeat's last check of still_held() (at most a second old): cheap enough for
  // every training step.
  bool seems_held() const;
  // Why the lock was lost: the owner file and who holds it now.
  std::string lost_message() const;

 private:
  bool try_owner_file(const std::string& path);
  int fd_ = -1;
  struct OwnerFile;
  std::unique_ptr<OwnerFile> owner_;  // the fallback lock, while held
};

// True when the flock error `err` means the file system has no flock at all.
bool flock_unsupported(int err);

// True when some process holds the lock at `path` (probes with a non-blocking flock, or
// reads the fallback's owner file).
bool is_locked_by_other(const std::string& path);

// Whether the fallback owner file `owner` belongs to a live process (the rules above).
bool owner_file_held(const std::string& owner);

}  // namespace aim
