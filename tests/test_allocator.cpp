// keep_freed_memory_in_process(): a large block freed and allocated again is reused, not
// faulted in again. Each test runs in its own process (EACH_TEST in tests/CMakeLists.txt),
// so the first measurement sees glibc's defaults.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

#include "core/allocator.h"

namespace {

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Page faults of allocating, writing and freeing `bytes`, after one warm-up round.
long faults_of_second_round(size_t bytes) {
  long faults = 0;
  for (int round = 0; round < 2; ++round) {
    const long before = minor_faults();
    auto* p = static_cast<char*>(std::malloc(bytes));
    if (p == nullptr) std::abort();
    std::memset(p, round + 1, bytes);
    asm volatile("" : : "r"(p) : "memory");  // the compiler may not elide the block
    std::free(p);
    faults = minor_faults() - before;
  }
  return faults;
}

constexpr size_t kBlock = 96 << 20;  // larger than glibc's largest dynamic mmap threshold (32 MiB)
constexpr long kPages = long(kBlock / 4096);

TEST(Allocator, FreedBlocksAreReusedInsteadOfFaultedInAgain) {
  // The premise: with glibc's defaults (no GLIBC_TUNABLES in the test's environment) a
  // block this large is mapped and unmapped each time.
  EXPECT_GT(faults_of_second_round(kBlock), kPages / 2);
  const std::string what = aim::keep_freed_memory_in_process();
  EXPECT_NE(what.find("kept for reuse"), std::string::npos) << what;
  faults_of_second_round(kBlock);  // the first block of this size now grows the heap once
  EXPECT_LT(faults_of_second_round(kBlock), kPages / 20);
}

TEST(Allocator, UserMallocTunablesAreLeftAlone) {
  setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_max=65536", 1);
  EXPECT_NE(aim::keep_freed_memory_in_process().find("GLIBC_TUNABLES"), std::string::npos);
  unsetenv("GLIBC_TUNABLES");
  EXPECT_GT(faults_of_second_round(kBlock), kPages / 2);  // still glibc's defaults
}

}  // namespace
