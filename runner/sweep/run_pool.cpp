#include "runner/sweep/run_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <thread>

#include "core/error.h"
#include "runner/sweep/child_stop.h"

extern char** environ;

namespace aim {

namespace {

constexpr size_t kLongestLine = 64 * 1024;  // a longer one goes out in pieces of this size, each a line
constexpr int kPollMs = 100;                // how often the children are looked at for their end

void close_pair(int fds[2]) {
  for (int i = 0; i < 2; ++i)
    if (fds[i] >= 0) ::close(fds[i]);
}

// `text` (whole lines) to stdout or stderr at once, flushed: the parent's own log lines
// (spdlog, stderr, flushed per line) go between whole lines only.
void write_lines(const std::string& text, bool to_stderr) {
  FILE* f = to_stderr ? stderr : stdout;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
}

}  // namespace

RunPool::~RunPool() {
  try {
    while (running() > 0) wait_one();
  } catch (const std::exception&) {
  }
}

bool RunPool::runs(size_t key) const {
  for (const auto& c : children_)
    if (c.key == key) return true;
  return false;
}

std::vector<size_t> RunPool::keys() const {
  std::vector<size_t> out;
  for (const auto& c : children_) out.push_back(c.key);
  return out;
}

void RunPool::start(size_t key, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    const std::string& tag) {
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close_pair(out);
    close_pair(err);
    throw Error("cannot make a pipe for " + argv[0] + ": " + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  args.push_back(nullptr);
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw Error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  pass_stops_to(pid);  // --jobs is at most kMaxStoppedChildren
  for (int fd : {out[0], err[0]}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  Child child;
  child.key = key;
  child.pid = pid;
  child.tag = tag;
  child.out.fd = out[0];
  child.err.fd = err[0];
  children_.push_back(std::move(child));
}

// What the pipe holds now: its whole lines written, the rest kept; at its end (or on an
// error) the rest too, and the pipe closed.
void RunPool::read_from(Child& child, Stream& stream, bool to_stderr) {
  char buf[16384];
  bool at_end = false;
  while (true) {
    const ssize_t n = ::read(stream.fd, buf, sizeof buf);
    if (n > 0) {
      stream.pending.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    at_end = n == 0 || errno != EAGAIN;
    break;
  }
  std::string lines;
  size_t from = 0;
  while (true) {
    const size_t nl = stream.pending.find('\n', from);
    const size_t left = (nl == std::string::npos ? stream.pending.size() : nl) - from;  // the line's length so far
    if (nl == std::string::npos && left < kLongestLine) break;
    const size_t length = std::min(left, kLongestLine);
    lines += child.tag + stream.pending.substr(from, length) + "\n";
    from += length + (length == left && nl != std::string::npos ? 1 : 0);
  }
  stream.pending.erase(0, from);
  if (at_end) {
    if (!stream.pending.empty()) lines += child.tag + stream.pending + "\n";
    stream.pending.clear();
    ::close(stream.fd);
    stream.fd = -1;
  }
  if (!lines.empty()) write_lines(lines, to_stderr);
}

// The child has ended: what it wrote is in the pipes (a process it left behind holding them
// is not waited for).
void RunPool::end_of(Child& child) {
  for (Stream* s : {&child.out, &child.err}) {
    if (s->fd < 0) continue;
    read_from(child, *s, s == &child.err);
    if (s->fd < 0) continue;
    if (!s->pending.empty()) write_lines(child.tag + s->pending + "\n", s == &child.err);
    ::close(s->fd);
    s->fd = -1;
  }
  forget_stopped_child(child.pid);
}

RunPool::Ended RunPool::wait_one() {
  if (children_.empty()) throw Error("RunPool::wait_one: no child running");
  while (true) {
    for (size_t i = 0; i < children_.size(); ++i) {
      int status = 0;
      const pid_t r = ::waitpid(children_[i].pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) continue;
      if (r < 0) throw Error("waitpid failed: " + std::string(std::strerror(errno)));
      end_of(children_[i]);
      Ended ended{children_[i].key, exit_code_of(status)};
      children_.erase(children_.begin() + long(i));
      return ended;
    }
    std::vector<pollfd> fds;
    std::vector<std::pair<Child*, Stream*>> owner;
    for (auto& c : children_)
      for (Stream* s : {&c.out, &c.err})
        if (s->fd >= 0) {
          fds.push_back({s->fd, POLLIN, 0});
          owner.emplace_back(&c, s);
        }
    if (fds.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
      continue;
    }
    if (::poll(fds.data(), fds.size(), kPollMs) <= 0) continue;  // a signal (EINTR) or time to look
    for (size_t k = 0; k < fds.size(); ++k)
      if (fds[k].revents != 0) read_from(*owner[k].first, *owner[k].second, owner[k].second == &owner[k].first->err);
  }
}

std::vector<std::string> environment_with_threads(int threads) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env.emplace_back(*e);
  env.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  return env;
}

int usable_cores() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
  return std::max(1, int(std::thread::hardware_concurrency()));
}

}  // namespace aim
