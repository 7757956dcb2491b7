#pragma once
// The cluster's limits on a submission, and how a stage's runs are split into job arrays
// ("parts") within them: Slurm takes at most MaxArraySize elements in one array (indices
// 0..MaxArraySize-1), at most MaxJobCount jobs in all, and an association's MaxSubmitJobs
// per user (each array element counts as one job).
#include <cstddef>
#include <string>
#include <vector>

namespace aim {

constexpr int kSlurmDefaultMaxArraySize = 1001;

struct ClusterLimits {
  int max_array_size = kSlurmDefaultMaxArraySize;
  long max_job_count = 0;          // 0: not known
  long max_submit_jobs = 0;        // the user's association's MaxSubmitJobs; 0: none configured, or not known
  bool accounting = false;         // AccountingStorageType is slurmdbd: sacctmgr has associations to ask
  std::vector<std::string> notes;  // what could not be read, and what was assumed instead
};

// MaxArraySize, MaxJobCount and AccountingStorageType from the text of `scontrol show config`
// ("MaxArraySize            = 1001"); a line missing keeps the default and adds a note.
ClusterLimits parse_slurm_config(const std::string& text);

// The smallest MaxSubmit of `sacctmgr -nP show assoc ... format=MaxSubmit` (one value a
// line, empty where the association sets none); 0 when none is set.
long parse_max_submit(const std::string& text);

// scontrol show config (on failure: MaxArraySize 1001, MaxJobCount unknown, and a note
// saying so), then, where accounting runs, the user's MaxSubmitJobs from sacctmgr.
ClusterLimits read_cluster_limits();

// Throws ConfigError (exit 2), before anything is queued, when `runs` array elements are
// more than the cluster takes in all (MaxJobCount, MaxSubmitJobs), naming the limit.
void check_total_runs(const std::string& sweep_name, size_t runs, const ClusterLimits& limits);

// One job array of a stage: runs [offset, offset + count) of the stage's list, elements
// 0..count-1, at most `throttle` of them running at once (0: no limit), and, when `after`
// >= 0, not started before the part `after` of the same stage has ended (afterany).
struct ArrayPart {
  size_t offset = 0, count = 0;
  int throttle = 0;
  int after = -1;
};

// `runs` runs in arrays of at most `max_array_size`. The profile's throttle holds for the
// stage, not per array: with throttle T and P parts, min(T, P) parts run side by side, their
// shares of T adding up to T (each at least 1); a part beyond the first min(T, P) waits
// (afterany) for the part min(T, P) places before it, whose share it takes over.
std::vector<ArrayPart> plan_array_parts(size_t runs, int max_array_size, int throttle);

}  // namespace aim
