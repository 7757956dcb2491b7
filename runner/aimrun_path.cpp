#include "runner/aimrun_path.h"

#include <unistd.h>

#include <filesystem>

namespace aim {

std::string aimrun_executable(const std::string& fallback) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fallback;
  if (self.filename() != "aimrun-torch") return self.string();
  const fs::path light = self.parent_path() / "aimrun";
  return ::access(light.c_str(), X_OK) == 0 ? light.string() : self.string();
}

}  // namespace aim
