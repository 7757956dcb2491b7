#include "core/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <new>

#include "core/error.h"

namespace aim {

namespace {

bool isolated_child = false;

size_t current_address_space() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  return pages * size_t(sysconf(_SC_PAGESIZE));
}

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += size_t(n);
  }
}

[[noreturn]] void child_main(int fd, const std::function<std::string()>& work, const IsolationLimits& limits) {
  isolated_child = true;
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0) {  // lower only: a limit the caller set stays
    rlim_t want = current_address_space() + limits.extra_address_space;
    if (as.rlim_max == RLIM_INFINITY || want < as.rlim_max) as.rlim_cur = want;
    else as.rlim_cur = as.rlim_max;
    setrlimit(RLIMIT_AS, &as);
  }
  int code = 0;
  std::string out;
  try {
    out = work();
  } catch (const std::bad_alloc&) {
    out = "needs more memory than the file could justify (over the reader's limit)";
    code = 1;
  } catch (const std::exception& e) {
    out = e.what();
    code = 1;
  } catch (...) {
    out = "unknown error";
    code = 1;
  }
  write_all(fd, out);
  ::close(fd);
  _exit(code);  // no atexit handlers, no destructors of the parent's objects
}

// Reads the child's message until it closes the pipe or the deadline passes.
bool read_until_eof(int fd, std::string& out, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, int(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (out.size() < (1u << 20)) out.append(buf, size_t(n));
  }
}

}  // namespace

Isolated run_isolated(const std::function<std::string()>& work, const IsolationLimits& limits) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(std::string("cannot fork a checker process: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], work, limits);
  }
  ::close(fds[1]);
  Isolated result;
  bool finished = read_until_eof(fds[0], result.output, limits.timeout_s);
  ::close(fds[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    result.output = "reading it took longer than " + std::to_string(limits.timeout_s) + " s (stopped)";
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    result.output = "reading it crashed the HDF5 library (signal " + std::to_string(sig) + ", " +
                    strsignal(sig) + ")";
  } else {
    result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return result;
}

bool in_isolated_child() { return isolated_child; }

}  // namespace aim
