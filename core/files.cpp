#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

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

int append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) != 1) last = '\n';
  const std::string text = (last == '\n' ? "" : "\n") + line;
  const ssize_t n = ::write(fd, text.data(), text.size());
  int err = n == ssize_t(text.size()) ? 0 : n < 0 ? errno : ENOSPC;
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
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

}  // namespace aim
