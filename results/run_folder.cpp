#include "results/run_folder.h"

#include <filesystem>

#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "results/checked_read.h"
#include "results/run_summary.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

// The first line of FAILED ("" when it cannot be read: it may be being replaced).
std::string failed_reason(const RunPaths& paths) {
  try {
    auto text = trim(read_text(paths.failed()));
    return text.substr(0, text.find('\n'));
  } catch (...) {
    return "";
  }
}

}  // namespace

RunPaths run_folder(const std::string& output_dir, const std::string& run_id) {
  return RunPaths{output_dir + "/runs/" + run_id};
}

bool is_run_folder(const std::string& dir) {
  const RunPaths paths{dir};
  return fs::exists(paths.config()) || fs::exists(paths.result());
}

std::string to_string(RunState state) {
  switch (state) {
    case RunState::Done:
      return "done";
    case RunState::Running:
      return "running";
    case RunState::Unreadable:
      return "unreadable";
    case RunState::Failed:
      return "failed";
    case RunState::Pending:
      return "pending";
  }
  return "?";
}

namespace {

// A folder's result.h5: done (with its record) or damaged (with why). Its summary, where it
// is whole, decides: bound to result.h5, the run is done (at depth Summary its record is
// the summary's); whole but not bound, result.h5 changed after the run finished and is
// never read as the run's. Otherwise result.h5 itself is read in full.
bool read_result(const RunPaths& paths, ResultDepth depth, RunFolderState& s) {
  const bool has_summary = fs::exists(paths.summary());
  if (depth != ResultDepth::Full || has_summary) {
    auto summary = results::read_run_summary(paths, depth != ResultDepth::State);
    s.bound_to_summary = summary.ok;
    if (summary.ok && depth != ResultDepth::Full) {
      s.record = std::move(summary.record);
      return true;
    }
    if (summary.result_mismatch) {
      s.detail = "result.h5 and summary.json disagree: one was damaged or replaced after the run finished (" +
                 summary.why + "); " + train_again_command(paths) +
                 " writes both anew (from its checkpoint where it has one)";
      return false;
    }
    if (!summary.ok) s.summary_problem = summary.why, s.summary_missing = summary.missing;
  }
  auto found = results::read_h5_checked(paths.result(), true).front();  // one run: a run folder's file
  if (found.state != "done") {
    s.summary_problem.clear();  // the run is not done: that is what matters
    s.summary_missing = false;
    s.detail = found.detail;
    return false;
  }
  s.record = std::move(found.record);
  return true;
}

}  // namespace

RunFolderState inspect_run_folder(const RunPaths& paths, ResultDepth depth) {
  RunFolderState s;
  s.has_checkpoint = fs::exists(paths.checkpoint());
  bool damaged = false;
  if (fs::exists(paths.result())) {
    if (read_result(paths, depth, s)) {
      s.state = RunState::Done;
      return s;
    }
    damaged = true;
  }
  if (is_locked_by_other(paths.lock())) {
    s.state = RunState::Running;
    s.detail.clear();
  } else if (damaged) {
    s.state = RunState::Unreadable;
  } else if (fs::exists(paths.failed())) {
    s.state = RunState::Failed;
    s.detail = failed_reason(paths);
  }
  return s;
}

void write_failed(const RunPaths& paths, const std::string& reason) {
  write_text_atomic(paths.failed(), reason + "\n");
}

std::string train_again_command(const RunPaths& paths, bool force, bool restart) {
  return "`aimrun train " + paths.config() + " --run-dir " + paths.dir + (force ? " --force" : "") +
         (restart ? " --restart" : "") + "`";
}

}  // namespace aim
