#pragma once
// How the process's heap treats freed memory. Training frees and reallocates the same
// activation-sized blocks every step; glibc's defaults return large blocks to the kernel
// (mmap/munmap, heap trimming), so each step pays page faults and the kernel zeroing pages
// again. Keeping freed memory in the process removes that cost (docs/performance.md).
#include <string>

namespace aim {

// Makes glibc malloc keep freed memory for reuse: no mmap per allocation, no trimming of
// the heap. Left alone when GLIBC_TUNABLES sets any glibc.malloc tunable (the user chose)
// or where malloc is not glibc's. Call once, first thing in main(). Returns what was done,
// for the log.
std::string keep_freed_memory_in_process();

}  // namespace aim
