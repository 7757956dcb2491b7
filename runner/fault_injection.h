#pragma once
// A test hook: AIMRUN_FAULT="rank=1,step=3,kind=throw|kill|stop|nan|nan_unseen|stall|alloc_spin" makes
// that rank fail at that global step (throw, kill), ask for a stop as a signal would (stop),
// see a non-finite loss (nan), have its epoch's loss sum turn non-finite unseen by any step,
// as on a GPU, until the next progress line (nan_unseen; rank 0), hang (stall), or fill its
// address space and retry a failing allocation forever, as OpenBLAS does at a memory limit
// (alloc_spin: use it under `ulimit -v` only). step=end: after the run is complete, before the
// process ends (before MPI_Finalize). The fault tests (tests/test_faults.cpp) use it;
// without the variable nothing happens.
#include <cstdint>
#include <string>

namespace aim {

struct Fault {
  static constexpr int64_t kAtEnd = -2;  // step=end
  int rank = -1;
  int64_t step = -1;
  std::string kind;  // throw, kill, stop, nan, nan_unseen, stall, alloc_spin

  bool at(int at_rank, int64_t global_step) const { return rank == at_rank && step == global_step; }
  // kind throw, kill, stall or alloc_spin at this rank and step: logs, then throws
  // aim::Error, raises SIGKILL, stops the process for good, or spins in allocations.
  void fail_if_due(int at_rank, int64_t global_step) const;
};

Fault fault_from_environment();

}  // namespace aim
