#include "runner/sweep/slurm_rounds.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/exit_codes.h"
#include "core/files.h"
#include "core/strings.h"
#include "runner/session_ledger.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/slurm_command.h"
#include "runner/sweep/slurm_values.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

constexpr long kRoundJobSeconds = 30 * 60;

// "HH:MM:SS" of at most kRoundJobSeconds, less when the profile allows less.
std::string round_job_time(const SlurmProfile& p) {
  long s = kRoundJobSeconds;
  if (const long limit = slurm_time_seconds(p.time); limit > 0) s = std::min(s, limit);
  char text[16];
  std::snprintf(text, sizeof text, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

// The job ids (not elements) the round's queued runs are in: from squeue, and this
// submission's arrays (placeholders in a dry run).
std::vector<std::string> round_arrays(const Sweep& sweep, const std::map<std::string, SlurmElement>& in_slurm,
                                      const std::vector<Submission>& subs) {
  std::set<std::string> ids;
  for (const auto& run : sweep.runs)
    if (auto it = in_slurm.find(run.run_id); it != in_slurm.end())
      ids.insert(it->second.id.substr(0, it->second.id.find('_')));
  size_t unnamed = 0;
  for (const auto& sub : subs)
    for (const auto& part : sub.parts)
      ids.insert(part.job_id.empty() ? "<array " + std::to_string(++unnamed) + ">" : part.job_id);
  return {ids.begin(), ids.end()};
}

// A round job of this sweep pending in squeue (its script in `dir`): its job id, or "".
std::string pending_round_job(const Sweep& sweep, const std::string& dir) {
  for (const auto& [id, state] : queued_round_jobs(sweep, dir))
    if (state == "PENDING") return id;
  return "";
}

std::string stamp() {
  char text[32];
  std::time_t t = std::time(nullptr);
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", std::localtime(&t));
  return std::string(text) + "-" + std::to_string(getpid());
}

}  // namespace

std::string round_job_name(const Sweep& sweep) { return "aim-" + sweep.name + "+rounds"; }

std::vector<std::pair<std::string, std::string>> queued_round_jobs(const Sweep& sweep, const std::string& dir) {
  int status = 0;
  const std::string out = run_capture({"squeue", "-h", "-n", round_job_name(sweep), "-o", "%i %T %o"}, "", &status);
  if (status != 0)
    throw Error("cannot tell whether a round job of sweep " + sweep.name + " is queued: squeue failed: " + trim(out));
  std::vector<std::pair<std::string, std::string>> jobs;
  std::istringstream in(out);
  for (std::string id, state, script; in >> id >> state && std::getline(in, script);) {
    script = trim(script);
    std::error_code ec;
    if (fs::equivalent(fs::path(script).parent_path(), dir, ec)) jobs.emplace_back(id, state);
  }
  return jobs;
}

RoundProgress round_progress(const Sweep& sweep) {
  RoundProgress p;
  // Beside a search the rounds follow it: its rungs until every group has its winner.
  const bool searching = sweep.search && (!sweep.seeds || !sweep.search->finished);
  if (sweep.seeds && !searching) {
    const auto& r = *sweep.seeds;
    if (!r.blocked.empty()) return {"after the search", true, r.blocked};  // a group without a winner
    return {"round " + std::to_string(r.round), r.finished, r.waiting};
  }
  if (!sweep.search) return p;
  const auto& s = *sweep.search;
  p.finished = s.finished;
  std::set<size_t> rungs;
  std::vector<std::string> waiting;
  for (const auto& g : s.groups) {
    if (g.finished) continue;
    rungs.insert(g.rung + 1);
    if (!g.waiting.empty()) waiting.push_back((g.label.empty() ? "" : g.label + ": ") + g.waiting);
  }
  if (rungs.empty()) rungs.insert(s.spec.rungs.size());
  p.name = rungs.size() == 1 ? "rung " + std::to_string(*rungs.begin())
                             : "rungs " + std::to_string(*rungs.begin()) + "-" + std::to_string(*rungs.rbegin());
  p.waiting = join(waiting, "; ");
  return p;
}

std::string round_job_script(const Sweep& sweep, const SlurmProfile& p, const std::vector<std::string>& command) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# Written by `aimrun sweep submit`: the next round of sweep " << sweep.name << ", once the arrays it waits\n"
    << "# for have ended (docs/sweeps.md, \"Adaptive seeds\", \"Search\"). Its log: rounds-<job>.out beside it.\n"
    << "#SBATCH --job-name=" << round_job_name(sweep) << "\n"
    << "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n"
    << "#SBATCH --time=" << round_job_time(p) << "\n";
  if (!p.partition.empty()) s << "#SBATCH --partition=" << p.partition << "\n";
  if (!p.account.empty()) s << "#SBATCH --account=" << p.account << "\n";
  s << "#SBATCH --open-mode=append\n#SBATCH --output=rounds-%j.out\n\n"
    << "cd -- " << shell_quote(fs::current_path().string()) << " || exit " << kExitError << "\n";
  for (const auto& m : p.modules) s << m << "\n";
  s << "echo \"[$(date '+%F %T')] job ${SLURM_JOB_ID:-?}: the next round of sweep \"" << shell_quote(sweep.name)
    << "\n";
  std::vector<std::string> quoted;
  for (const auto& w : command) quoted.push_back(shell_quote(w));
  s << "exec " << join(quoted, " ") << "\n";
  return s.str();
}

RoundJob queue_round_job(const Sweep& sweep, const SlurmProfile& profile, const std::string& dir, bool dry_run,
                         const std::map<std::string, SlurmElement>& in_slurm, const std::vector<Submission>& subs,
                         const std::vector<std::string>& command) {
  RoundJob job;
  const auto r = round_progress(sweep);
  if (r.finished)
    return job.note = !r.waiting.empty() ? r.waiting
                      : sweep.seeds      ? "its rounds are finished"
                                         : "every group has its winner",
           job;
  const auto arrays = round_arrays(sweep, in_slurm, subs);
  if (arrays.empty())
    return job.note = r.name + " has no run in Slurm" + (r.waiting.empty() ? "" : " (" + r.waiting + ")"), job;
  if (!dry_run)
    if (auto id = pending_round_job(sweep, dir); !id.empty())
      return job.note = "round job " + id + " is queued already", job;
  job.dependency = "afterany:" + join(arrays, ":");
  job.text = round_job_script(sweep, profile, command);
  std::string tag = starts_with(r.name, "round ") ? r.name.substr(6) : r.name;  // 2, rung-2, rungs-1-2
  std::replace(tag.begin(), tag.end(), ' ', '-');
  job.script = dir + "/rounds-" + tag + "-" + stamp() + ".sbatch";
  write_text_atomic(job.script, job.text);
  int status = 0;
  if (auto out = run_capture({"bash", "-n", job.script}, dir, &status); status != 0)
    throw Error(job.script +
                ": bash -n rejects the round job (the profile's `modules` lines are inserted verbatim): " + trim(out));
  if (dry_run) return job;
  const std::string out =
      trim(run_capture({"sbatch", "--parsable", "--dependency=" + job.dependency, job.script}, dir, &status));
  const std::string id = out.substr(0, out.find(';'));
  if (status != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch failed for the round job " + job.script +
                " (the round's arrays are queued; `aimrun sweep "
                "submit` again once they have ended queues the next round): " +
                out);
  job.job_id = id;
  return job;
}

namespace {

// A run not done whose last session ended with an exit code other than 0, a stop for requeue
// or a busy run, without FAILED (killed outright: out of memory, a lost node; the sbatch
// wrapper recorded its exit code): its element ended without its result, and queuing it
// again by itself could loop. "" otherwise.
std::string killed_outright(const RunPaths& paths) {
  const auto ledger = read_ledger(paths);
  if (ledger.empty() || ledger.back().event != "end") return "";
  const auto& e = ledger.back();
  if (e.exit_code == kExitOk || e.exit_code == kExitStopped || e.exit_code == kExitBusy) return "";
  return "ended without FAILED: its last session's exit code " + std::to_string(e.exit_code) + " (" +
         (e.cause.empty() ? describe_exit(e.exit_code) : e.cause) + ")";
}

}  // namespace

std::string round_failures(const Sweep& sweep) {
  std::vector<std::string> lines;
  for (const auto& run : sweep.runs) {
    if (!run.settled.empty()) continue;  // a search's run at its rung, or diverged: an outcome
    const RunPaths paths{sweep.run_dir(run.run_id)};
    const auto st = inspect_run(paths, run.run_id);
    if (st.state == RunState::Failed || st.state == RunState::Unreadable)
      lines.push_back("  " + run.run_id + ": " + to_string(st.state) + ": " + st.detail);
    else if (st.state == RunState::Pending)
      if (auto why = killed_outright(paths); !why.empty()) lines.push_back("  " + run.run_id + ": " + why);
  }
  return join(lines, "\n");
}

}  // namespace aim
