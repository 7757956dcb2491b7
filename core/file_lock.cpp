#include "core/file_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/files.h"
#include "core/host.h"
#include "core/stop_signal.h"

namespace aim {

namespace {

std::string owner_line() {
  return host_name() + " " + std::to_string(getpid()) + " " + std::to_string(long(std::time(nullptr))) + "\n";
}

double seconds_of(const struct timespec& t) { return double(t.tv_sec) + 1e-9 * double(t.tv_nsec); }

// The file system's clock now: the modification time of a file created beside `file` (on
// NFS the server sets it), or this host's clock where none can be created. The probe's
// name is a temporary file's (".lock.clock.tmp-<pid>"): one a killed process leaves is
// removed with the others (remove_stale_temp_files).
double file_system_now(const std::string& file) {
  const auto dir = std::filesystem::path(file).parent_path();
  const std::string probe = temp_path_for((dir / "lock.clock").string());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return double(std::time(nullptr));
  struct stat st {};
  const bool ok = ::fstat(fd, &st) == 0;
  ::close(fd);
  ::unlink(probe.c_str());
  return ok ? seconds_of(st.st_mtim) : double(std::time(nullptr));
}

// Opens `path` and returns its identity and first bytes; false when it cannot be opened.
bool read_owner_file(const std::string& path, struct stat& st, std::string& text) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = ::fstat(fd, &st) == 0 ? ::pread(fd, buf, sizeof buf, 0) : -1;
  ::close(fd);
  text.assign(buf, size_t(n > 0 ? n : 0));
  return true;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

bool owner_file_held(const std::string& owner) {
  struct stat st {};
  std::string text;
  if (!read_owner_file(owner, st, text)) return errno != ENOENT;  // unreadable: assume held
  const double age = file_system_now(owner) - seconds_of(st.st_mtim);
  std::istringstream in(text);
  std::string host;
  long pid = 0;
  if (!(in >> host >> pid)) return age <= FileLock::kCreatingSeconds;  // being created, or its creator died
  if (age > FileLock::kStaleSeconds) return false;
  return !(host == host_name() && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH);
}

// The fallback lock while held: the owner file this process created (kept open, so the
// heartbeat writes into this very file even after it was taken over and replaced) and the
// heartbeat thread, which each second checks the name still leads to it.
struct FileLock::OwnerFile {
  std::string path;
  int fd = -1;
  struct stat identity {};
  std::atomic<bool> stop{false};
  std::atomic<bool> held{true};
  std::thread thread;

  bool is_ours() const {
    struct stat now {};
    std::string text;
    return read_owner_file(path, now, text) && same_file(now, identity);
  }
  void beat() {
    for (int second = 1; !stop; ++second) {
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stop) break;
      if (!is_ours()) {
        held = false;
        return;
      }
      if (second % kHeartbeatSeconds != 0) continue;
      const auto l = owner_line();
      if (::pwrite(fd, l.data(), l.size(), 0) == ssize_t(l.size())) (void)::ftruncate(fd, off_t(l.size()));
    }
  }
  ~OwnerFile() {
    stop = true;
    if (thread.joinable()) thread.join();
    if (is_ours()) ::unlink(path.c_str());  // never another process's owner file
    ::close(fd);
  }
};

FileLock::FileLock() = default;
FileLock::~FileLock() { unlock(); }

bool FileLock::locked() const { return fd_ >= 0 || owner_ != nullptr; }

bool FileLock::still_held() const { return fd_ >= 0 || (owner_ && owner_->is_ours()); }

bool FileLock::seems_held() const { return fd_ >= 0 || (owner_ && owner_->held); }

std::string FileLock::lost_message() const {
  if (!owner_) return "the run lock is not held";
  struct stat st {};
  std::string now;
  const bool there = read_owner_file(owner_->path, st, now);
  now = now.substr(0, now.find('\n'));
  return "this process (" + host_name() + " " + std::to_string(getpid()) + ") lost its lock " + owner_->path +
         (there && !now.empty() ? ": it now names " + now : ": it was removed") +
         " (taken over as stale: not renewed for " + std::to_string(kStaleSeconds) +
         " s; was this process stopped or its node frozen?)";
}

bool FileLock::try_owner_file(const std::string& path) {
  const std::string owner = path + ".owner";
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(owner.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      auto o = std::make_unique<OwnerFile>();
      o->path = owner, o->fd = fd;
      auto line = owner_line();
      bool ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size()) && ::fsync(fd) == 0 &&
                ::fstat(fd, &o->identity) == 0;
      if (!ok) {
        const int err = errno;
        ::unlink(owner.c_str());  // o's destructor closes fd
        throw Error(write_error(owner, err));
      }
      o->thread = std::thread([p = o.get()] { p->beat(); });
      owner_ = std::move(o);
      return true;
    }
    if (errno != EEXIST) throw Error(owner + ": cannot create lock file: " + std::strerror(errno));
    if (owner_file_held(owner)) return false;
    // Stale: move it aside (atomic: of two takers only one moves it), then try again.
    std::string aside = owner + ".stale-" + std::to_string(getpid());
    if (std::rename(owner.c_str(), aside.c_str()) == 0) ::unlink(aside.c_str());
  }
  return false;
}

bool FileLock::try_lock(const std::string& path) {
  unlock();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot open lock file: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return false;
    if (flock_unsupported(err)) return try_owner_file(path);
    throw Error(path + ": flock failed: " + std::strerror(err));
  }
  fd_ = fd;
  return true;
}

// The wait is logged as it begins (a run that waits says why at once; the fault tests wait
// for that line before they signal a waiting process) and every 30 s after.
bool FileLock::lock_within(const std::string& path, double seconds, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  double next_note = 30;
  bool announced = false;
  for (;;) {
    if (try_lock(path)) return true;
    if (stop_requested()) throw StopRequested("a stop was requested while waiting for another process writing " + what);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= seconds) return false;
    // The lock is named unless it is the file `what` names with ".lock" after it (the path
    // twice made the line 240 characters long).
    const bool beside = path.size() > 5 && path.compare(path.size() - 5, 5, ".lock") == 0 &&
                        what.find(path.substr(0, path.size() - 5)) != std::string::npos;
    const std::string holds = beside ? "" : " (it holds " + path + ")";
    if (!announced) {
      spdlog::info("waiting for another process writing {}{}; going on without it after {:.0f} s", what, holds,
                   seconds);
      announced = true;
    } else if (waited >= next_note) {
      spdlog::info("waiting {:.0f} s for another process writing {}{}; going on without it after {:.0f} s", waited,
                   what, holds, seconds);
      next_note += 30;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void FileLock::unlock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
  }
  owner_.reset();
}

bool flock_unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS; }

bool is_locked_by_other(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return owner_file_held(path + ".owner");
  bool locked = false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    locked = errno == EWOULDBLOCK || (flock_unsupported(errno) && owner_file_held(path + ".owner"));
  else
    ::flock(fd, LOCK_UN);
  ::close(fd);
  return locked;
}

}  // namespace aim
