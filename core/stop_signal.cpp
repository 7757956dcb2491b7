#include "core/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

namespace aim {

namespace {

std::atomic<bool> requested{false};
std::atomic<int> interrupts{0};
std::atomic<int> first_signal{0};
std::atomic<uint64_t> ticks{0};
unsigned grace_s = 120;  // AIMRUN_STOP_GRACE
char grace_message[320];
size_t grace_message_size = 0;

// A stop was asked for, and for grace_s no step or evaluation batch has ended (a step that
// never ends: a library spinning at a memory limit, a hung device): the process ends as it
// would without a handler, by the same signal, after saying so. Nothing is saved since the
// last checkpoint.
void on_grace_over(int) {
  if (::write(2, grace_message, grace_message_size) < 0) {
  }
  const int sig = first_signal.load();
  signal(sig, SIG_DFL);
  raise(sig);
  _exit(128 + sig);
}

void on_signal(int sig) {
  if (sig == SIGINT && interrupts.fetch_add(1) >= 1) _exit(130);
  int none = 0;
  if (first_signal.compare_exchange_strong(none, sig) && grace_s > 0) alarm(grace_s);
  requested = true;
}

// AIMRUN_STOP_GRACE: seconds (1..86400; 0 turns the grace off), default 120.
void read_grace() {
  if (const char* v = std::getenv("AIMRUN_STOP_GRACE")) {
    char* end = nullptr;
    const long s = std::strtol(v, &end, 10);
    if (end != v && *end == 0 && s >= 0 && s <= 86400) grace_s = unsigned(s);
  }
  const int n = std::snprintf(grace_message, sizeof grace_message,
                              "aimrun: a stop (TERM, USR2 or INT) was asked for and no step or evaluation batch "
                              "has ended for %u s since (a step that never ends: an allocation retried forever at "
                              "a memory limit, a hung device?): ending now, without a checkpoint of the steps since "
                              "the last one (AIMRUN_STOP_GRACE)\n",
                              grace_s);
  grace_message_size = n > 0 ? std::min(size_t(n), sizeof grace_message - 1) : 0;
}

}  // namespace

void install_stop_handlers() {
  read_grace();
  struct sigaction grace {};
  grace.sa_handler = on_grace_over;
  sigemptyset(&grace.sa_mask);
  sigaction(SIGALRM, &grace, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGUSR2, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
  // aimrun blocks the three before it execs aimrun-torch (runner/cli/main_light.cpp): a stop
  // sent in between stayed pending, and is delivered to on_signal now.
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGUSR2, SIGTERM, SIGINT}) sigaddset(&stops, sig);
  sigprocmask(SIG_UNBLOCK, &stops, nullptr);
}

const std::atomic<bool>& stop_requested() { return requested; }

void note_progress() {
  ticks.fetch_add(1, std::memory_order_relaxed);
  if (first_signal.load(std::memory_order_relaxed) != 0 && grace_s > 0) alarm(grace_s);  // the grace starts again
}

uint64_t progress_count() { return ticks.load(std::memory_order_relaxed); }

}  // namespace aim
