#include "core/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <initializer_list>
#include <string_view>

namespace aim {

namespace {

std::atomic<bool> requested{false};
std::atomic<int> interrupts{0};

void on_signal(int sig) {
  if (sig == SIGINT && interrupts.fetch_add(1) >= 1) _exit(130);
  requested = true;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGUSR2, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
}

const std::atomic<bool>& stop_requested() { return requested; }

namespace {
// Before any library's initialisers (libtorch's take most of a second): an executable's
// .preinit_array runs right after the dynamic loader, so a stop that arrives while aimrun
// is still loading is remembered too. Only for `aimrun train` (argv[1]): every other
// command keeps the default actions.
void install_early(int argc, char** argv, char**) {
  if (argc > 1 && argv[1] && std::string_view(argv[1]) == "train") install_stop_handlers();
}
}  // namespace

}  // namespace aim

// In every executable that links this file (aimrun, and the tests, where argv[1] is never
// "train"); main() installs them again, which changes nothing.
__attribute__((section(".preinit_array"), used)) static void (*aim_preinit)(int, char**, char**) = aim::install_early;
