#include "runner/fault_injection.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>

#include "core/error.h"
#include "core/strings.h"

namespace aim {

Fault fault_from_environment() {
  Fault f;
  const char* v = std::getenv("AIMRUN_FAULT");
  if (!v) return f;
  for (const auto& part : split(v, ',')) {
    auto eq = part.find('=');
    if (eq == std::string::npos) continue;
    auto k = part.substr(0, eq), val = part.substr(eq + 1);
    if (k == "rank") f.rank = std::stoi(val);
    if (k == "step") f.step = val == "end" ? Fault::kAtEnd : std::stoll(val);
    if (k == "kind") f.kind = val;
  }
  return f;
}

namespace {
// What OpenBLAS's buffer allocator does at an address-space limit: allocate, and when an
// allocation fails, try it again, forever. The blocks are chained through their first bytes
// (nothing else is allocated), so the address space fills while little is resident.
void* volatile allocated_chain = nullptr;  // the blocks escape: no compiler may drop the calls

[[noreturn]] void allocate_until_it_fails_then_retry_forever() {
  constexpr size_t kBlock = size_t(128) << 20;
  while (true) {
    void* p = std::malloc(kBlock);
    if (!p) continue;
    *static_cast<void* volatile*>(p) = allocated_chain;
    allocated_chain = p;
  }
}
}  // namespace

void Fault::fail_if_due(int at_rank, int64_t global_step) const {
  if (!at(at_rank, global_step) || (kind != "throw" && kind != "kill" && kind != "stall" && kind != "alloc_spin"))
    return;
  spdlog::error("AIMRUN_FAULT: rank {} fails ({}) {}", at_rank, kind,
                global_step == kAtEnd ? std::string("at the end") : "at step " + std::to_string(global_step));
  if (kind == "kill") std::raise(SIGKILL);
  if (kind == "alloc_spin") allocate_until_it_fails_then_retry_forever();
  if (kind == "stall")
    while (true) std::raise(SIGSTOP);  // stays stopped, whatever continues it
  throw Error("AIMRUN_FAULT: injected failure on rank " + std::to_string(at_rank));
}

}  // namespace aim
