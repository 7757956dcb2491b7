#pragma once
// Rounds on Slurm (docs/sweeps.md "Adaptive seeds", "On Slurm"; "Search"): a sweep whose runs
// depend on the results of earlier ones (sweep.seeds, or the rungs of sweep.search: a round is
// a pass over the rungs that can be trained now) is submitted a round at a time, and each round's
// arrays are followed by a one-task "round job" (named aim-<sweep>+rounds) that waits for
// all of them (afterany) and runs `aimrun sweep submit SPEC [overrides] --profile FILE
// --round-job` from the folder the first submission was started in. That submission plays
// the rounds from the run folders, as every `sweep submit` does, queues the next round's runs
// and the next round job, or ends: every comparison decided or at max seeds, every group of a
// search with its winner. A round with a failed or unreadable run (in a search: one that did
// not diverge; a divergence is an outcome of the search) ends the chain with the reason in the round job's log
// (<sweep>/slurm/rounds-<job>.out) and exit 1; `sweep submit` by hand retries the failed runs
// and starts the chain again. Decisions follow from the run folders only, so a round job that
// runs twice (requeued, or one by hand beside it) queues nothing twice: its submission takes
// the sweep's submission lock and sees the runs the other queued.
#include <string>
#include <utility>
#include <vector>

#include "runner/sweep/slurm_profile.h"
#include "runner/sweep/slurm_queue.h"
#include "runner/sweep/slurm_records.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

// The job name of a sweep's round jobs. '+' is in no sweep or stage name, so it is never
// taken for one of the sweep's arrays.
std::string round_job_name(const Sweep& sweep);

// The sweep's round jobs in squeue, their scripts in `dir` (the sweep's slurm folder): job id
// and state. Throws when squeue fails.
std::vector<std::pair<std::string, std::string>> queued_round_jobs(const Sweep& sweep, const std::string& dir);

// The round job's sbatch script: one task, the profile's partition, account and modules,
// at most 30 minutes (less when the profile's time is less), its log rounds-%j.out in the
// folder sbatch is started in. `command` is the argv of the submission it runs (the aimrun
// binary first); every word is shell-quoted.
std::string round_job_script(const Sweep& sweep, const SlurmProfile& profile, const std::vector<std::string>& command);

// Where a sweep with rounds stands: "round 2" (sweep.seeds), or "rung 2" / "rungs 1-2" (the
// rungs the undecided groups of a search are at); whether it is finished; what it waits for.
struct RoundProgress {
  std::string name;
  bool finished = false;
  std::string waiting;
};
RoundProgress round_progress(const Sweep& sweep);

struct RoundJob {
  std::string job_id;      // empty in a dry run, or when none was queued
  std::string dependency;  // afterany:<job>:<job>...
  std::string script;      // its path
  std::string text;        // the script (what a dry run prints)
  std::string note;        // why none was queued, when none was
};

// After `sweep submit` queued (or found queued) the current round of a sweep with
// sweep.seeds or sweep.search: queues its round job in `dir` (the sweep's slurm folder; in a dry run the
// script is only written and checked there). `in_slurm` are the runs already queued,
// `subs` what this submission queued, `command` the submission the round job runs. None is
// queued when the rounds are finished, when a round job of the sweep is pending already
// (it will run after the arrays it waits for and find the rest queued), or when no run of
// the round is queued (the round waits for a failed run, or for runs trained elsewhere): `note` says which.
RoundJob queue_round_job(const Sweep& sweep, const SlurmProfile& profile, const std::string& dir, bool dry_run,
                         const std::map<std::string, SlurmElement>& in_slurm, const std::vector<Submission>& subs,
                         const std::vector<std::string>& command);

// The runs of the current round that failed, cannot be read, or were killed outright (their
// last session's end, written by the sbatch wrapper, has an exit code other than 0, a stop or
// a busy run, and there is no FAILED), one per line with why; "" when none (a search's run
// that diverged is settled, not a failure). A round job's submission ends the chain on them
// instead of training them again.
std::string round_failures(const Sweep& sweep);

}  // namespace aim
