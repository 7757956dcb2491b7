#include "core/host.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace aim {

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string node_name() {
  if (const char* n = std::getenv("SLURMD_NODENAME"); n && *n) return n;
  return host_name();
}

std::string local_time_iso(double unix_seconds) {
  std::time_t t = std::time_t(unix_seconds);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &local);
  return buf;
}

std::string local_time_iso_now() { return local_time_iso(double(std::time(nullptr))); }

}  // namespace aim
