#pragma once
// Where and when this process runs, spelled one way for every file aimrun writes.
#include <string>

namespace aim {

// gethostname(), "" where it fails.
std::string host_name();
// This rank's node: Slurm's name for it inside a Slurm step (SLURMD_NODENAME: two slurmd
// daemons of a test cluster may share one machine, and real clusters' host names are often
// longer than their node names), else host_name().
std::string node_name();
// Local time with its offset, "2026-12-02T05:12:43+0000", for result files and ledgers.
std::string local_time_iso(double unix_seconds);
std::string local_time_iso_now();

}  // namespace aim
