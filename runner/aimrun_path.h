#pragma once
// The aimrun that a sweep's children, Slurm job scripts and round jobs run: aimrun itself,
// also when the sweep runs in aimrun-torch (docs/architecture.md, "Two executables").
#include <string>

namespace aim {

// This process's executable (/proc/self/exe, links resolved); when that is aimrun-torch, the
// aimrun next to it, where there is one. `fallback` when /proc/self/exe cannot be read.
std::string aimrun_executable(const std::string& fallback = "aimrun");

}  // namespace aim
