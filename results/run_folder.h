#pragma once
// A run folder, <output_dir>/runs/<run-id>/: where each of its files is, and the state they
// say the run is in. The one definition that `aimrun train`, `sweep status`, `sweep run`,
// `report` and `collect` use (docs/sweeps.md, "Run folders"; runner/sweep/run_state.h adds
// the session ledger's cause for people).
//
// The state is the first of these that holds, in this order:
//   done        result.h5's summary (summary.json) passes its checks and is bound to result.h5
//               (results/run_summary.h), or else result.h5 reads completely (in a child
//               process first: results/checked_read.h).
//               It is renamed into place only when complete: a process that still holds
//               the lock while it exits has finished the run.
//   running     another process holds <run>/.lock. It comes before unreadable and failed:
//               a run trained again after a failure holds the lock while its old FAILED is
//               still there (train removes it only once it holds the lock, and an upstream
//               check may write one meanwhile), and a damaged result.h5 is what it replaces.
//   unreadable  result.h5 is there but damaged, or holds another run's result (the next
//               train replaces it)
//   failed      <run>/FAILED holds the error of the last attempt (the next `sweep run`
//               trains it again)
//   pending     none of these; it may have a checkpoint to resume from
//
// RunPaths and RunState are in namespace aim, like Config: every layer above speaks of them.
#include <string>

#include "results/run_record.h"

namespace aim {

struct RunPaths {
  std::string dir;
  std::string config() const { return dir + "/config.yaml"; }        // the resolved config
  std::string result() const { return dir + "/result.h5"; }          // present = complete
  std::string summary() const { return dir + "/summary.json"; }      // result.h5's scalars (results/run_summary.h)
  std::string checkpoint() const { return dir + "/checkpoint.pt"; }  // latest state, for resume
  std::string log() const { return dir + "/train.log"; }             // appended across restarts
  std::string failed() const { return dir + "/FAILED"; }             // the error of the last attempt
  std::string lock() const { return dir + "/.lock"; }                // held while a process trains it
  std::string progress() const { return dir + "/progress.json"; }    // where it was last seen
  std::string ledger() const { return dir + "/sessions.jsonl"; }     // its sessions (runner/session_ledger.h)
  std::string pictures() const { return dir + "/pictures"; }         // PNG grids of samples and masks
};

// The folder of run `run_id` under `output_dir`: <output_dir>/runs/<run-id>.
RunPaths run_folder(const std::string& output_dir, const std::string& run_id);
// True for a folder that holds a run: one with config.yaml or result.h5.
bool is_run_folder(const std::string& dir);
// True for a run id's spelling (12 lowercase hex digits): the name of a folder that must hold
// that run (<output_dir>/runs/<id>, a sweep's links); `--run-dir` may name a folder otherwise.
bool is_run_id(const std::string& name);

enum class RunState { Done, Running, Unreadable, Failed, Pending };
std::string to_string(RunState state);  // "done", "running", "unreadable", "failed", "pending"

// How much of a done run's result to read: only whether it is done (State: its summary
// checked, the record holds the run id alone), its summary (results/run_summary.h; in both
// result.h5 is read in full only where the summary is missing or fails a check), or all of
// result.h5 (per-sample arrays, maps and curves).
enum class ResultDepth { State, Summary, Full };

struct RunFolderState {
  RunState state = RunState::Pending;
  std::string detail;           // unreadable: why; failed: the first line of FAILED
  bool has_checkpoint = false;  // checkpoint.pt is there (a pending run resumes from it)
  results::RunRecord record;    // done: the result
  // Done, but read from result.h5 where its summary should have been: why (the summary is
  // missing, written before summaries existed, or failed a check); "" otherwise.
  std::string summary_problem;
  bool summary_missing = false;
  // Done, and result.h5's bytes are those its whole summary was written for (read back
  // completely when they were written): readers need not read it in a child process first.
  bool bound_to_summary = false;
  // Unreadable because its result is another run's (a file put here from another run's
  // folder): that run's id; "" otherwise.
  std::string other_run_id;
};
// `run_id`: the run the folder must hold; "" for the folder's own name where that is a run id
// (12 hex digits: <output_dir>/runs/<id>, or a sweep's link to it), else any. A result of
// another run (result.h5 and its summary copied or moved in from another run's folder) is
// never that run's: the folder is unreadable, naming both runs.
RunFolderState inspect_run_folder(const RunPaths& paths, ResultDepth depth = ResultDepth::Summary,
                                  const std::string& run_id = "");

// The command that trains the run in `paths` again, quoted for a message:
// "`aimrun train <run>/config.yaml --run-dir <run>[ --force][ --restart]`". Every message
// about a damaged or failed run names it (or another command that repairs it).
std::string train_again_command(const RunPaths& paths, bool force = false, bool restart = false);

// Writes `reason` to FAILED, atomically: the run is failed until a train of it holds the lock.
void write_failed(const RunPaths& paths, const std::string& reason);

}  // namespace aim
