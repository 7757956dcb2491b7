#include "runner/sweep/child_stop.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/error.h"

extern char** environ;

namespace aim {

namespace {

constexpr int kStops[] = {SIGTERM, SIGINT, SIGUSR2};
std::atomic<int> first_stop{0};
std::atomic<pid_t> children[kMaxStoppedChildren];  // 0: a free slot
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<pid_t>::is_always_lock_free,
              "read in a signal handler");
struct sigaction previous[3];

void on_stop(int sig) {
  const int saved = errno;
  int none = 0;
  first_stop.compare_exchange_strong(none, sig);
  for (auto& child : children)
    if (const pid_t pid = child.load(); pid > 0) ::kill(pid, SIGUSR2);
  errno = saved;
}

}  // namespace

ChildStops::ChildStops() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < 3; ++i) {
    sigaction(kStops[i], &sa, &previous[i]);
    // INT ignored on entry (a background job of a script, nohup): left ignored, as a shell
    // leaves it; the run it trains takes its own INT (core/stop_signal.h).
    if (kStops[i] == SIGINT && previous[i].sa_handler == SIG_IGN) sigaction(SIGINT, &previous[i], nullptr);
  }
}

ChildStops::~ChildStops() {
  for (size_t i = 0; i < 3; ++i) sigaction(kStops[i], &previous[i], nullptr);
}

int child_stop_signal() { return first_stop.load(); }

bool pass_stops_to(pid_t pid) {
  for (auto& child : children) {
    pid_t none = 0;
    if (!child.compare_exchange_strong(none, pid)) continue;
    if (first_stop.load() != 0) ::kill(pid, SIGUSR2);  // arrived while it was being started
    return true;
  }
  return false;
}

void forget_stopped_child(pid_t pid) {
  for (auto& child : children) {
    pid_t mine = pid;
    if (child.compare_exchange_strong(mine, 0)) return;
  }
}

int spawn_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) throw Error("cannot start " + argv[0] + ": " + std::strerror(rc));
  pass_stops_to(pid);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      forget_stopped_child(pid);
      throw Error("waitpid failed: " + std::string(std::strerror(errno)));
    }
  }
  forget_stopped_child(pid);
  return exit_code_of(status);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace aim
