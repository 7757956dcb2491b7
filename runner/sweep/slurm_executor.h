#pragma once
// Slurm: a sweep's pending runs become sbatch job arrays (one element per run, with a
// %throttle; one array per stage, or several where it has more runs than MaxArraySize),
// resources from a profile in slurm/profiles/. Submission returns at once; the state of
// every run is read back from its folder and from squeue. Preemption and time limits: the
// job asks for a signal before the limit (USR2 by default; NCCL uses USR1), the trainer
// checkpoints at the next step and exits with 75, and the element requeues itself.
#include <map>
#include <string>
#include <vector>

#include "runner/sweep/slurm_profile.h"
#include "runner/sweep/slurm_queue.h"
#include "runner/sweep/slurm_records.h"
#include "runner/sweep/slurm_rounds.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

// The sbatch script for `count` runs (array element i trains the run on line i+1 of
// `run_list`). Every value bash reads is shell-quoted; the #SBATCH lines hold only checked
// values and the profile's own text; the log path is relative: sbatch is started in the
// script's folder, and the script changes to the folder it was written from.
// In a staged sweep (`stage` not empty) the job is aim-<sweep>-<stage>, and when the stage
// starts from another, element i first checks the upstream run on line i+1 of
// `upstream_list` (`aimrun sweep upstream-check`): not done, it writes the reason to the
// run's FAILED and exits 1.
// `throttle` is the array's %throttle (-1: the profile's; 0: none).
// In a search (sweep.search), element i trains its run to the rung on line i+1 of
// `budget_list` (`--stop-after-epoch E`; 0: to its end).
std::string sbatch_script(const Sweep& sweep, const SlurmProfile& profile, const std::string& run_list,
                          const std::string& aimrun, size_t count, const std::string& stage = "",
                          const std::string& upstream_list = "", int throttle = -1,
                          const std::string& budget_list = "");

struct SubmitOptions {
  // Nothing is queued and nothing is written below output_dir: the scripts name the files a
  // submission would write, and are checked (bash -n; sbatch --test-only) in a temporary
  // folder, removed after, or in `script_dir` when set, which keeps them with their run lists.
  bool dry_run = false;
  std::string script_dir;
  double wait_seconds = 300;  // for another `sweep submit` of the sweep (see below)
  // A sweep with rounds (sweep.seeds, or the rungs of sweep.search): the submission its round
  // job runs (argv, the aimrun binary first; runner/sweep/slurm_rounds.h). Empty: no round job.
  std::vector<std::string> round_command;
};

struct SweepSubmission {
  std::vector<Submission> stages;  // in stage order; none when nothing was pending
  RoundJob round;                  // a sweep with rounds or rungs: the job that queues the next one
};

// Writes the scripts and the run lists under <sweep>/slurm/, checks the scripts (bash -n; in
// a dry run also sbatch --test-only when sbatch is on PATH), submits, records each stage's
// submission in <sweep>/slurm/submissions.yaml. One submission per stage with pending runs
// (one in all without stages), of as many job arrays ("parts") as the cluster's MaxArraySize
// (`scontrol show config`; 1001 when it does not answer), or the profile's max_array_size,
// requires, the throttle shared among them (plan_array_parts). A later stage's arrays wait
// for the arrays and elements its runs' upstream runs are in, every part of them
// (--dependency=afterok:..., --kill-on-invalid-dep=yes), and for nothing when they are all
// done. Before anything is queued: a damaged submission record is refused (ConfigError), an
// array of the sweep in squeue (by its job name and script folder) that the record does not
// list is refused (ConfigError: its runs would be queued twice; rebuild_submission_record
// repairs the record), and a sweep of more runs than the cluster's MaxJobCount or the user's
// MaxSubmitJobs is refused (ConfigError). Returns the submissions, in stage order (none when
// nothing was pending; job ids empty in a dry run). Concurrent submissions of one sweep take
// turns (a lock in <sweep>/slurm); one waits for another at most `wait_seconds`, then throws
// without submitting anything (the other may be stopped with Ctrl-Z, or frozen). A sweep
// with rounds gets its round job, under the same lock (queue_round_job). In a search only
// the runs of the current rungs are submitted (SweepRun::settled empty), each element with
// its rung's budget (a budget list beside the run list).
SweepSubmission submit_sweep(const Sweep& sweep, const SlurmProfile& profile, const SubmitOptions& options);

}  // namespace aim
