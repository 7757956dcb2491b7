#include "core/memory_limit.h"

#include "core/oom_watch.h"
#include "core/stop_signal.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <thread>
#include <vector>

namespace aim {

namespace {

constexpr uint64_t kMiB = uint64_t(1) << 20;
// A cgroup limit at or above this is "no limit" (v1 writes 2^63 rounded down to a page).
constexpr uint64_t kNoCgroupLimit = uint64_t(1) << 62;

std::string mib(uint64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

// The limit in `file` ("max", a number of bytes), 0 for none or an unreadable file.
uint64_t read_limit(const std::string& file) {
  std::ifstream in(file);
  std::string v;
  if (!(in >> v) || v == "max") return 0;
  try {
    const uint64_t bytes = std::stoull(v);
    return bytes >= kNoCgroupLimit ? 0 : bytes;
  } catch (...) {
    return 0;
  }
}

// The lowest limit named `name` in `root`/`path` and every folder above it up to `root`.
void lowest_on_path(const std::string& root, std::string path, const std::string& name, MemoryLimits& out) {
  while (true) {
    const std::string file = root + (path == "/" ? "" : path) + "/" + name;
    if (const uint64_t b = read_limit(file); b != 0 && (out.cgroup == 0 || b < out.cgroup))
      out.cgroup = b, out.cgroup_file = file;
    if (path.empty() || path == "/") return;
    const auto slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

// /proc/self/cgroup: "0::/path" (v2) and "N:memory:/path" (v1).
void read_cgroup_limits(MemoryLimits& out) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {  // v2: a pure cgroup2 mount, or the hybrid layout's "unified"
      lowest_on_path("/sys/fs/cgroup", path, "memory.max", out);
      lowest_on_path("/sys/fs/cgroup/unified", path, "memory.max", out);
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      lowest_on_path("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes", out);
    }
  }
}

std::atomic<bool> watching{false};

}  // namespace

std::string MemoryLimits::describe() const {
  std::string s;
  if (address_space) s = "the address-space limit (ulimit -v) of " + mib(address_space);
  if (cgroup)
    s += (s.empty() ? "" : " and ") + std::string("the cgroup memory limit of ") + mib(cgroup) + " (" + cgroup_file +
         ")";
  return s.empty() ? "no memory limit" : s;
}

MemoryLimits memory_limits() {
  MemoryLimits m;
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) m.address_space = uint64_t(as.rlim_cur);
  read_cgroup_limits(m);
  return m;
}

uint64_t address_space_in_use() {
  // open/read into the stack: this is read where nothing more can be allocated
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[64] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  return uint64_t(std::strtoull(buf, nullptr, 10)) * uint64_t(sysconf(_SC_PAGESIZE));
}

bool is_allocation_failure(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return true;
  const char* w = e.what();
  return std::strstr(w, "can't allocate memory") || std::strstr(w, "Cannot allocate memory") ||
         std::strstr(w, "std::bad_alloc") || std::strstr(w, "out of memory");
}

std::string with_memory_limits(const std::string& what) {
  const auto limits = memory_limits();
  std::string s = what + "; this process has " + limits.describe() + ", " + mib(address_space_in_use()) +
                  " of address space mapped";
  if (limits.any())
    return s + ": raise the limit (the job's memory, `ulimit -v`), or lower train.batch_size, the threads or the model";
  return s + ": the machine has no more memory for it; lower train.batch_size, the threads or the model";
}

void watch_memory_limit(double stall_seconds, uint64_t headroom, std::function<void(const std::string&)> on_stuck) {
  const uint64_t limit = memory_limits().address_space;
  if (limit == 0 || watching.exchange(true)) return;
  std::thread([=] {
    uint64_t last = progress_count();
    auto since = std::chrono::steady_clock::now();
    while (true) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const uint64_t now_ticks = progress_count();
      const uint64_t used = address_space_in_use();  // 0: not known, taken as no room
      const auto now = std::chrono::steady_clock::now();
      if (now_ticks != last || (used != 0 && used + headroom < limit)) {  // progress, or room left
        last = now_ticks, since = now;
        continue;
      }
      const double stalled = std::chrono::duration<double>(now - since).count();
      if (stalled < stall_seconds) continue;
      // Written into the stack: at the limit, the heap may have nothing left to give.
      static char msg[512];
      std::snprintf(msg, sizeof msg,
                    "no progress for %d s with %llu MiB of address space mapped, within %llu MiB of the address-space "
                    "limit (ulimit -v) of %llu MiB: an allocation fails and a library waits or retries it forever "
                    "(train.memory_stall_timeout); raise the limit (the job's memory, `ulimit -v`), or lower "
                    "train.batch_size, the threads or the model",
                    int(stalled), (unsigned long long)(used / kMiB), (unsigned long long)(headroom / kMiB),
                    (unsigned long long)(limit / kMiB));
      try {
        on_stuck(msg);
      } catch (...) {  // recording it needed memory there was none of: say it at least
      }
      end_process_now(msg, 1);
    }
  }).detach();
}

namespace {
void write_stderr(const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(2, data + done, size - done);
    if (n <= 0) return;
    done += size_t(n);
  }
}
}  // namespace

void end_process_now(const char* message, int code) {
  std::fflush(nullptr);  // what the process printed before, first
  static const char kLead[] = "aimrun: error: ";
  write_stderr(kLead, sizeof kLead - 1);
  write_stderr(message, std::strlen(message));
  write_stderr("\n", 1);
  end_oom_watch();  // it said why itself
  _exit(code);
}

namespace {

// The number on the line "<key> N" of `file`; 0 when it has none or cannot be read.
uint64_t count_in(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

}  // namespace

std::string oom_events_file(const MemoryLimits& m) {
  if (m.cgroup_file.empty()) return "";
  const std::string dir = m.cgroup_file.substr(0, m.cgroup_file.rfind('/'));
  const bool v1 =
      m.cgroup_file.size() >= 21 && m.cgroup_file.compare(m.cgroup_file.size() - 21, 21, "memory.limit_in_bytes") == 0;
  return dir + (v1 ? "/memory.oom_control" : "/memory.events");
}

OomKills oom_kills() {
  OomKills out;
  out.machine = count_in("/proc/vmstat", "oom_kill");
  if (const std::string events = oom_events_file(memory_limits()); !events.empty())
    out.cgroup = count_in(events, "oom_kill");
  return out;
}

std::string oom_kill_cause(const OomKills& before) {
  const OomKills now = oom_kills();
  const MemoryLimits m = memory_limits();
  const std::string what = "killed (SIGKILL) by the kernel's out-of-memory killer";
  const std::string fix =
      ": raise the job's memory (sbatch --mem, the profile's `mem`) or lower train.batch_size, "
      "dataset.workers or `threads`";
  if (m.cgroup && now.cgroup > before.cgroup)
    return what + " (the cgroup memory limit of " + mib(m.cgroup) + " (" + m.cgroup_file + ") was reached)" + fix;
  if (now.machine > before.machine) return what + " (the machine ran out of memory)" + fix;
  return "";
}

}  // namespace aim
