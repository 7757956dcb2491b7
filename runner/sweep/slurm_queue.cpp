#include "runner/sweep/slurm_queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "runner/sweep/slurm_command.h"

namespace fs = std::filesystem;

namespace aim {

namespace slurm_queue {

// The stage a job of this sweep runs, from its name aim-<sweep>[-<stage>]; false when the
// name is not one of the sweep's.
bool stage_of(const Sweep& sweep, const std::string& name, std::string& stage) {
  const std::string base = "aim-" + sweep.name;
  if (name == base && sweep.stages.empty()) {
    stage.clear();
    return true;
  }
  if (name.size() <= base.size() + 1 || name.compare(0, base.size() + 1, base + "-") != 0) return false;
  stage = name.substr(base.size() + 1);
  for (const auto& st : sweep.stages)
    if (st.name == stage) return true;
  return false;
}

// Whether `script` (squeue's %o) is a file in the sweep's slurm folder.
bool in_slurm_folder(const Sweep& sweep, const std::string& script) {
  if (script.empty() || script[0] != '/') return false;
  const fs::path folder = fs::absolute(sweep.sweep_dir() + "/slurm").lexically_normal();
  const fs::path parent = fs::path(script).lexically_normal().parent_path();
  if (parent == folder) return true;
  std::error_code ec;
  return fs::equivalent(parent, folder, ec);
}

// One line of `squeue -h -r -o "%i %T %j %o"`: element id, state, job name, script (the rest
// of the line: a path may hold spaces). A stand-in may print the first two only.
struct Line {
  std::string id, state, name, script;
};

bool parse_line(const std::string& text, Line& line) {
  std::istringstream in(text);
  if (!(in >> line.id >> line.state)) return false;
  in >> line.name;
  std::getline(in, line.script);
  line.script = trim(line.script);
  return true;
}

}  // namespace slurm_queue

SlurmQueue read_slurm_queue(const Sweep& sweep) {
  using namespace slurm_queue;
  SlurmQueue q;
  std::map<std::string, const SubmittedArray*> arrays;  // by job id
  const auto subs = read_submissions(sweep);
  for (const auto& s : subs)
    for (const auto& p : s.parts) arrays[p.job_id] = &p;
  q.recorded = arrays.size();
  if (arrays.empty() && !on_path("squeue")) return q;
  int status = 0;
  // All of squeue, filtered here: asking for finished job ids makes squeue fail.
  const std::string text = run_capture({"squeue", "-h", "-r", "-o", "%i %T %j %o"}, "", &status);
  if (status != 0) {
    q.error = "squeue failed (exit " + std::to_string(status) + "): " + trim(text.substr(0, text.find('\n')));
    return q;
  }
  std::set<std::string> seen;
  std::istringstream in(text);
  for (std::string raw; std::getline(in, raw);) {
    Line line;
    if (!parse_line(raw, line)) continue;
    const auto us = line.id.find('_');
    const std::string job = line.id.substr(0, us);
    QueuedJob qj{job, "", line.script};
    if (stage_of(sweep, line.name, qj.stage) && in_slurm_folder(sweep, line.script) && seen.insert(job).second) {
      q.jobs.push_back(qj);
      if (!arrays.count(job)) q.unrecorded.push_back(qj);
    }
    if (us == std::string::npos) continue;
    auto it = arrays.find(job);
    if (it == arrays.end()) continue;
    const std::string index = line.id.substr(us + 1);
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 9) continue;
    const size_t idx = std::stoul(index);
    if (idx < it->second->run_ids.size()) q.runs[it->second->run_ids[idx]] = {line.id, line.state};
  }
  return q;
}

std::string unrecorded_jobs_problem(const Sweep& sweep, const SlurmQueue& queue) {
  if (queue.unrecorded.empty()) return "";
  std::vector<std::string> ids;
  for (const auto& j : queue.unrecorded) ids.push_back(j.job_id);
  const bool one = ids.size() == 1;
  return std::string(one ? "job " : "jobs ") + join(ids, ", ") + " of sweep " + sweep.name + " (named aim-" +
         sweep.name + ", scripts in " + sweep.sweep_dir() + "/slurm) " + (one ? "is" : "are") +
         " in Slurm's queue but not in " + submission_record_path(sweep) +
         " (deleted, or written by another copy of the sweep): rebuild the record with " +
         rebuild_records_command(sweep) + ", or cancel " + (one ? "it" : "them") + ": scancel " + join(ids, " ");
}

std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep, std::string* error) {
  auto q = read_slurm_queue(sweep);
  if (error && q.recorded > 0) *error = q.error;
  if (auto why = unrecorded_jobs_problem(sweep, q); !why.empty())
    spdlog::warn("{}: their runs are shown as not queued", why);
  return q.runs;
}

namespace slurm_queue {

// The size of the array a script of `sweep submit` queues: its "#SBATCH --array=0-<n-1>" line.
size_t array_size(const std::string& script_text) {
  const std::string key = "\n#SBATCH --array=0-";
  const auto at = script_text.find(key);
  if (at == std::string::npos) return 0;
  const std::string last = script_text.substr(
      at + key.size(), script_text.find_first_not_of("0123456789", at + key.size()) - at - key.size());
  return last.empty() || last.size() > 9 ? 0 : std::stoul(last) + 1;
}

// The runs of a queued array of this sweep: its script array-<stem>.sbatch has its run list
// runs-<stem>.txt beside it, one run folder a line, as many as the array has elements, each
// a run of the sweep.
SubmittedArray array_of(const Sweep& sweep, const QueuedJob& job) {
  const fs::path script(job.script);
  const std::string file = script.filename().string();
  const std::string prefix = "array-", suffix = ".sbatch";
  const std::string cancel = ": cancel it (scancel " + job.job_id + ") and submit again";
  if (file.size() <= prefix.size() + suffix.size() || file.compare(0, prefix.size(), prefix) != 0 ||
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
    throw Error("job " + job.job_id + ": its script " + job.script + " is not one `sweep submit` wrote" + cancel);
  const std::string stem = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  const std::string list = (script.parent_path() / ("runs-" + stem + ".txt")).string();
  std::string text, script_text;
  try {
    script_text = read_text(job.script);
    text = read_text(list);
  } catch (const std::exception& e) {
    throw Error("job " + job.job_id + ": its script or run list cannot be read (" + e.what() + ")" + cancel);
  }
  SubmittedArray a;
  a.job_id = job.job_id;
  a.script = job.script;
  for (const auto& line : split(text, '\n'))
    if (!line.empty()) a.run_ids.push_back(fs::path(line).filename().string());
  const size_t size = array_size(script_text);
  if (size == 0 || a.run_ids.size() != size || text.back() != '\n')
    throw Error("job " + job.job_id + ": its run list " + list + " has " + std::to_string(a.run_ids.size()) +
                " runs, its script an array of " + std::to_string(size) + cancel);
  for (const auto& id : a.run_ids) {
    const auto* run = sweep.find_run(id);
    if (!run || (!job.stage.empty() && run->stage != job.stage))
      throw Error("job " + job.job_id + ": its run list " + list + " names " + id + ", not a run of " +
                  (job.stage.empty() ? "sweep " + sweep.name : "stage " + job.stage) + cancel);
  }
  return a;
}

// The dependencies Slurm still holds for each job of the queue, from `squeue -h -o "%i %E"`
// ("635_[0-1] afterok:634_*(unfulfilled),afterany:634_1(unfulfilled)"), as `sweep submit`
// wrote them: {afterok part (the stage's), whole (with afterany:<part>)}. A satisfied
// dependency is no longer shown by Slurm, so it is not recovered. By job id; a stand-in
// squeue that prints something else gives none.
struct QueuedDependency {
  std::string stage, whole;
};

QueuedDependency parse_dependency(const std::string& field) {
  std::map<std::string, std::vector<std::string>> by_type;  // afterok / afterany -> targets
  std::vector<std::string> order;
  for (auto entry : split(field, ',')) {
    entry = trim(entry);
    if (const auto paren = entry.find('('); paren != std::string::npos) entry = entry.substr(0, paren);
    const auto colon = entry.find(':');
    if (colon == std::string::npos) continue;
    const std::string type = entry.substr(0, colon);
    if (type != "afterok" && type != "afterany") continue;
    for (auto target : split(entry.substr(colon + 1), ':')) {
      if (target.size() > 2 && target.compare(target.size() - 2, 2, "_*") == 0) target.resize(target.size() - 2);
      if (target.empty() || target.find_first_not_of("0123456789_") != std::string::npos) continue;
      if (!by_type.count(type)) order.push_back(type);
      by_type[type].push_back(target);
    }
  }
  QueuedDependency d;
  for (const auto& type : order) {
    const std::string text = type + ":" + join(by_type[type], ":");
    if (type == "afterok") d.stage = text;
    d.whole += (d.whole.empty() ? "" : ",") + text;
  }
  return d;
}

std::map<std::string, QueuedDependency> queued_dependencies() {
  std::map<std::string, QueuedDependency> out;
  int status = 0;
  const std::string text = run_capture({"squeue", "-h", "-o", "%i %E"}, "", &status);
  if (status != 0) return out;  // the job list itself was read: the record is rebuilt without them
  std::istringstream in(text);
  for (std::string raw; std::getline(in, raw);) {
    std::istringstream words(raw);
    std::string id, field;
    if (!(words >> id >> field)) continue;
    const std::string job = id.substr(0, id.find('_'));
    auto dep = parse_dependency(field);  // a running element shows none: a pending one's wins
    if (!out.count(job) || out[job].whole.empty()) out[job] = dep;
  }
  return out;
}

}  // namespace slurm_queue

std::vector<Submission> rebuild_submission_record(const Sweep& sweep) {
  const std::string dir = sweep.sweep_dir() + "/slurm";
  ensure_dir(dir);
  FileLock lock;
  if (!lock.lock_within(dir + "/.submit.lock", 300, "the submission of sweep " + sweep.name))
    throw Error(dir + "/.submit.lock: another `sweep submit` of sweep " + sweep.name +
                " holds it: nothing was rebuilt; try again once it has ended");
  if (!on_path("squeue")) throw Error("sweep " + sweep.name + ": no squeue on PATH: the record cannot be rebuilt here");
  const std::string path = submission_record_path(sweep);
  const std::string damaged = path + ".damaged";
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) {
    // Aside first: read_slurm_queue reads the record, and refuses it when damaged.
    fs::rename(path, damaged, ec);
    if (ec) throw Error(path + ": cannot move it to " + damaged + ": " + ec.message());
  }
  const auto q = read_slurm_queue(sweep);
  if (!q.error.empty())
    throw Error("sweep " + sweep.name + ": cannot rebuild " + path + ": " + q.error +
                (fs::exists(damaged) ? " (the old record is " + damaged + ")" : ""));
  auto jobs = q.jobs;
  std::sort(jobs.begin(), jobs.end(), [](const QueuedJob& a, const QueuedJob& b) {
    return a.job_id.size() != b.job_id.size() ? a.job_id.size() < b.job_id.size() : a.job_id < b.job_id;
  });
  // The arrays' dependencies (stage on stage, part on part), as far as Slurm still shows them.
  const auto deps = slurm_queue::queued_dependencies();
  std::vector<Submission> subs;
  for (const auto& j : jobs) {
    auto array = slurm_queue::array_of(sweep, j);
    std::string stage;
    if (auto it = deps.find(j.job_id); it != deps.end()) array.dependency = it->second.whole, stage = it->second.stage;
    subs.push_back({j.stage, stage, {array}});
  }
  write_submission_record(path, subs, std::vector<std::string>(subs.size(), "(rebuilt from squeue)"),
                          "rebuilt from squeue");
  return subs;
}

}  // namespace aim
