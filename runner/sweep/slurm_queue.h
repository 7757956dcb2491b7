#pragma once
// Where a sweep's runs are in Slurm's queue, from squeue and the submission record
// (runner/sweep/slurm_records.h), and the sweep's jobs found in the queue by their name and
// script folder, recorded or not: `sweep submit` refuses to queue while one of them is not
// in the record (its runs would be queued twice), and `sweep submit --rebuild-records`
// writes the record again from them.
#include <map>
#include <string>
#include <vector>

#include "runner/sweep/slurm_records.h"
#include "runner/sweep/sweep_spec.h"

namespace aim {

struct SlurmElement {
  std::string id;     // "12_3"
  std::string state;  // squeue's: PENDING, RUNNING, REQUEUED, COMPLETING, ...
};

// A job array of this sweep in squeue: named aim-<sweep>[-<stage>], its script in <sweep>/slurm.
struct QueuedJob {
  std::string job_id;  // the array's
  std::string stage;   // from the job name ("" without stages)
  std::string script;  // squeue's %o
};

struct SlurmQueue {
  std::map<std::string, SlurmElement> runs;  // runs of recorded arrays still queued or running, by run id
  std::vector<QueuedJob> jobs;               // every array of this sweep in squeue
  std::vector<QueuedJob> unrecorded;         // those of `jobs` the record does not list
  std::string error;                         // squeue failed: nothing above says anything about the queue
  size_t recorded = 0;                       // arrays in the record
};

// Reads the record (ConfigError when it is damaged) and squeue once (-r: one line per array
// element, pending ones included). Without a record and without squeue on PATH the queue is
// empty; squeue failing makes `error` say why ("squeue failed (exit 1): ...").
SlurmQueue read_slurm_queue(const Sweep& sweep);

// Runs of the sweep that Slurm still knows about (queued or running), by run id (the element
// <part's job>_<i> is the part's run i). When squeue fails the map is empty and `error` says
// why (left empty when the sweep has no record: nothing of it is known to be queued);
// arrays of the sweep in the queue but not in the record are named in a warning.
std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep, std::string* error = nullptr);

// "jobs 12, 13 of sweep s are in Slurm's queue but not in <record>: ..." with the command that
// rebuilds the record; "" when every job is recorded.
std::string unrecorded_jobs_problem(const Sweep& sweep, const SlurmQueue& queue);

// Writes <sweep>/slurm/submissions.yaml again from the sweep's jobs in squeue: one submission
// per array, its runs the run folders listed in runs-<stem>.txt beside its script
// array-<stem>.sbatch, its dependencies those squeue still shows (`%E`: a stage's afterok on
// its upstream arrays, a part's afterany on the part before it; one already satisfied is
// gone from squeue and from the rebuilt record, while Slurm keeps every job waiting as it
// was queued). A record already there is kept as submissions.yaml.damaged. Throws
// when squeue fails or a job's run list cannot be read (nothing is written then). Returns
// the submissions written (none: the record is removed; nothing of the sweep is queued).
std::vector<Submission> rebuild_submission_record(const Sweep& sweep);

}  // namespace aim
