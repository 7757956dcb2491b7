#include "runner/sweep/slurm_executor.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "results/run_folder.h"
#include "runner/aimrun_path.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/slurm_command.h"
#include "runner/sweep/slurm_limits.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

// The absolute folders of the runs of `runs` to submit (not done, not running, not
// queued, and in a search not settled at their rung), one per line of the run list: a
// folder whose path holds a newline cannot be listed.
std::vector<std::string> runs_to_submit(const Sweep& sweep, const std::vector<const SweepRun*>& runs,
                                        const std::map<std::string, SlurmElement>& in_slurm,
                                        std::vector<std::string>& run_ids) {
  std::vector<std::string> run_dirs;
  for (const auto* run : runs) {
    if (!run->settled.empty()) continue;  // a search's run at its rung, or diverged
    auto st = inspect_run(RunPaths{sweep.run_dir(run->run_id)}).state;
    if (st == RunState::Done || st == RunState::Running || in_slurm.count(run->run_id)) continue;
    run_ids.push_back(run->run_id);
    run_dirs.push_back(fs::absolute(sweep.run_dir(run->run_id)).string());
    if (run_dirs.back().find('\n') != std::string::npos)
      throw Error(run_dirs.back() + ": a run folder whose path holds a newline cannot be submitted");
  }
  return run_dirs;
}

// The sweep's runs by stage, in order; one group named "" without stages.
std::vector<std::pair<std::string, std::vector<const SweepRun*>>> runs_by_stage(const Sweep& sweep) {
  std::vector<std::pair<std::string, std::vector<const SweepRun*>>> out;
  if (sweep.stages.empty()) out.push_back({"", sweep.stage_runs("")});
  for (const auto& st : sweep.stages) out.push_back({st.name, sweep.stage_runs(st.name)});
  return out;
}

// Where each run is queued in Slurm: job id and array index, from squeue and from the
// arrays of this submission.
struct Queued {
  std::string job_id;
  size_t index = 0;
  size_t array_size = 0;  // the size of its array when submitted now; 0 for an earlier one
};

// "afterok:<job>:<job>_<index>..." for the runs `run_ids` of a stage: the arrays (or, when
// only some of their elements hold upstream runs of these runs, the elements) their
// upstream runs are queued in; "" when every upstream run is done or not in Slurm.
std::string stage_dependency(const Sweep& sweep, const std::vector<std::string>& run_ids,
                             const std::map<std::string, Queued>& queued) {
  std::map<std::string, std::set<size_t>> needed;  // job id -> element indices
  std::map<std::string, size_t> size_now;
  for (const auto& id : run_ids) {
    const auto* run = sweep.find_run(id);
    auto it = run ? queued.find(run->upstream) : queued.end();
    if (it == queued.end()) continue;
    needed[it->second.job_id].insert(it->second.index);
    size_now[it->second.job_id] = it->second.array_size;
  }
  std::vector<std::string> parts;
  for (const auto& [job, indices] : needed) {
    if (size_now[job] > 0 && indices.size() == size_now[job]) {
      parts.push_back(job);
      continue;
    }
    for (size_t i : indices) parts.push_back(job + "_" + std::to_string(i));
  }
  return parts.empty() ? "" : "afterok:" + join(parts, ":");
}

// One line per run of `run_ids`: the absolute folder of its upstream run.
std::string upstream_lines(const Sweep& sweep, const std::vector<std::string>& run_ids) {
  std::vector<std::string> lines;
  for (const auto& id : run_ids) lines.push_back(fs::absolute(sweep.run_dir(sweep.find_run(id)->upstream)).string());
  return join(lines, "\n") + "\n";
}

// One line per run of `run_ids`: the epoch its rung stops it at (0: its end), in a search.
std::string budget_lines(const Sweep& sweep, const std::vector<std::string>& run_ids) {
  std::vector<std::string> lines;
  for (const auto& id : run_ids) lines.push_back(std::to_string(sweep.find_run(id)->budget));
  return join(lines, "\n") + "\n";
}

// bash -n always; with `test_only` (a dry run) and Slurm present, sbatch --test-only too.
void check_script(const std::string& script, const std::string& dir, bool test_only) {
  int status = 0;
  std::string out = run_capture({"bash", "-n", script}, dir, &status);
  if (status != 0)
    throw Error(script + ": bash -n rejects the generated script (the profile's `modules` lines are inserted "
                "verbatim): " + trim(out));
  if (!test_only) return;
  if (!on_path("sbatch")) {
    spdlog::info("no sbatch on PATH: the script passed bash -n only");
    return;
  }
  out = trim(run_capture({"sbatch", "--test-only", script}, dir, &status));
  if (status != 0) throw Error(script + ": sbatch --test-only rejects the script: " + out);
  spdlog::info("sbatch --test-only: {}", out);
}

}  // namespace

namespace {

// Slurm builds a log's path from the job's folder and the relative --output, and reads '%'
// and '\' anywhere in it as a file name pattern: the logs' folder must not hold them.
void check_log_folder(const Sweep& sweep) {
  const std::string dir = fs::absolute(sweep.sweep_dir() + "/slurm").string();
  if (dir.find_first_of("%\\") == std::string::npos) return;
  sweep.runs.front().config.fail(
      "output_dir", "Slurm cannot write logs into " + dir +
                        ": sbatch reads '%' and '\\' in a log's path as a file name pattern; use an output_dir "
                        "(and a folder to submit from) without them");
}

}  // namespace

namespace {

// A job id as sbatch --parsable prints it (digits, perhaps ";cluster"); it goes into the
// next stage's --dependency, so nothing else is taken.
std::string parse_job_id(const std::string& out, const std::string& script) {
  std::string id = out.substr(0, out.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch printed no job id for " + script + ": " + out);
  return id;
}

// <time>-<pid>[-<stage>]: the name of a stage's files in <sweep>/slurm and of its submission.
std::string submission_stamp(const std::string& stage) {
  char time_text[32];
  std::time_t t = std::time(nullptr);
  std::strftime(time_text, sizeof time_text, "%Y%m%d-%H%M%S", std::localtime(&t));
  return std::string(time_text) + "-" + std::to_string(getpid()) + (stage.empty() ? "" : "-" + stage);
}

// Where a stage's files go: `named` is the folder the script names (its run lists, its logs),
// `written` the one they are written to and checked in; the same but in a dry run.
struct ArrayFolders {
  std::string named, written;
};

// Writes and checks one array's run list, upstream list (in a stage that starts from
// another), budget list (in a search) and script, <written>/{runs,upstream,budget,array}-<stem>.
SubmittedArray write_array(const Sweep& sweep, const SlurmProfile& profile, bool dry_run, const ArrayFolders& dirs,
                           const std::string& stage, const std::string& stem, std::vector<std::string> run_ids,
                           const std::vector<std::string>& run_dirs, int throttle) {
  SubmittedArray a;
  a.run_ids = std::move(run_ids);
  a.throttle = throttle;
  const std::string list = "runs-" + stem + ".txt";
  write_text_atomic(dirs.written + "/" + list, join(run_dirs, "\n") + "\n");
  std::string upstream_list;
  const auto* first = sweep.find_run(a.run_ids.front());
  if (first && !first->upstream.empty()) {
    upstream_list = "upstream-" + stem + ".txt";
    write_text_atomic(dirs.written + "/" + upstream_list, upstream_lines(sweep, a.run_ids));
    upstream_list = dirs.named + "/" + upstream_list;
  }
  std::string budget_list;
  if (sweep.search) {
    budget_list = "budget-" + stem + ".txt";
    write_text_atomic(dirs.written + "/" + budget_list, budget_lines(sweep, a.run_ids));
    budget_list = dirs.named + "/" + budget_list;
  }
  const std::string aimrun = aimrun_executable(fs::read_symlink("/proc/self/exe").string());
  const std::string script = "array-" + stem + ".sbatch";
  a.text = sbatch_script(sweep, profile, dirs.named + "/" + list, aimrun, run_dirs.size(), stage, upstream_list,
                         throttle, budget_list);
  write_text_atomic(dirs.written + "/" + script, a.text);
  check_script(dirs.written + "/" + script, dirs.written, dry_run);
  a.script = dirs.named + "/" + script;
  return a;
}

// sbatch, in <dir> (where the script's relative --output puts the logs); returns the job id.
// An array that waits for another is cancelled by Slurm when that one fails (its runs stay
// pending here).
std::string queue_array(const SubmittedArray& a, const std::string& dir) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  if (!a.dependency.empty()) argv.insert(argv.end(), {"--dependency=" + a.dependency, "--kill-on-invalid-dep=yes"});
  argv.push_back(a.script);
  int status = 0;
  std::string out = trim(run_capture(argv, dir, &status));
  if (status != 0) throw Error("sbatch failed for " + a.script + ": " + out);
  return parse_job_id(out, a.script);
}

std::vector<std::string> job_ids(const Submission& sub) {
  std::vector<std::string> ids;
  for (const auto& p : sub.parts) ids.push_back(p.job_id);
  return ids;
}

// Records the stage's queued arrays; one that cannot be recorded is cancelled: unrecorded,
// its runs would look unqueued to the next submission and be queued twice.
void record_or_cancel(const Sweep& sweep, const std::string& dir, const Submission& sub, const std::string& profile,
                      const std::string& stamp) {
  try {
    record_submission(dir + "/submissions.yaml", sweep, sub, profile, stamp);
  } catch (const std::exception& e) {
    const auto ids = job_ids(sub);
    std::vector<std::string> argv = {"scancel"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    int cancelled = 0;
    const std::string said = trim(run_capture(argv, dir, &cancelled));
    const bool one = ids.size() == 1;
    throw Error((one ? "job " + ids[0] + " was" : "jobs " + join(ids, ", ") + " were") +
                " queued but cannot be recorded (" + e.what() + "): " +
                (cancelled == 0
                     ? (one ? "it is cancelled again, none of it runs" : "they are cancelled again, none of them runs")
                     : "cancelling failed too (" + said + "): cancel by hand, scancel " + join(ids, " ")));
  }
}

// Writes, checks and (unless a dry run) submits one stage's runs: one job array per part of
// plan_array_parts, each with the stage's dependency and, where its share of the throttle
// passes from an earlier part, afterany on that part; then records them as one submission.
Submission submit_stage(const Sweep& sweep, const SlurmProfile& profile, bool dry_run, const ArrayFolders& dirs,
                        const std::string& stage, const std::vector<std::string>& run_ids,
                        const std::vector<std::string>& run_dirs, const std::string& dependency, int max_array_size) {
  const auto plan = plan_array_parts(run_ids.size(), max_array_size, profile.throttle);
  const std::string stamp = submission_stamp(stage);
  Submission sub;
  sub.stage = stage;
  sub.dependency = dependency;
  for (size_t k = 0; k < plan.size(); ++k) {
    const auto& part = plan[k];
    const auto from = std::next(run_ids.begin(), long(part.offset));
    const auto dirs_from = std::next(run_dirs.begin(), long(part.offset));
    SubmittedArray a = write_array(
        sweep, profile, dry_run, dirs, stage, plan.size() == 1 ? stamp : stamp + "-part" + std::to_string(k + 1),
        {from, from + long(part.count)}, {dirs_from, dirs_from + long(part.count)}, part.throttle);
    a.dependency = dependency;
    if (part.after >= 0) {
      const std::string& before = sub.parts[size_t(part.after)].job_id;
      a.dependency += (dependency.empty() ? "" : ",") + std::string("afterany:") +
                      (dry_run ? "<part " + std::to_string(part.after + 1) + ">" : before);
    }
    if (!dry_run) {
      try {
        a.job_id = queue_array(a, dirs.named);
      } catch (const Error& e) {
        if (sub.parts.empty()) throw;
        record_or_cancel(sweep, dirs.named, sub, profile.name, stamp);
        throw Error(std::string(e.what()) + "; the first " + std::to_string(k) + " of its " +
                    std::to_string(plan.size()) + " arrays (jobs " + join(job_ids(sub), ", ") +
                    ") are queued and recorded: `sweep submit` again queues the rest");
      }
    }
    sub.parts.push_back(std::move(a));
  }
  if (!dry_run) record_or_cancel(sweep, dirs.named, sub, profile.name, stamp);
  return sub;
}

// Where the runs Slurm knows about are queued: "12_3" -> job 12, index 3.
std::map<std::string, Queued> queued_elements(const std::map<std::string, SlurmElement>& in_slurm) {
  std::map<std::string, Queued> out;
  for (const auto& [run_id, e] : in_slurm) {
    auto us = e.id.find('_');
    if (us == std::string::npos || e.id.find_first_not_of("0123456789_") != std::string::npos) continue;
    out[run_id] = {e.id.substr(0, us), std::stoul(e.id.substr(us + 1)), 0};
  }
  return out;
}

// The cluster's limits (a note for each that could not be read), the total checked against
// them; returns the largest array to submit: MaxArraySize, or the profile's max_array_size
// when smaller.
int array_size_limit(const Sweep& sweep, const SlurmProfile& profile, size_t total) {
  const auto limits = read_cluster_limits();
  for (const auto& note : limits.notes) spdlog::warn("sweep {}: {}", sweep.name, note);
  check_total_runs(sweep.name, total, limits);
  int size = limits.max_array_size;
  if (profile.max_array_size > 0 && profile.max_array_size < size) size = profile.max_array_size;
  if (total > size_t(size))
    spdlog::info("sweep {}: {} runs; at most {} in one job array ({}): a stage of more is split into several arrays",
                 sweep.name, total, size,
                 size == limits.max_array_size ? "the cluster's MaxArraySize" : "the profile's max_array_size");
  return size;
}

}  // namespace

namespace {

// A dry run's folder for its scripts: `script_dir` (kept), or a temporary one, removed at the end.
struct DryRunFolder {
  std::string path;
  bool temporary = false;
  explicit DryRunFolder(const std::string& script_dir) {
    if (!script_dir.empty()) {
      path = fs::absolute(script_dir).string();
      ensure_dir(path);
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "aimrun-dry-run-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error(tmpl + ": cannot create a temporary folder: " + std::strerror(errno));
    path = tmpl;
    temporary = true;
  }
  ~DryRunFolder() {
    std::error_code ec;
    if (temporary) fs::remove_all(path, ec);
  }
  DryRunFolder(const DryRunFolder&) = delete;
  DryRunFolder& operator=(const DryRunFolder&) = delete;
};

// The queue as `sweep submit` needs it: squeue answered, and every array of the sweep in it
// is recorded (a damaged record is refused while it is read).
SlurmQueue checked_queue(const Sweep& sweep, bool dry_run) {
  auto queue = read_slurm_queue(sweep);
  if (!queue.error.empty() && !dry_run)  // a run already queued would be queued twice
    throw Error("sweep " + sweep.name + ": cannot tell which of its runs are queued: " + queue.error +
                "; nothing was submitted: try again when squeue answers");
  if (!queue.error.empty())
    spdlog::warn("sweep {}: {}; the dry run assumes nothing is queued", sweep.name, queue.error);
  if (auto why = unrecorded_jobs_problem(sweep, queue); !why.empty())
    throw ConfigError("sweep " + sweep.name + ": nothing was submitted: " + why);
  return queue;
}

}  // namespace

SweepSubmission submit_sweep(const Sweep& sweep, const SlurmProfile& profile, const SubmitOptions& options) {
  check_log_folder(sweep);
  const bool dry_run = options.dry_run;
  const std::string dir = fs::absolute(sweep.sweep_dir() + "/slurm").string();
  // A dry run writes nothing below output_dir: no links, no run folders, no lock.
  std::unique_ptr<DryRunFolder> dry_folder;
  if (dry_run) dry_folder = std::make_unique<DryRunFolder>(options.script_dir);
  const ArrayFolders dirs{dry_run && !options.script_dir.empty() ? dry_folder->path : dir,
                          dry_run ? dry_folder->path : dir};
  FileLock lock;
  if (!dry_run) {
    prepare_sweep_dirs(sweep);
    ensure_dir(dir);
    // Submissions of one sweep take turns, so a second one sees the runs the first queued;
    // one stopped (Ctrl-Z) or frozen while it submits holds the next for wait_seconds at most.
    if (!lock.lock_within(dir + "/.submit.lock", options.wait_seconds, "the submission of sweep " + sweep.name))
      throw Error(dir + "/.submit.lock: another `sweep submit` of sweep " + sweep.name + " has held it for " +
                  fmt::format("{:g}", options.wait_seconds) +
                  " s without finishing (stopped with Ctrl-Z? frozen?); nothing was submitted: try again once it has "
                  "ended");
  }
  const auto in_slurm = checked_queue(sweep, dry_run).runs;
  // Every stage's runs first: a sweep larger than the cluster takes is refused before
  // anything is queued.
  struct Pending {
    std::string stage;
    std::vector<std::string> run_ids, run_dirs;
  };
  std::vector<Pending> pending;
  size_t total = 0;
  for (const auto& [stage, runs] : runs_by_stage(sweep)) {
    Pending p{stage, {}, {}};
    p.run_dirs = runs_to_submit(sweep, runs, in_slurm, p.run_ids);
    total += p.run_ids.size();
    if (!p.run_ids.empty()) pending.push_back(std::move(p));
  }
  SweepSubmission out;
  auto& subs = out.stages;
  const int max_array_size = pending.empty() ? 0 : array_size_limit(sweep, profile, total);
  auto queued = queued_elements(in_slurm);
  for (const auto& p : pending) {
    auto sub = submit_stage(sweep, profile, dry_run, dirs, p.stage, p.run_ids, p.run_dirs,
                            stage_dependency(sweep, p.run_ids, queued), max_array_size);
    for (size_t k = 0; k < sub.parts.size(); ++k) {
      const auto& a = sub.parts[k];
      // In a dry run the arrays have no job ids: the next stage's dependency names them.
      const std::string job = dry_run ? "<" + (p.stage.empty() ? std::string("array") : p.stage + " array") +
                                            (sub.parts.size() > 1 ? " " + std::to_string(k + 1) : "") + ">"
                                      : a.job_id;
      for (size_t i = 0; i < a.run_ids.size(); ++i) queued[a.run_ids[i]] = {job, i, a.run_ids.size()};
    }
    subs.push_back(std::move(sub));
  }
  if ((sweep.seeds || sweep.search) && !options.round_command.empty())
    out.round = queue_round_job(sweep, profile, dirs.written, dry_run, in_slurm, subs, options.round_command);
  return out;
}

}  // namespace aim
