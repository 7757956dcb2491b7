#pragma once
// Helpers shared by the tests: temporary folders, files, running the aimrun binary, the
// message an exception carries (error_of), waiting for a state (wait_until, wait_for_status),
// a process in the background (Background).
// The Slurm fixture is tests/slurm_test.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace aim::test {

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info ? info->test_suite_name() : "t") + "_" + (info ? info->name() : "t");
    for (auto& c : name)
      if (c == '/') c = '_';
    path_ = std::filesystem::temp_directory_path() / ("aimrun-test-" + name + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (!std::getenv("AIM_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_);
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Runs `a` and `b` at the same time; their outputs and exit codes.
inline std::pair<CommandResult, CommandResult> run_at_once(const std::string& a, const std::string& b) {
  CommandResult ra, rb;
  std::thread ta([&] { ra = run_command(a); });
  std::thread tb([&] { rb = run_command(b); });
  ta.join();
  tb.join();
  return {ra, rb};
}

inline std::string aimrun() { return AIMRUN_BIN; }

// The message of the exception of type E that `f` throws; "" when it throws none. An
// exception of another type goes through (and fails the test).
template <class E = std::exception, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The text of `path`, "" while it does not exist (a log a process has not opened yet, a
// file being replaced): for polls.
inline std::string text_or_empty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The files (and links) below `root`, relative to it.
inline std::vector<std::string> files_below(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(root);
       it != std::filesystem::recursive_directory_iterator(); ++it)
    if (!it->is_directory() || it->is_symlink()) out.push_back(std::filesystem::relative(it->path(), root).string());
  return out;
}

// Polls `done` every `poll_s` seconds until it is true (true) or `timeout_s` have passed
// (false; the caller says what it waited for).
inline bool wait_until(const std::function<bool()>& done, double timeout_s, double poll_s = 0.2) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    if (done()) return true;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) return false;
    std::this_thread::sleep_for(std::chrono::duration<double>(poll_s));
  }
}

// A command started in the background with its output to `log`: `bash -c "exec env
// COMMAND"` (COMMAND may begin with A=B assignments), so pid() is the command's own
// process, the one to stop, continue or kill; wait() its exit code. The choreography of a fault test (start,
// wait for a state, signal, start another, wait for its end) reads as C++ instead of a
// shell line. A process still running when the object goes (or when wait() times out) is
// killed with every process it started: it runs in a process group of its own, so a `sweep
// run` killed outright leaves no `aimrun train` training on beside the next tests.
class Background {
 public:
  Background(const std::string& command, const std::string& log) {
    const std::string line = "exec env " + command;  // made before fork: the child only execs
    pid_ = ::fork();
    if (pid_ > 0) ::setpgid(pid_, pid_);  // both sides: whichever runs first
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0 && ::dup2(fd, 1) >= 0 && ::dup2(fd, 2) >= 0)
        ::execl("/bin/bash", "bash", "-c", line.c_str(), (char*)nullptr);
      ::_exit(127);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (pid_ > 0 && !ended_) {
      ::kill(-pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  // Its exit code (128 + N for a signal N), once it ended; -1, and a failure at the caller's
  // line, when it is still running after `timeout_s` (it is then killed).
  int wait(double timeout_s) {
    if (ended_) return code_;
    int status = 0;
    const bool ended = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout_s, 0.05);
    if (!ended) {
      ADD_FAILURE() << "pid " << pid_ << " still running after " << timeout_s << " s: killed";
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    ended_ = true;
    return code_ = !ended ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int code_ = -1;
  bool ended_ = false;
};

struct StatusWait {
  bool reached = false;
  std::string seen;  // everything `sweep status` printed meanwhile
};

// Polls `aimrun sweep status SPEC` (run in `cwd` when given) every 2 s until its output
// contains `until` (e.g. "4 done"). A wait that times out fails at the line that called it,
// with the end of what status printed.
inline StatusWait wait_for_status(const std::string& spec, const std::string& until, int timeout_s,
                                  const std::string& cwd = "", const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
  StatusWait w;
  const std::string cmd =
      (cwd.empty() ? "" : "cd " + shell_quote(cwd) + " && ") + aimrun() + " sweep status " + shell_quote(spec);
  w.reached = wait_until(
      [&] {
        auto st = run_command(cmd);
        w.seen += st.output;
        return st.output.find(until) != std::string::npos;
      },
      timeout_s, 2.0);
  if (!w.reached)
    ADD_FAILURE_AT(file, line) << "no '" << until << "' in `sweep status " << spec << "` after " << timeout_s << " s:\n"
                               << w.seen.substr(w.seen.size() > 3000 ? w.seen.size() - 3000 : 0);
  return w;
}

// A small run on the built-in dataset (seconds per epoch), as the sweep, resume and Slurm
// tests train it; the YAML text, to which a test may append a `sweep:` section. A test of
// mechanics (which runs a sweep queues, skips, resumes) passes a smaller `train_size`: about
// 6 s of CPU per 1000 images and epoch.
inline std::string small_run_config(const std::string& output_dir, int epochs, int log_every = 0,
                                    int train_size = 3000) {
  return "output_dir: " + output_dir +
         "\n"
         "dataset: {train_size: " +
         std::to_string(train_size) +
         ", val_size: 200, test_size: 400}\n"
         "model: {width: 8}\n"
         "train: {epochs: " +
         std::to_string(epochs) + ", batch_size: 64, log_every: " + std::to_string(log_every) +
         "}\n"
         "eval: {attributions: [gradcam], keep_maps: 4, pictures: 0}\n";
}

}  // namespace aim::test

namespace aim::test {

// An executable stand-in <dir>/stub/<program> running the bash `body`; returns <dir>/stub,
// for the front of PATH.
inline std::string write_stub(const TempDir& dir, const std::string& program, const std::string& body) {
  std::filesystem::permissions(dir.write("stub/" + program, "#!/bin/bash\n" + body), std::filesystem::perms::owner_all);
  return dir.file("stub");
}

// "mpirun -np N" with what a 2-core CI machine (often as root) needs.
inline std::string mpirun(int ranks) {
  std::string cmd = "mpirun -np " + std::to_string(ranks) + " --oversubscribe";
  if (geteuid() == 0) cmd += " --allow-run-as-root";
  return cmd;
}

}  // namespace aim::test
