// aimrun summarize DIR: writes the run summaries (results/run_summary.h) that are missing,
// fail a check, or were written for a result.h5 whose mtime has changed since (a copy).
#include <filesystem>
#include <iostream>

#include "core/file_lock.h"
#include "core/log.h"
#include "results/found_runs.h"
#include "results/run_summary.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"

namespace fs = std::filesystem;

namespace aim::cli {

namespace {

struct Tally {
  int written = 0, restamped = 0, valid = 0, busy = 0, failed = 0;
};

// One run folder: its summary written again where it needs it, under the run's lock.
void summarize_run(const RunPaths& paths, bool check_only, Tally& t) {
  auto read = results::read_run_summary(paths);
  if (read.ok && !read.restamp) return void(t.valid++);
  if (check_only) {
    std::cout << (read.ok ? "stale stamp: " : "needs a summary: ") << paths.dir
              << (read.ok ? "" : " (" + read.why + ")") << "\n";
    return void(read.ok ? t.restamped++ : t.written++);
  }
  FileLock lock;
  if (!lock.try_lock(paths.lock())) return void(t.busy++);
  try {
    if (read.ok) results::restamp_run_summary(paths, read), t.restamped++;
    else results::rebuild_run_summary(paths), t.written++;
  } catch (const std::exception& e) {
    std::cerr << paths.dir << ": " << e.what() << "\n";
    t.failed++;
  }
}

}  // namespace

void add_summarize_command(CLI::App& app) {
  struct Args {
    std::string dir;
    bool check = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "summarize", command_help("summarize"));
  cmd->add_option("dir", args->dir, "a sweep folder or any folder of runs")->required()->check(CLI::ExistingDirectory);
  cmd->add_flag("--check", args->check, "only list the runs that need one (exit 3 when there are any)");
  cmd->callback([args] {
    Tally t;
    for (const auto& r : results::find_runs(args->dir)) {
      if (r.state != "done" || r.path.find(":/runs/") != std::string::npos) continue;
      const fs::path result(r.path);
      if (result.filename() != "result.h5") continue;  // a file outside a run folder
      summarize_run(RunPaths{result.parent_path().string()}, args->check, t);
    }
    spdlog::info("{}: {} summaries {}, {} {}, {} valid already{}{}", args->dir, t.written,
                 args->check ? "missing or failing a check" : "written", t.restamped,
                 args->check ? "with a stale stamp" : "stamped again", t.valid,
                 t.busy ? fmt::format(", {} runs being trained left alone", t.busy) : "",
                 t.failed ? fmt::format(", {} failed (above)", t.failed) : "");
    if (t.failed) exit_code() = kExitError;
    else if (args->check && (t.written || t.restamped)) exit_code() = kExitPartial;
  });
}

}  // namespace aim::cli
