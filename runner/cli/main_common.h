#pragma once
// What the two executables' main()s share (runner/cli/main.cpp: aimrun-torch;
// runner/cli/main_light.cpp: aimrun): the terminate handler that names the memory limits,
// and the text of an exception main() catches. Torch-free.
#include <exception>
#include <string>

namespace aim::cli {

// An exception no code catches (one thrown in a library's thread): a failed allocation ends
// the process with the memory limits named instead of "terminate called ..." and an abort.
[[noreturn]] void on_terminate();
// An exception main() catches: a failed allocation (one of parsing the command line, or
// loading the config, under a memory limit) says which limits this process has.
std::string error_text(const std::exception& e, const std::string& what);

}  // namespace aim::cli
