#pragma once
// The code version recorded in every result file and printed by `aimrun --version`:
// `git describe --always --dirty --tags` at build time (cmake/version.cmake), "unknown"
// outside a git checkout.
namespace aim {

const char* aimrun_version();

}  // namespace aim
