#include "runner/sweep/local_executor.h"

#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "runner/run_paths.h"
#include "runner/sweep/run_state.h"

extern char** environ;
namespace fs = std::filesystem;

namespace aim {

namespace {

std::string self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("aimrun") : p.string();
}

int spawn_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) throw Error("cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("waitpid failed: " + std::string(std::strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

std::vector<std::string> train_command(const std::string& run_dir, int ranks) {
  std::vector<std::string> cmd;
  if (ranks > 1) {
    cmd = {"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
    if (geteuid() == 0) cmd.push_back("--allow-run-as-root");
  }
  RunPaths paths{run_dir};
  for (const auto& a : {self_executable(), std::string("train"), paths.config(), std::string("--run-dir"), run_dir})
    cmd.push_back(a);
  return cmd;
}

void prepare_sweep_dirs(const Sweep& sweep) {
  ensure_dir(sweep.sweep_dir());
  ensure_dir(sweep.output_dir + "/runs");
  write_text_atomic(sweep.sweep_dir() + "/sweep.yaml", read_text(sweep.spec_path));
  for (const auto& run : sweep.runs) {
    RunPaths paths{sweep.run_dir(run.run_id)};
    ensure_dir(paths.dir);
    if (!fs::exists(paths.config())) write_text_atomic(paths.config(), run.config.to_yaml());
    fs::path link = fs::path(sweep.sweep_dir()) / run.run_id;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(link))) fs::create_directory_symlink(fs::path("../runs") / run.run_id, link, ec);
    if (ec) throw Error(link.string() + ": cannot create link: " + ec.message());
  }
}

int run_sweep_locally(const Sweep& sweep, const LocalRunOptions& options) {
  prepare_sweep_dirs(sweep);
  int failed = 0, done = 0, skipped = 0;
  std::vector<std::string> failures;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const auto& run = sweep.runs[i];
    RunPaths paths{sweep.run_dir(run.run_id)};
    auto status = inspect_run(paths);
    std::string label = join([&] {
      std::vector<std::string> v;
      for (const auto& [k, val] : run.axes) v.push_back(k + "=" + val);
      return v;
    }(), " ");
    if (status.state == RunState::Done) {
      spdlog::info("[{}/{}] {} done already ({}), skipped", i + 1, sweep.runs.size(), run.run_id, label);
      ++skipped;
      continue;
    }
    if (status.state == RunState::Running) {
      spdlog::warn("[{}/{}] {} is running in another process, skipped", i + 1, sweep.runs.size(), run.run_id);
      ++skipped;
      continue;
    }
    if (status.state == RunState::Failed && !options.retry_failed) {
      ++failed;
      failures.push_back(run.run_id + " (" + label + "): " + status.detail);
      continue;
    }
    spdlog::info("[{}/{}] {} {}{}", i + 1, sweep.runs.size(), run.run_id, label,
                 status.detail.empty() ? "" : " (" + status.detail + ")");
    int rc = spawn_and_wait(train_command(paths.dir, options.ranks));
    if (rc == 0 && inspect_run(paths).state == RunState::Done) {
      ++done;
      continue;
    }
    ++failed;
    auto after = inspect_run(paths);
    failures.push_back(run.run_id + " (" + label + "): exit code " + std::to_string(rc) +
                       (after.detail.empty() ? "" : ": " + after.detail));
    spdlog::error("run {} failed with exit code {}", run.run_id, rc);
    if (options.fail_fast) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("sweep {}: {} trained, {} skipped, {} failed, in {}", sweep.name, done, skipped, failed,
               format_duration(secs));
  for (const auto& f : failures) spdlog::error("failed: {}", f);
  return failed;
}

}  // namespace aim
