#include "core/oom_watch.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/log.h"
#include "core/memory_limit.h"

namespace aim {

namespace {

int write_end = -1;  // the training process's end of the pipe; the watcher's read end is its stdin

// "oom_kill N" in `file`, read into the stack (async-signal-safe); 0 when it cannot be read.
uint64_t oom_kill_count(const char* file) {
  const int fd = ::open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024] = {};
  ssize_t n = 0, got;
  while (n < ssize_t(sizeof buf) - 1 && (got = ::read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += got;
  ::close(fd);
  const char* at = std::strstr(buf, "oom_kill ");
  return at ? uint64_t(std::strtoull(at + 9, nullptr, 10)) : 0;
}

void say(const char* text) {
  for (size_t done = 0, size = std::strlen(text); done < size;) {
    const ssize_t n = ::write(2, text + done, size - done);
    if (n <= 0) return;
    done += size_t(n);
  }
}

// The watcher: stdin is the pipe; stderr the training process's. Never returns.
[[noreturn]] void watch(const char* events, uint64_t before, const char* message) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE}) ::signal(sig, SIG_IGN);
  bool ended_by_itself = false;
  char byte;
  while (true) {
    const ssize_t n = ::read(0, &byte, 1);
    if (n == 1)
      ended_by_itself = true;
    else if (n == 0 || errno != EINTR)
      break;
  }
  if (!ended_by_itself && oom_kill_count(events) > before) say(message);
  ::_exit(0);
}

}  // namespace

void start_oom_watch() {
  if (write_end >= 0) return;
  const MemoryLimits m = memory_limits();
  const std::string events = oom_events_file(m);
  if (!m.cgroup || events.empty()) return;
  const uint64_t before = oom_kill_count(events.c_str());
  MemoryLimits cgroup_only = m;
  cgroup_only.address_space = 0;
  const std::string message =
      "aimrun: error: the kernel's out-of-memory killer ended this training process (SIGKILL, exit code 137): " +
      cgroup_only.describe() +
      " was reached. Raise the job's memory (sbatch --mem, the profile's `mem`) or lower train.batch_size, "
      "dataset.workers or `threads`; the run resumes from its last checkpoint\n";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    spdlog::warn("no out-of-memory watcher (pipe: {}): a kill at {} would end this run without a message",
                 std::strerror(errno), m.describe());
    return;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {  // the watcher: the pipe as stdin, stderr, nothing else
    ::dup2(fds[0], 0);
    ::close(1);
    ::close_range(3, ~0U, 0);
    watch(events.c_str(), before, message.c_str());
  }
  ::close(fds[0]);
  if (pid < 0) {
    ::close(fds[1]);
    spdlog::warn("no out-of-memory watcher (fork: {}): a kill at {} would end this run without a message",
                 std::strerror(errno), m.describe());
    return;
  }
  write_end = fds[1];
}

void end_oom_watch() {
  if (write_end < 0) return;
  const char byte = 'x';
  while (::write(write_end, &byte, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace aim
