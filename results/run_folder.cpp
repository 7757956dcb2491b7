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

bool is_run_id(const std::string& name) {
  return name.size() == 12 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
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

// The result read is the run's the folder is for (`run_id`, or the folder's name where that
// is a run id); otherwise the folder is not done, and says why.
bool is_result_of(const RunPaths& paths, const std::string& run_id, RunFolderState& s) {
  std::string expected = run_id;
  if (expected.empty() && s.bound_to_summary) return true;  // its summary's run id is the folder's name
  if (expected.empty()) {
    std::error_code ec;
    auto name = fs::weakly_canonical(paths.dir, ec).filename().string();
    if (ec) name = fs::path(paths.dir).filename().string();
    if (!is_run_id(name)) return true;
    expected = name;
  }
  if (s.record.run_id == expected) return true;
  s.detail = "result.h5 holds the result of run " + s.record.run_id + ", not of run " + expected +
             " (another run's file was put in " + paths.dir + "); `aimrun train " + paths.config() + " --run-dir " +
             paths.dir + "` writes it anew";
  s.other_run_id = s.record.run_id;
  s.record = {};
  s.summary_problem.clear();
  s.summary_missing = false;
  s.bound_to_summary = false;
  return false;
}

}  // namespace

RunFolderState inspect_run_folder(const RunPaths& paths, ResultDepth depth, const std::string& run_id) {
  RunFolderState s;
  s.has_checkpoint = fs::exists(paths.checkpoint());
  bool damaged = false;
  if (fs::exists(paths.result())) {
    if (read_result(paths, depth, s) && is_result_of(paths, run_id, s)) {
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
