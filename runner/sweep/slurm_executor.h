#pragma once
// Slurm: a sweep's pending runs become one sbatch job array (one element per run, with a
// %throttle), resources from a profile in slurm/profiles/. Submission returns at once; the
// state of every run is read back from its folder and from squeue. Preemption and time
// limits: the job asks for a signal before the limit (USR2 by default; NCCL uses USR1), the
// trainer checkpoints at the next step and exits with 75, and the element requeues itself.
#include <map>
#include <string>
#include <vector>

#include "runner/sweep/sweep_spec.h"

namespace aim {

struct SlurmProfile {
  std::string name;
  int nodes = 1, tasks_per_node = 1, cpus_per_task = 1, gpus_per_node = 0, throttle = 0;
  std::string time = "01:00:00", partition, account, mem, signal = "USR2@120", srun_mpi = "pmix";
  std::vector<std::string> modules, extra_sbatch;
};

// slurm/profiles/<name>.yaml (or a path to a .yaml file); unknown keys are errors.
SlurmProfile load_slurm_profile(const std::string& name_or_path, const std::string& profiles_dir);

// The sbatch script for `count` runs (array element i trains the run on line i+1 of
// `run_list`). Every value bash reads is shell-quoted; the #SBATCH lines hold only checked
// values and the profile's own text; the log path is relative: sbatch is started in the
// script's folder, and the script changes to the folder it was written from.
// In a staged sweep (`stage` not empty) the job is aim-<sweep>-<stage>, and when the stage
// starts from another, element i first checks the upstream run on line i+1 of
// `upstream_list` (`aimrun sweep upstream-check`): not done, it writes the reason to the
// run's FAILED and exits 1.
std::string sbatch_script(const Sweep& sweep, const SlurmProfile& profile, const std::string& run_list,
                          const std::string& aimrun, size_t count, const std::string& stage = "",
                          const std::string& upstream_list = "");

struct Submission {
  std::string job_id;
  std::vector<std::string> run_ids;  // by array index
  std::string script;
  std::string stage;       // "" in a sweep without stages
  std::string dependency;  // sbatch's --dependency (afterok:<job>[_<index>]:...), "" if none
};

// Writes the script and the run list under <sweep>/slurm/, checks the script (bash -n; in a
// dry run also sbatch --test-only when sbatch is on PATH), submits, records the submission
// in <sweep>/slurm/submissions.yaml. One array per stage with pending runs (one in all
// without stages); a later stage's array waits for the arrays and elements its runs'
// upstream runs are in (--dependency=afterok:..., --kill-on-invalid-dep=yes), and for
// nothing when they are all done. Returns the submissions, in stage order (none when
// nothing was pending; job_id empty in a dry run). Concurrent submissions of one sweep take
// turns (a lock in <sweep>/slurm); one waits for another at most `wait_seconds`, then
// throws without submitting anything (the other may be stopped with Ctrl-Z, or frozen).
std::vector<Submission> submit_sweep(const Sweep& sweep, const SlurmProfile& profile, bool dry_run,
                                     double wait_seconds = 300);

std::vector<Submission> read_submissions(const Sweep& sweep);

struct SlurmElement {
  std::string id;     // "12_3"
  std::string state;  // squeue's: PENDING, RUNNING, REQUEUED, COMPLETING, ...
};
// Runs of the sweep that Slurm still knows about (queued or running), by run id, from
// squeue and the submission record. When the sweep has submissions and squeue fails (the
// controller does not answer), the map is empty and says nothing about the queue: `error`
// then says why ("squeue failed (exit 1): ...").
std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep, std::string* error = nullptr);

}  // namespace aim
