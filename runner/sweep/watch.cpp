#include "runner/sweep/watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "runner/session_ledger.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/slurm_executor.h"
#include "runner/sweep/slurm_rounds.h"

namespace aim {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

std::string fmt_eta(double s) { return s < 0 ? "-" : format_duration(s); }

std::string fmt_num(double v, const char* f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::vector<std::string> row_of(size_t i, const WatchedRun& r) {
  std::vector<std::string> row = {std::to_string(i + 1), r.run_id, r.state};
  bool live = r.has_progress && (r.state == "running" || r.state == "queued");
  row.push_back(r.has_progress ? std::to_string(r.epoch) + "/" + std::to_string(r.epochs) : "-");
  row.push_back(r.has_progress ? std::to_string(r.step) + "/" + std::to_string(r.steps_per_epoch) : "-");
  row.push_back(r.has_progress ? fmt_num(r.loss, "%.4f") : "-");
  row.push_back(live ? fmt_num(r.images_per_s, "%.0f") : "-");
  row.push_back(live ? fmt_eta(r.eta_s) : "-");
  row.push_back(r.detail);
  return row;
}

std::string totals_line(const SweepTotals& t, size_t n) {
  std::vector<std::string> parts;
  for (const char* k : {"done", "running", "queued", "stopped", "failed", "pending", "unreadable"})
    if (t.count.count(k)) parts.push_back(std::to_string(t.count.at(k)) + " " + k);
  return std::to_string(n) + " runs: " + join(parts, ", ") + "; sweep ETA " + fmt_eta(t.eta_s);
}

void print_table(const Sweep& sweep, const std::vector<WatchedRun>& runs, const SweepTotals& t, std::ostream& out) {
  std::vector<std::string> header = {"#", "run-id", "state", "epoch", "step", "loss", "img/s", "ETA", "detail"};
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < runs.size(); ++i) rows.push_back(row_of(i, runs[i]));
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) out << r[i] << std::string(w[i] - r[i].size() + 2, ' ');
    out << "\n";
  };
  out << "sweep " << sweep.name << " (" << sweep.sweep_dir() << ")\n";
  line(header);
  for (const auto& r : rows) line(r);
  out << totals_line(t, runs.size()) << "\n";
}

std::string clock_now() {
  std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

// Log mode: the runs whose state, epoch or step changed since the last refresh, then the
// totals (when something changed, and at least once a minute).
void print_changes(const std::vector<WatchedRun>& runs, std::map<std::string, std::string>& last,
                   const SweepTotals& t, std::ostream& out) {
  const std::string now = clock_now();
  static auto last_totals = std::chrono::steady_clock::now() - std::chrono::hours(1);
  bool changed = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto row = row_of(i, runs[i]);
    std::string key = runs[i].state + " " + row[3] + " " + row[4];
    if (last[runs[i].run_id] == key) continue;
    last[runs[i].run_id] = key;
    changed = true;
    out << now << " [" << row[0] << "/" << runs.size() << "] " << row[1] << " " << row[2];
    if (runs[i].has_progress) out << " epoch " << row[3] << " step " << row[4] << " loss " << row[5];
    if (row[6] != "-") out << " " << row[6] << " img/s ETA " << row[7];
    if (!row[8].empty()) out << " (" << row[8] << ")";
    out << "\n";
  }
  if (changed || std::chrono::steady_clock::now() - last_totals > std::chrono::minutes(1)) {
    out << now << " " << totals_line(t, runs.size()) << "\n";
    last_totals = std::chrono::steady_clock::now();
  }
  out.flush();
}

// A sweep with rounds (sweep.seeds) or rungs (sweep.search) submitted to Slurm: its round job
// in the queue ("<job> <state>", "" when none). Between rounds nothing of the sweep's arrays
// is queued while the round job waits or runs, and it queues the next round before it ends.
std::string round_job_in_queue(const Sweep& sweep, std::string* error) {
  const std::string dir = sweep.sweep_dir() + "/slurm";
  if ((!sweep.seeds && !sweep.search) || !std::filesystem::exists(dir)) return "";
  try {
    const auto jobs = queued_round_jobs(sweep, std::filesystem::absolute(dir).string());
    return jobs.empty() ? "" : jobs.front().first + " " + jobs.front().second;
  } catch (const Error& e) {
    *error = e.what();
    return "";
  }
}

// How a watch of a sweep with rounds or rungs ends: decided, or undecided with nothing queued
// and why (the runs that did not end done, each with its cause, or what the rounds wait for).
std::string rounds_end(const Sweep& sweep) {
  if (!sweep.seeds && !sweep.search) return "";
  const auto p = round_progress(sweep);
  const std::string what = sweep.seeds ? "the rounds are" : "the search is";
  if (p.finished) return what + " decided" + (p.waiting.empty() ? "" : " as far as they can be: " + p.waiting) + "\n";
  const std::string failures = round_failures(sweep);
  return what + " not decided (" + p.name + ") and nothing of the sweep is queued or running: " +
         (failures.empty() ? (p.waiting.empty() ? "no run of it is left to train here" : p.waiting)
                           : "runs that did not end done:\n" + failures) +
         "\n(`aimrun sweep submit` or `sweep run` of the spec trains them and goes on)\n";
}

}  // namespace

std::vector<WatchedRun> observe_sweep(const Sweep& sweep, bool slurm, std::string* slurm_error) {
  std::map<std::string, SlurmElement> in_slurm;
  if (slurm) in_slurm = slurm_run_states(sweep, slurm_error);
  const bool local_runner = is_locked_by_other(sweep_run_lock_path(sweep));
  std::vector<WatchedRun> out;
  for (const auto& run : sweep.runs) {
    RunPaths paths{sweep.run_dir(run.run_id)};
    auto status = inspect_run(paths);
    WatchedRun w;
    w.run_id = run.run_id;
    w.state = to_string(status.state);
    w.detail = status.detail;
    if (!run.settled.empty() && status.state != RunState::Done && status.state != RunState::Running) {
      w.state = "stopped";  // a search's run at the rung it was not promoted from, or diverged
      w.detail = run.settled;
    } else if (status.state != RunState::Done) {
      auto it = in_slurm.find(run.run_id);
      if (it != in_slurm.end()) {
        w.state = it->second.state == "RUNNING" || it->second.state == "COMPLETING" ? "running" : "queued";
        w.detail = "slurm " + it->second.id + " " + it->second.state + (w.detail.empty() ? "" : "; " + w.detail);
      } else if (status.state == RunState::Pending && local_runner) {
        w.state = "queued";
      }
    }
    ProgressInfo p;
    if (read_progress(paths, p)) {
      w.has_progress = true;
      w.epoch = p.epoch;
      w.epochs = p.epochs;
      w.step = p.step;
      w.steps_per_epoch = p.steps_per_epoch;
      w.loss = p.loss;
      w.images_per_s = p.images_per_s;
      w.eta_s = p.eta_s;
      w.train_seconds = p.train_seconds;
    }
    out.push_back(w);
  }
  return out;
}

SweepTotals sweep_totals(const std::vector<WatchedRun>& runs) {
  SweepTotals t;
  double done_time = 0, running_total = 0, running_left = 0;
  int timed_done = 0, timed_running = 0;
  for (const auto& r : runs) {
    t.count[r.state]++;
    if (r.state == "done" && r.has_progress && r.train_seconds > 0) {
      done_time += r.train_seconds;
      ++timed_done;
    }
    if (r.state == "running" && r.has_progress && r.eta_s >= 0) {
      running_left += r.eta_s;
      running_total += r.train_seconds + r.eta_s;
      ++timed_running;
    }
  }
  const int running = t.count.count("running") ? t.count.at("running") : 0;
  const int queued = t.count.count("queued") ? t.count.at("queued") : 0;
  double per_run = timed_done ? done_time / timed_done : timed_running ? running_total / timed_running : -1;
  if (running + queued == 0) {
    t.eta_s = 0;
    return t;
  }
  if (per_run < 0 || timed_running < running) return t;  // nothing measured yet
  t.eta_s = (running_left + queued * per_run) / std::max(1, running);
  return t;
}

int watch_sweep(const Sweep& planned, const WatchOptions& options) {
  Sweep sweep = planned;  // played again from the run folders at every refresh (rounds, rungs)
  g_interrupted = 0;
  auto old_int = std::signal(SIGINT, on_interrupt);
  auto old_term = std::signal(SIGTERM, on_interrupt);
  std::map<std::string, std::string> last;
  int failed = 0;
  for (int n = 1;; ++n) {
    std::string slurm_error;
    if (n > 1) replan_sweep(sweep);
    auto runs = observe_sweep(sweep, options.slurm, &slurm_error);
    auto totals = sweep_totals(runs);
    failed = totals.count.count("failed") ? totals.count.at("failed") : 0;
    if (options.redraw) {
      std::ostringstream frame;
      print_table(sweep, runs, totals, frame);
      std::cout << "\033[H\033[2J" << frame.str() << "refreshed " << clock_now() << ", every "
                << format_double(options.interval_s) << " s; Ctrl-C to stop\n"
                << std::flush;
    } else {
      print_changes(runs, last, totals, std::cout);
    }
    int active = (totals.count.count("running") ? totals.count.at("running") : 0) +
                 (totals.count.count("queued") ? totals.count.at("queued") : 0);
    // A round job of the sweep queues the next round (rung): watching on while it waits or runs.
    const std::string round_job = options.slurm ? round_job_in_queue(sweep, &slurm_error) : "";
    if (!round_job.empty() && active == 0) {
      if (!options.redraw)
        std::cout << clock_now() << " round job " << round_job << ": it queues the next " << round_progress(sweep).name
                  << " once it runs\n"
                  << std::flush;
      active = 1;
    }
    // Without squeue the queue is unknown: not a reason to stop watching.
    if (!slurm_error.empty()) {
      std::cout << clock_now() << " " << slurm_error << ": the queue is not known; watching on\n" << std::flush;
      active = std::max(active, 1);
    }
    if (active == 0 || (options.max_refreshes && n >= options.max_refreshes) || g_interrupted) break;
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.interval_s);
    while (!g_interrupted && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_interrupted) break;
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (g_interrupted) return -1;
  std::cout << "sweep " << sweep.name << ": nothing running or queued"
            << (failed ? ", " + std::to_string(failed) + " failed" : "") << "\n"
            << rounds_end(sweep);
  return failed;
}

}  // namespace aim
