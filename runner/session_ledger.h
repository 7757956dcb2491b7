#pragma once
// Why did a run die? Each process session of a run leaves lines in <run>/sessions.jsonl
// (one JSON object a line with its CRC-32, appended by rank 0): a "start" line when it takes the run (time,
// hosts, Slurm job/array ids), an "end" line when it ends (exit code, cause, the checkpoint
// position, training time lost since that checkpoint). A session killed outright (SIGKILL,
// the OOM killer, a node failure) writes no end: the sbatch wrapper, or else the next
// session, closes it with what it can tell. <run>/progress.json (rank 0, rewritten
// atomically every progress line and checkpoint) says where the run was last seen.
#include <string>
#include <vector>

#include "results/run_folder.h"

namespace aim {

struct ProgressInfo {
  double time = 0;  // unix seconds of this update
  int64_t epoch = 0, epochs = 0, step = 0, steps_per_epoch = 0;
  double loss = 0, images_per_s = 0, eta_s = -1;
  int64_t checkpoint_epoch = -1, checkpoint_step = -1;  // the last checkpoint's position
  double checkpoint_time = 0;
  double train_seconds = 0;  // training time so far (this and earlier sessions)
};
std::string progress_path(const RunPaths& paths);  // paths.progress()
void write_progress(const RunPaths& paths, const ProgressInfo& p);
bool read_progress(const RunPaths& paths, ProgressInfo& p);  // false when absent or unreadable

struct SessionEntry {
  std::string event;  // start | end
  double time = 0;    // unix seconds
  std::string hosts, slurm_job, by;  // by: who wrote an end (aimrun, sbatch, next session)
  int exit_code = 0;
  std::string cause;  // complete, stopped (requeue), failed: ..., killed by signal 9 (out of memory?), ...
  int64_t epoch = -1, step = -1;     // checkpoint position at the end
  double lost_s = 0;                 // training time since that checkpoint, lost
};
// Each line carries the CRC-32 of its text ("crc32", the last field); a line whose checksum
// does not match, that has none after one that has, or that is not a record (cut short by a
// killed writer) is never read: a warning names <ledger>:<line> and what failed, and
// `damaged` (when given) receives the same. Lines before the first with a checksum (a
// ledger an older aimrun began) are read unchecked, as before.
std::vector<SessionEntry> read_ledger(const RunPaths& paths, std::vector<std::string>* damaged = nullptr);
void append_session(const RunPaths& paths, const SessionEntry& e);

// The start of this process's session (closing an earlier one that has no end first).
void ledger_start(const RunPaths& paths, const std::string& hosts);
// Its end, with the exit code and why.
void ledger_end(const RunPaths& paths, int exit_code, const std::string& cause);
// What the cause of an exit code is, as a person would say it (137: "killed by signal 9
// (out of memory?)", 75: "stopped for requeue", ...).
std::string describe_exit(int exit_code);
// One line for `sweep status` about a run that is not done: the last cause, the number of
// preemptions and the time they lost ("preempted 3 times, 14 min lost; last: ..."), and the
// damaged lines left out ("; 1 damaged ledger line(s) left out (<ledger>:4: checksum mismatch)").
std::string ledger_summary(const RunPaths& paths);
// The Slurm ids of this process ("job 123 (array 120_3), restart 1"), or "".
std::string slurm_ids();

}  // namespace aim
