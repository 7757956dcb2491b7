#include "runner/sweep/local_executor.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/files.h"
#include "core/memory_limit.h"
#include "core/strings.h"
#include "results/run_folder.h"
#include "runner/aimrun_path.h"
#include "runner/rung_result.h"
#include "runner/sweep/child_stop.h"
#include "runner/sweep/run_pool.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/upstream.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

std::string self_executable() { return aimrun_executable("aimrun"); }

}  // namespace

std::vector<std::string> train_command(const std::string& run_dir, int ranks, int64_t budget) {
  std::vector<std::string> cmd;
  if (ranks > 1) {
    cmd = {"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
    if (geteuid() == 0) cmd.push_back("--allow-run-as-root");
  }
  RunPaths paths{run_dir};
  for (const auto& a : {self_executable(), std::string("train"), paths.config(), std::string("--run-dir"), run_dir})
    cmd.push_back(a);
  if (budget > 0) cmd.insert(cmd.end(), {"--stop-after-epoch", std::to_string(budget)});
  return cmd;
}

namespace {

// <sweep>/<run-id> -> ../runs/<run-id>. Made under a temporary name and renamed over the
// final one, so two commands preparing the same sweep at once both succeed (a rename over
// a link is atomic), and a link to somewhere else is corrected.
void link_run(const fs::path& link, const fs::path& target) {
  std::error_code ec;
  if (fs::read_symlink(link, ec) == target) return;
  fs::path tmp = link.parent_path() / ("." + link.filename().string() + ".tmp-" + std::to_string(getpid()));
  fs::remove(tmp, ec);
  fs::create_directory_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(link.string() + ": cannot create link: " + ec.message());
  }
}

// Links of the sweep folder to runs the sweep no longer has (its file changed since they
// were made) are removed, so that the folder, and a report of it, is the sweep as it is now;
// their run folders stay in <output_dir>/runs. Only links to ../runs/<name> are touched.
void unlink_runs_not_in(const Sweep& sweep) {
  std::set<std::string> ids;
  for (const auto& run : sweep.runs) ids.insert(run.run_id);
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(sweep.sweep_dir(), ec)) {
    const std::string name = e.path().filename().string();
    std::error_code lec;
    if (ids.count(name) || !e.is_symlink(lec)) continue;
    if (fs::read_symlink(e.path(), lec) != fs::path("../runs") / name) continue;
    if (fs::remove(e.path(), lec)) removed.push_back(name);
  }
  if (!removed.empty())
    spdlog::warn("sweep {}: {} run(s) no longer in {} unlinked from {} (their folders stay in {}/runs): {}", sweep.name,
                 removed.size(), sweep.spec_path, sweep.sweep_dir(), sweep.output_dir, join(removed, " "));
}

}  // namespace

void prepare_sweep_dirs(const Sweep& sweep) {
  ensure_dir(sweep.sweep_dir());
  ensure_dir(sweep.output_dir + "/runs");
  write_text_atomic(sweep.sweep_dir() + "/sweep.yaml", read_text(sweep.spec_path));
  for (const auto& run : sweep.runs) {
    RunPaths paths{sweep.run_dir(run.run_id)};
    ensure_dir(paths.dir);
    if (!fs::exists(paths.config())) write_text_atomic(paths.config(), run.config.to_yaml());
    link_run(fs::path(sweep.sweep_dir()) / run.run_id, fs::path("../runs") / run.run_id);
  }
  unlink_runs_not_in(sweep);
}

namespace {

// Waiting: its upstream run is being trained by another process.
enum class Outcome { Trained, Skipped, Failed, Elsewhere, Waiting, Stopped };

struct Tally {
  int trained = 0, skipped = 0, failed = 0;
  std::vector<std::string> failures;
};

std::string axes_label(const SweepRun& run) {
  std::vector<std::string> v;
  if (!run.stage.empty()) v.push_back("stage " + run.stage);
  for (const auto& [k, val] : run.axes) v.push_back(k + "=" + val);
  return join(v, " ");
}

std::string where_of(const Sweep& sweep, size_t i) {
  return fmt::format("[{}/{}] {}", i + 1, sweep.runs.size(), sweep.runs[i].run_id);
}

// Run i of the sweep before it is trained: skipped when done, left alone while another process
// trains it, failed when its upstream run failed; nothing (to be trained here) otherwise.
// `after_wait`: another process was training it and has stopped; a run that failed there is
// reported, not trained again at once.
std::optional<Outcome> decide(const Sweep& sweep, size_t i, const LocalRunOptions& options, bool after_wait,
                              Tally& tally) {
  const auto& run = sweep.runs[i];
  RunPaths paths{sweep.run_dir(run.run_id)};
  const auto status = inspect_run(paths);
  const std::string where = where_of(sweep, i);
  const std::string label = axes_label(run);
  if (!run.settled.empty() && status.state != RunState::Running) {  // a search's run at its rung
    spdlog::info("{} ({}) {}, skipped", where, label, run.settled);
    ++tally.skipped;
    return Outcome::Skipped;
  }
  if (status.state == RunState::Done) {
    spdlog::info("{} {} ({}), skipped", where, after_wait ? "done by another process" : "done already", label);
    ++tally.skipped;
    return Outcome::Skipped;
  }
  if (status.state == RunState::Running) {
    spdlog::info("{} is running in another process ({}): left to it", where, label);
    return Outcome::Elsewhere;
  }
  if (status.state == RunState::Failed && (after_wait || !options.retry_failed)) {
    ++tally.failed;
    tally.failures.push_back(run.run_id + " (" + label + "): " + status.detail +
                             (after_wait ? " (in another process)" : ""));
    return Outcome::Failed;
  }
  if (!run.upstream.empty()) {
    const std::string up = sweep.run_dir(run.upstream);
    if (inspect_run(RunPaths{up}).state == RunState::Running) {
      spdlog::info("{} ({}) waits for its upstream run {}, running in another process", where, label, run.upstream);
      return Outcome::Waiting;
    }
    if (auto why = upstream_problem(up); !why.empty()) {
      mark_failed(paths, why);
      spdlog::error("{} ({}) not trained: {}", where, label, why);
      ++tally.failed;
      tally.failures.push_back(run.run_id + " (" + label + "): " + why);
      return Outcome::Failed;
    }
  }
  spdlog::info("{} {}{}", where, label, status.detail.empty() ? "" : " (" + status.detail + ")");
  if (run.budget > 0) spdlog::info("{} trains to its rung, epoch {}", where, run.budget);
  return std::nullopt;
}

// Run i of the sweep after its `aimrun train` ended with exit code rc; `oom_before`: the OOM
// killer's counts when it started.
Outcome judge(const Sweep& sweep, size_t i, int rc, const OomKills& oom_before, Tally& tally) {
  const auto& run = sweep.runs[i];
  RunPaths paths{sweep.run_dir(run.run_id)};
  const std::string label = axes_label(run);
  if (rc == kExitBusy) {
    spdlog::info("{} was started by another process meanwhile: left to it", where_of(sweep, i));
    return Outcome::Elsewhere;
  }
  if (rc == kExitOk && (run.budget > 0 ? read_rung_result(paths, run.budget, run.run_id).has_value()
                                       : inspect_run(paths).state == RunState::Done)) {
    ++tally.trained;
    return Outcome::Trained;
  }
  ++tally.failed;
  // A stop sent to the sweep was passed on to the run (runner/sweep/child_stop.h): however
  // the run ended (75 with a checkpoint; killed by the stop before its handlers were in place).
  if (rc == kExitStopped || child_stop_signal() != 0) {
    tally.failures.push_back(run.run_id + " (" + label + "): stopped by a signal, with a checkpoint");
    spdlog::warn("run {} was stopped by a signal (exit code {}): the sweep stops here; `sweep run` again resumes it",
                 run.run_id, kExitStopped);
    return Outcome::Stopped;
  }
  if (rc == 128 + SIGKILL)  // no word of its own: the OOM killer's counts tell (and FAILED keeps it for status)
    if (auto cause = oom_kill_cause(oom_before); !cause.empty()) mark_failed(paths, cause);
  auto after = inspect_run(paths);
  tally.failures.push_back(run.run_id + " (" + label + "): exit code " + std::to_string(rc) +
                           (after.detail.empty() ? "" : ": " + after.detail));
  spdlog::error("run {} failed with exit code {}", run.run_id, rc);
  return Outcome::Failed;
}

// Run i of the sweep: decided, and trained here (the child's output straight to ours) when
// nothing else was decided.
Outcome run_one(const Sweep& sweep, size_t i, const LocalRunOptions& options, bool after_wait, Tally& tally) {
  if (auto outcome = decide(sweep, i, options, after_wait, tally)) return *outcome;
  const auto& run = sweep.runs[i];
  const OomKills oom_before = oom_kills();
  const int rc = spawn_and_wait(train_command(sweep.run_dir(run.run_id), options.ranks, run.budget));
  return judge(sweep, i, rc, oom_before, tally);
}

// Waits until no run of `elsewhere` is running in another process any more, taking each
// as it ends: done there, failed there, or pending again (that process was stopped): then
// trained here. A run of `waiting` is trained (or marked failed) once the upstream run it
// waits for has ended in the other process.
void wait_for_others(const Sweep& sweep, std::vector<size_t> elsewhere, std::vector<size_t> waiting,
                     const LocalRunOptions& options, Tally& tally) {
  auto last_note = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while ((!elsewhere.empty() || !waiting.empty()) && child_stop_signal() == 0) {
    if (std::chrono::steady_clock::now() - last_note > std::chrono::minutes(5)) {
      spdlog::info("sweep {}: waiting for {} run(s) running in another process (--no-wait: do not wait)", sweep.name,
                   elsewhere.size() + waiting.size());
      last_note = std::chrono::steady_clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.poll_ms));
    std::vector<size_t> still, still_waiting;
    // Takes each run of `queue` whose blocker (its own folder for `elsewhere`, its upstream's
    // for `waiting`) no longer trains; false when the sweep must stop.
    auto take = [&](const std::vector<size_t>& queue, bool own, std::vector<size_t>& busy) {
      for (size_t i : queue) {
        const auto& blocker = own ? sweep.runs[i].run_id : sweep.runs[i].upstream;
        if (inspect_run(RunPaths{sweep.run_dir(blocker)}).state == RunState::Running) {
          busy.push_back(i);
          continue;
        }
        auto outcome = run_one(sweep, i, options, own, tally);
        if (outcome == Outcome::Elsewhere) still.push_back(i);
        if (outcome == Outcome::Waiting) still_waiting.push_back(i);
        if ((outcome == Outcome::Failed && options.fail_fast) || outcome == Outcome::Stopped) return false;
      }
      return true;
    };
    // `waiting` in the sweep's order: a run's upstream run comes before it.
    if (!take(elsewhere, true, still) || !take(waiting, false, still_waiting)) return;
    elsewhere = std::move(still);
    waiting = std::move(still_waiting);
  }
}

}  // namespace

std::string sweep_run_lock_path(const Sweep& sweep) { return sweep.sweep_dir() + "/.sweep-run.lock"; }

SweepRunHold::SweepRunHold(const Sweep& sweep) {
  ensure_dir(sweep.sweep_dir());
  const std::string path = sweep_run_lock_path(sweep);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ >= 0 && ::flock(fd_, LOCK_SH) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

SweepRunHold::~SweepRunHold() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// One pass over the sweep's runs: what was trained, skipped, failed, left to other processes.
struct Pass {
  Tally tally;
  std::vector<size_t> elsewhere, waiting;
  bool stopped = false;

  // Keeps run i's outcome; false when no run may start after it (a stop; a failure with --fail-fast).
  bool note(size_t i, Outcome outcome, const LocalRunOptions& options) {
    if (outcome == Outcome::Elsewhere) elsewhere.push_back(i);
    if (outcome == Outcome::Waiting) waiting.push_back(i);
    stopped = stopped || outcome == Outcome::Stopped;
    return !stopped && !(outcome == Outcome::Failed && options.fail_fast);
  }
};

// The runs one after another, each child's output straight to ours. Stage by stage:
// sweep.runs holds each stage's runs after those of the stages before.
void train_in_turn(const Sweep& sweep, const LocalRunOptions& options, Pass& pass) {
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    if (child_stop_signal() != 0) {  // between runs: none is started after a stop
      pass.stopped = true;
      return;
    }
    if (!pass.note(i, run_one(sweep, i, options, false, pass.tally), options)) return;
  }
}

// The threads of each of `jobs` runs at once: the cores this process may use shared out,
// unless OMP_NUM_THREADS gives a whole number above 0. Any other value of it is named and
// replaced in the runs' environment by the number logged (it was passed on, and each run
// then took every core while the log said otherwise).
int threads_per_run(const LocalRunOptions& options) {
  const int shared = std::max(1, usable_cores() / (options.jobs * options.ranks));
  const char* v = std::getenv("OMP_NUM_THREADS");
  if (!v) return shared;
  const std::string text = v;
  if (!text.empty() && text.size() <= 6 && text.find_first_not_of("0123456789") == std::string::npos &&
      std::stoi(text) > 0)
    return std::stoi(text);
  spdlog::warn("OMP_NUM_THREADS={} is not a whole number above 0: each run gets {} thread(s) instead", text, shared);
  return shared;
}

// Whether run i must wait for the runs of the pool: it begins a new stage, or its upstream
// run trains in the pool.
bool waits_for_pool(const Sweep& sweep, size_t i, const RunPool& pool) {
  if (i > 0 && sweep.runs[i].stage != sweep.runs[i - 1].stage) return true;
  const std::string& up = sweep.runs[i].upstream;  // the pool's runs, not the sweep's: linear in the runs
  if (up.empty()) return false;
  for (size_t key : pool.keys())
    if (sweep.runs[key].run_id == up) return true;
  return false;
}

// Up to options.jobs runs at once (runner/sweep/run_pool.h), started in the sweep's order,
// each child's lines tagged with its run; after a stop or a failure with --fail-fast none is
// started, and those running are waited for.
void train_at_once(const Sweep& sweep, const LocalRunOptions& options, Pass& pass) {
  const int threads = threads_per_run(options);
  const auto env = environment_with_threads(threads);
  spdlog::info("sweep {}: {} runs at once, {} thread(s) each", sweep.name, options.jobs, threads);
  RunPool pool;
  std::map<size_t, OomKills> oom_before;
  bool go_on = true;
  auto take_one = [&] {
    const auto ended = pool.wait_one();
    const auto outcome = judge(sweep, ended.key, ended.exit_code, oom_before.at(ended.key), pass.tally);
    go_on = pass.note(ended.key, outcome, options) && go_on;
  };
  for (size_t i = 0; i < sweep.runs.size() && go_on; ++i) {
    while (pool.running() > 0 && (pool.running() >= size_t(options.jobs) || waits_for_pool(sweep, i, pool))) take_one();
    if (child_stop_signal() != 0) pass.stopped = true;  // none is started after a stop
    if (pass.stopped || !go_on) break;
    if (auto outcome = decide(sweep, i, options, false, pass.tally)) {
      go_on = pass.note(i, *outcome, options);
      continue;
    }
    const auto& run = sweep.runs[i];
    oom_before[i] = oom_kills();
    pool.start(i, train_command(sweep.run_dir(run.run_id), options.ranks, run.budget), env,
               fmt::format("[{}/{}] ", i + 1, sweep.runs.size()));  // the sweep's "[k/n] <run id>" line names it
  }
  while (pool.running() > 0) take_one();
}

}  // namespace

int run_sweep_locally(const Sweep& sweep, const LocalRunOptions& options) {
  prepare_sweep_dirs(sweep);
  SweepRunHold hold(sweep);
  Pass pass;
  const auto start = std::chrono::steady_clock::now();
  if (options.jobs > 1)
    train_at_once(sweep, options, pass);
  else
    train_in_turn(sweep, options, pass);
  auto& tally = pass.tally;
  auto& elsewhere = pass.elsewhere;
  const bool stopped = pass.stopped || (options.fail_fast && tally.failed > 0);
  if (options.wait_for_others && !stopped) {
    wait_for_others(sweep, elsewhere, pass.waiting, options, tally);
    elsewhere.clear();
    pass.waiting.clear();
  }
  elsewhere.insert(elsewhere.end(), pass.waiting.begin(), pass.waiting.end());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("sweep {}: {} trained, {} skipped, {} failed, in {}{}", sweep.name, tally.trained, tally.skipped,
               tally.failed, format_duration(secs),
               elsewhere.empty() ? "" : fmt::format("; {} left running in another process", elsewhere.size()));
  for (const auto& f : tally.failures) spdlog::error("failed: {}", f);
  return tally.failed;
}

}  // namespace aim
