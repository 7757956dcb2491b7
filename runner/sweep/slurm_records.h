#pragma once
// What `sweep submit` queued: <sweep>/slurm/submissions.yaml, one entry per submission of a
// stage, listing its job arrays ("parts", more than one where the stage has more runs than
// the cluster's MaxArraySize). The file is checked whole: a first line naming it, and a last
// line with the CRC-32 and length of everything before it; a file that is empty, cut short,
// changed or not a list of submissions is refused (ConfigError, exit 2) naming the file, what
// is wrong and the command that rebuilds it from squeue (docs/sweeps.md). Where each run is
// in Slurm's queue now: runner/sweep/slurm_queue.h.
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
  std::string text;        // the script's text (not recorded; what a dry run prints)
  bool operator==(const SubmittedArray& o) const {
    return job_id == o.job_id && run_ids == o.run_ids && script == o.script && dependency == o.dependency;
  }
};

struct Submission {
  std::string stage;       // "" in a sweep without stages
  std::string dependency;  // the stage's --dependency on its upstream (afterok:<job>[_<index>]:...), "" if none
  std::vector<SubmittedArray> parts;
  size_t runs() const;
  bool operator==(const Submission& o) const {
    return stage == o.stage && dependency == o.dependency && parts == o.parts;
  }
};

// <sweep>/slurm/submissions.yaml
std::string submission_record_path(const Sweep& sweep);

// The command that rebuilds the sweep's record from squeue, for messages.
std::string rebuild_records_command(const Sweep& sweep);

// Appends one entry (the stage's parts) to the record at `path`, atomically; a record there
// that does not pass read_submission_record is refused first (nothing is written).
void record_submission(const std::string& path, const Sweep& sweep, const Submission& sub, const std::string& profile,
                       const std::string& stamp);

// Writes a whole record (the rebuild); an empty list removes the file.
void write_submission_record(const std::string& path, const std::vector<Submission>& subs,
                             const std::vector<std::string>& profiles, const std::string& stamp);

// The submissions in `text`, the content of the record at `path`. Throws ConfigError
// "<path>: <what is wrong>; <how to rebuild it>" for anything but a whole record of at least
// one submission; `rebuild` is the command named. A record of an earlier aimrun (no first
// and last line, no checksum) is refused too.
std::vector<Submission> parse_submission_record(const std::string& text, const std::string& path,
                                                const std::string& rebuild);

// Every submission of the sweep (none when it has no record).
std::vector<Submission> read_submissions(const Sweep& sweep);

}  // namespace aim
