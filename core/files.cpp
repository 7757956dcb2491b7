#include "core/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <thread>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/host.h"

namespace fs = std::filesystem;

namespace aim {

std::string temp_path_for(const std::string& final_path) {
  fs::path p(final_path);
  return (p.parent_path() / ("." + p.filename().string() + ".tmp-" + std::to_string(getpid())))
      .string();
}

namespace {
void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Error(path + ": cannot open for fsync: " + std::strerror(errno));
  // Some file systems refuse fsync on directories (EINVAL); the rename is still atomic.
  if (::fsync(fd) != 0 && !(directory && errno == EINVAL)) {
    int err = errno;
    ::close(fd);
    throw Error(path + ": fsync failed: " + std::strerror(err));
  }
  ::close(fd);
}
}  // namespace

void commit_file(const std::string& tmp_path, const std::string& final_path) {
  fsync_path(tmp_path, false);
  if (std::rename(tmp_path.c_str(), final_path.c_str()) != 0)
    throw Error(final_path + ": cannot rename " + tmp_path + " into place: " +
                std::strerror(errno));
  auto dir = fs::path(final_path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), true);
}

std::string write_error(const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT) return "no space left on device: " + path;
  return path + ": write failed: " + std::strerror(err);
}

namespace {
// Writes all of `size` bytes to the open `fd`, fsyncs and closes it; errno on failure.
int write_fsync_close(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return err;
    }
    data += n;
    size -= size_t(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  return ::close(fd) != 0 ? errno : 0;
}
}  // namespace

int write_new_file(const std::string& path, const void* data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  int err = write_fsync_close(fd, static_cast<const char*>(data), size);
  if (err) ::unlink(path.c_str());
  return err;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = temp_path_for(path);
  if (int err = write_new_file(tmp, content.data(), content.size())) throw Error(write_error(path, err));
  try {
    commit_file(tmp, path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void write_text_atomic(const std::string& path, const std::string& content) { write_file_atomic(path, content); }

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos && e.is_regular_file(ec)) {
      std::error_code rm;
      if (fs::remove(e.path(), rm)) removed.push_back(name);
    }
  }
  return removed;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ensure_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw Error(path + ": cannot create directory: " + ec.message());
}

void check_output_file(const std::string& option, const std::string& path) {
  const std::string what = option + " " + path + ": ";
  if (path.empty()) throw ConfigError(what + "an empty path");
  std::error_code ec;
  const auto parent = fs::absolute(path, ec).parent_path();
  if (ec || !fs::is_directory(parent, ec))
    throw ConfigError(what + "the folder " + parent.string() + " does not exist");
  if (fs::is_directory(path, ec)) throw ConfigError(what + "is a folder (a file name is expected)");
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    throw ConfigError(what + "cannot write into " + parent.string() + ": " + std::strerror(errno));
}

bool flock_unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS; }

namespace {

std::string owner_line() {
  return host_name() + " " + std::to_string(getpid()) + " " + std::to_string(long(std::time(nullptr))) + "\n";
}

// An owner file is stale when its heartbeat is old, or it names a dead process here.
bool owner_is_stale(const std::string& text) {
  std::istringstream in(text);
  std::string host;
  long pid = 0, beat = 0;
  if (!(in >> host >> pid >> beat)) return true;  // a torn or empty file: its writer died creating it
  if (std::time(nullptr) - beat > FileLock::kStaleSeconds) return true;
  return host == host_name() && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

bool owner_file_held(const std::string& owner) {
  std::ifstream in(owner);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  return !owner_is_stale(ss.str());
}

}  // namespace

struct FileLock::Heartbeat {
  std::atomic<bool> stop{false};
  std::thread thread;
};

bool FileLock::try_owner_file(const std::string& path) {
  const std::string owner = path + ".owner";
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(owner.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      auto line = owner_line();
      bool ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size()) && ::fsync(fd) == 0;
      ok = ::close(fd) == 0 && ok;
      if (!ok) {
        ::unlink(owner.c_str());
        throw Error(write_error(owner, errno));
      }
      owner_path_ = owner;
      heartbeat_ = new Heartbeat;
      heartbeat_->thread = std::thread([owner, hb = heartbeat_] {
        while (!hb->stop) {
          for (int i = 0; i < kHeartbeatSeconds * 10 && !hb->stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          if (hb->stop) break;
          int f = ::open(owner.c_str(), O_WRONLY | O_CLOEXEC);
          if (f < 0) continue;
          auto l = owner_line();
          if (::pwrite(f, l.data(), l.size(), 0) > 0) (void)::ftruncate(f, off_t(l.size()));
          ::close(f);
        }
      });
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

FileLock::~FileLock() { unlock(); }

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

void FileLock::lock(const std::string& path) {
  unlock();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot open lock file: " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (flock_unsupported(err)) {
      while (!try_owner_file(path)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return;
    }
    throw Error(path + ": flock failed: " + std::strerror(err));
  }
  fd_ = fd;
}

void FileLock::unlock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
  }
  if (heartbeat_) {
    heartbeat_->stop = true;
    heartbeat_->thread.join();
    delete heartbeat_;
    heartbeat_ = nullptr;
  }
  if (!owner_path_.empty()) {
    ::unlink(owner_path_.c_str());
    owner_path_.clear();
  }
}

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
