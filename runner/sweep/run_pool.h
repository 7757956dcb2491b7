#pragma once
// The children of `sweep run --jobs N` (docs/sweeps.md, "Runs at once"): up to N commands at
// once, each with its stdout and stderr through pipes to this process, which writes each
// whole line of them, prefixed with the child's tag, to its own stdout and stderr, so that no
// line mixes two runs. A stop sent to the sweep reaches every child (runner/sweep/child_stop.h).
// Single-threaded: a poll() loop reads the pipes and reaps the children (waitpid WNOHANG).
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace aim {

class RunPool {
 public:
  struct Ended {
    size_t key = 0;     // the key it was started with
    int exit_code = 0;  // its exit code, or 128 + N for a signal N
  };

  RunPool() = default;
  ~RunPool();  // a child still running is waited for (its output still forwarded)
  RunPool(const RunPool&) = delete;
  RunPool& operator=(const RunPool&) = delete;

  // Starts argv (searched in PATH) with the environment `env` ("NAME=value" each); its lines
  // go out as "<tag>line". Throws aim::Error when it cannot be started.
  void start(size_t key, const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::string& tag);
  size_t running() const { return children_.size(); }
  bool runs(size_t key) const;
  std::vector<size_t> keys() const;  // of the children running
  // Forwards the children's output until one ends (all its output written); that one. Only
  // while running() > 0.
  Ended wait_one();

 private:
  struct Stream {
    int fd = -1;          // read end of the pipe; -1 once at its end
    std::string pending;  // a line not ended yet
  };
  struct Child {
    size_t key = 0;
    pid_t pid = -1;
    std::string tag;
    Stream out, err;
  };
  void read_from(Child& child, Stream& stream, bool to_stderr);
  void end_of(Child& child);
  std::vector<Child> children_;
};

// The environment of this process with OMP_NUM_THREADS=threads (in place of its own value,
// if it has one: the runs get the number the sweep logs).
std::vector<std::string> environment_with_threads(int threads);

// The cores this process may run on (sched_getaffinity; at least 1).
int usable_cores();

}  // namespace aim
