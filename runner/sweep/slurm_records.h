#pragma once
// What `sweep submit` queued: <sweep>/slurm/submissions.yaml, one entry per submission of a
// stage, listing its job arrays ("parts", more than one where the stage has more runs than
// the cluster's MaxArraySize), and where each of the sweep's runs is in Slurm's queue now.
#include <map>
#include <string>
#include <vector>

#include "runner/sweep/sweep_spec.h"

namespace aim {

// One job array: element i trains run_ids[i].
struct SubmittedArray {
  std::string job_id;  // empty in a dry run
  std::vector<std::string> run_ids;
  std::string script;
  int throttle = 0;        // its %throttle (0: none)
  std::string dependency;  // its whole --dependency: the stage's, and afterany:<part> when it waits for one
};

struct Submission {
  std::string stage;       // "" in a sweep without stages
  std::string dependency;  // the stage's --dependency on its upstream (afterok:<job>[_<index>]:...), "" if none
  std::vector<SubmittedArray> parts;
  size_t runs() const;
};

// Appends one entry (the stage's parts) to <dir>/submissions.yaml, atomically.
void record_submission(const std::string& dir, const Submission& sub, const std::string& profile,
                       const std::string& stamp);

// Every submission of the sweep; an entry of an earlier aimrun (job_id, script and runs of
// its one array, no parts) reads as a submission of one part.
std::vector<Submission> read_submissions(const Sweep& sweep);

struct SlurmElement {
  std::string id;     // "12_3"
  std::string state;  // squeue's: PENDING, RUNNING, REQUEUED, COMPLETING, ...
};
// Runs of the sweep that Slurm still knows about (queued or running), by run id, from
// squeue and the submission record (the element <part's job>_<i> is the part's run i). When
// the sweep has submissions and squeue fails (the controller does not answer), the map is
// empty and says nothing about the queue: `error` then says why ("squeue failed (exit 1): ...").
std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep, std::string* error = nullptr);

}  // namespace aim
