#include "core/allocator.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace aim {

std::string keep_freed_memory_in_process() {
#if defined(__GLIBC__)
  if (const char* t = std::getenv("GLIBC_TUNABLES"); t && std::strstr(t, "glibc.malloc."))
    return "malloc: left as GLIBC_TUNABLES sets it";
  // Every block from the heap (brk), none mapped on its own: a block of any size that is
  // freed is reused by the next allocation instead of being unmapped and faulted in again.
  // Threads' arenas fall back to the main heap for blocks larger than an arena.
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  // Never give the top of the heap back: the peak is needed again at the next step.
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1 && mallopt(M_TOP_PAD, 64 << 20) == 1;
  if (no_mmap && no_trim) return "malloc: freed memory kept for reuse (no mmap per block, no trimming)";
  return "malloc: glibc refused the settings, defaults kept";
#else
  return "malloc: not glibc, left as it is";
#endif
}

}  // namespace aim
