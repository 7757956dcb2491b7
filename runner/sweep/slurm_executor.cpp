#include "runner/sweep/slurm_executor.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/strings.h"
#include "core/yaml_text.h"
#include "results/run_folder.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/slurm_values.h"

extern char** environ;
namespace fs = std::filesystem;

namespace aim {

namespace {

// Runs argv (no shell: nothing in it is interpreted) in the folder `cwd` ("" = this one);
// returns its stdout and stderr together and puts its exit status in *status.
std::string run_capture(const std::vector<std::string>& argv, const std::string& cwd, int* status) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error("cannot run " + argv[0] + ": pipe: " + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; rc == 0 && ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR));)
    if (n > 0) out.append(buf, size_t(n));
  ::close(fds[0]);
  if (rc != 0) {
    *status = 127;
    return argv[0] + ": " + std::strerror(rc);
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
  return out;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "", ':'))
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

// slurm/profiles/<name>.yaml, or the path itself. A name (not a path) becomes a file name,
// so it must be a safe one (no '/', no '..').
std::string find_profile(const std::string& name_or_path, const std::string& profiles_dir) {
  std::error_code ec;  // "File name too long" and the like: not a file
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               fs::path(name_or_path).extension() == ".yaml";
  if (looks_like_path) throw ConfigError("--profile: " + name_or_path + ": file not found");
  if (auto why = name_problem(name_or_path); !why.empty())
    throw ConfigError("--profile: '" + name_or_path + "' is not a profile name: " + why);
  std::string path = profiles_dir + "/" + name_or_path + ".yaml";
  if (fs::is_regular_file(path, ec)) return path;
  std::vector<std::string> names;
  if (fs::is_directory(profiles_dir))
    for (const auto& e : fs::directory_iterator(profiles_dir))
      if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  std::string hint = closest_match(name_or_path, names);
  throw ConfigError("Slurm profile '" + name_or_path + "' not found in " + profiles_dir + " (profiles: " +
                    join(names, ", ") + ")" + (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
}

// Fields that go into `#SBATCH` lines unquoted (sbatch parses them itself) and are not the
// user's own lines: only characters that need no quoting there.
void check_token(const std::string& where, const std::string& value) {
  static const std::string allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:@_.,+-";
  for (char c : value)
    if (allowed.find(c) == std::string::npos)
      throw ConfigError(where + "'" + value + "': only letters, digits and : @ _ . , + - are allowed here");
}

// One profile key into `p`. `where` is "file:line: key: ".
void read_profile_key(SlurmProfile& p, const std::string& key, const YAML::Node& v, const std::string& where) {
  auto integer = [&](int& out, int lo) {
    try {
      out = v.as<int>();
    } catch (...) {
      throw ConfigError(where + "expected an integer, got '" + (v.IsScalar() ? v.Scalar() : "?") + "'");
    }
    if (out < lo) throw ConfigError(where + "expected at least " + std::to_string(lo));
  };
  // Single-line text; partition and account are inserted verbatim (docs/sweeps.md).
  auto text = [&](std::string& out, bool token) {
    if (!v.IsNull() && !v.IsScalar()) throw ConfigError(where + "expected a single value, got a list or a mapping");
    out = v.IsNull() ? "" : v.Scalar();
    if (auto why = multiline_problem(out); !why.empty()) throw ConfigError(where + "the value " + why);
    if (token) check_token(where, out);
  };
  // A token whose meaning sbatch decides, checked against `problem` (runner/sweep/slurm_values.h).
  auto checked = [&](std::string& out, std::string (*problem)(const std::string&)) {
    text(out, true);
    if (auto why = problem(out); !why.empty()) throw ConfigError(where + why);
  };
  // The user's own lines (module commands, #SBATCH options), one per item, verbatim.
  auto lines = [&](std::vector<std::string>& out) {
    if (v.IsNull()) return;
    if (!v.IsSequence()) throw ConfigError(where + "expected a list of strings");
    for (auto item : v) {
      if (!item.IsScalar()) throw ConfigError(where + "expected a list of strings");
      if (auto why = multiline_problem(item.Scalar()); !why.empty())
        throw ConfigError(where + "an item " + why + " (one line per item)");
      out.push_back(item.Scalar());
    }
  };
  if (key == "nodes") integer(p.nodes, 1);
  else if (key == "tasks_per_node") integer(p.tasks_per_node, 1);
  else if (key == "cpus_per_task") integer(p.cpus_per_task, 1);
  else if (key == "gpus_per_node") integer(p.gpus_per_node, 0);
  else if (key == "throttle") integer(p.throttle, 0);
  else if (key == "time") checked(p.time, slurm_time_problem);
  else if (key == "partition") text(p.partition, false);
  else if (key == "account") text(p.account, false);
  else if (key == "mem") text(p.mem, true);
  else if (key == "signal") checked(p.signal, slurm_signal_problem);
  else if (key == "srun_mpi") text(p.srun_mpi, true);
  else if (key == "modules") lines(p.modules);
  else if (key == "extra_sbatch") lines(p.extra_sbatch);
}

// A signal asked for as long before the limit as the job may run, or longer: every run
// would be stopped as it starts, and requeued forever.
void refuse_signal_after_limit(const SlurmProfile& p, const YAML::Node& root, const std::string& path) {
  const long limit = slurm_time_seconds(p.time), before = slurm_signal_seconds(p.signal);
  if (limit == 0 || before < limit) return;
  const YAML::Node at = root["signal"] ? root["signal"] : root["time"];
  throw ConfigError(path + ":" + std::to_string(at.Mark().line + 1) + ": signal: " + p.signal + " comes " +
                    std::to_string(before) + " s before the time limit, but time " + p.time + " is " +
                    std::to_string(limit) + " s: every run would be stopped as it starts");
}

}  // namespace

SlurmProfile load_slurm_profile(const std::string& name_or_path, const std::string& profiles_dir) {
  const std::string path = find_profile(name_or_path, profiles_dir);
  const YAML::Node root = load_yaml_file(path);  // one document, each key once
  if (!root.IsNull() && !root.IsMap()) throw ConfigError(path + ": expected a mapping of profile keys");
  SlurmProfile p;
  p.name = fs::path(path).stem().string();
  const std::vector<std::string> keys = {"nodes", "tasks_per_node", "cpus_per_task", "gpus_per_node", "throttle",
                                         "time", "partition", "account", "mem", "signal", "srun_mpi", "modules",
                                         "extra_sbatch"};
  for (auto it : root) {
    const std::string line = path + ":" + std::to_string(it.first.Mark().line + 1) + ": ";
    if (!it.first.IsScalar()) throw ConfigError(line + "expected a key name");
    auto key = it.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      auto hint = closest_match(key, keys);
      throw ConfigError(line + key + ": unknown key" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    read_profile_key(p, key, it.second, line + key + ": ");
  }
  refuse_signal_after_limit(p, root, path);
  return p;
}

namespace {

// The #SBATCH lines. sbatch parses them itself (not bash), so nothing in them comes from a
// path: the job name is a checked name, the numbers are numbers, time/mem/signal are
// checked tokens, and the log goes to a relative %A_%a.out, i.e. into the folder sbatch is
// started in (submit_sweep starts it in <sweep>/slurm). partition, account and
// extra_sbatch are the user's own text, verbatim (single lines).
void sbatch_header(std::ostream& s, const Sweep& sweep, const SlurmProfile& p, size_t count, const std::string& stage) {
  s << "#SBATCH --job-name=aim-" << sweep.name << (stage.empty() ? "" : "-" + stage) << "\n"
    << "#SBATCH --array=0-" << (count - 1) << (p.throttle > 0 ? "%" + std::to_string(p.throttle) : "") << "\n"
    << "#SBATCH --nodes=" << p.nodes << "\n"
    << "#SBATCH --ntasks-per-node=" << p.tasks_per_node << "\n"
    << "#SBATCH --cpus-per-task=" << p.cpus_per_task << "\n";
  if (p.gpus_per_node > 0) s << "#SBATCH --gpus-per-node=" << p.gpus_per_node << "\n";
  if (!p.mem.empty()) s << "#SBATCH --mem=" << p.mem << "\n";
  if (!p.time.empty()) s << "#SBATCH --time=" << p.time << "\n";
  if (!p.partition.empty()) s << "#SBATCH --partition=" << p.partition << "\n";
  if (!p.account.empty()) s << "#SBATCH --account=" << p.account << "\n";
  s << "#SBATCH --signal=" << p.signal << "\n"
    << "#SBATCH --requeue\n"
    << "#SBATCH --open-mode=append\n"
    << "#SBATCH --output=%A_%a.out\n";
  for (const auto& line : p.extra_sbatch) s << "#SBATCH " << line << "\n";
}

}  // namespace

std::string sbatch_script(const Sweep& sweep, const SlurmProfile& p, const std::string& run_list,
                          const std::string& aimrun, size_t count, const std::string& stage,
                          const std::string& upstream_list) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# Written by `aimrun sweep submit`; what it runs is named below the #SBATCH lines.\n"
    << "# Submit it from the folder it is in: the logs (%A_%a.out) are written there.\n";
  sbatch_header(s, sweep, p, count, stage);
  // Below, bash reads every value: each one is quoted (shell_quote) and never in a comment.
  s << "\n"
    << "aim_sweep=" << shell_quote(sweep.name) << "\n"
    << "aim_sweep_file=" << shell_quote(fs::absolute(sweep.spec_path).string()) << "\n"
    << "aim_profile=" << shell_quote(p.name) << "\n"
    << "aim_run_list=" << shell_quote(run_list) << "\n"
    << "aimrun=" << shell_quote(aimrun) << "\n"
    << "# Runs start in the folder `sweep submit` was started in (relative paths in their configs).\n"
    << "cd -- " << shell_quote(fs::current_path().string()) << " || exit 1\n";
  for (const auto& m : p.modules) s << m << "\n";
  s << "\n"
    << "# Array element i trains the run on line i+1 of the run list.\n"
    << "run_dir=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$aim_run_list\")\n"
    << "echo \"[$(date '+%F %T')] ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}): "
       "$run_dir\"\n"
    << "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}\n";
  if (!upstream_list.empty())
    s << "# Its upstream run (line i+1 of the upstream list) must be done; if not, the reason goes to\n"
      << "# the run's FAILED and the element ends.\n"
      << "aim_upstream_list=" << shell_quote(upstream_list) << "\n"
      << "up_dir=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$aim_upstream_list\")\n"
      << "if ! \"$aimrun\" sweep upstream-check \"$run_dir\" \"$up_dir\"; then exit 1; fi\n";
  s << "srun --mpi=" << shell_quote(p.srun_mpi) << " --kill-on-bad-exit=1 \"$aimrun\""
    << " train \"$run_dir/config.yaml\" --run-dir \"$run_dir\"\n"
    << "rc=$?\n"
    << "# The session ledger: aimrun writes its own end line; a process killed outright (out of\n"
    << "# memory, a lost node) cannot, so its exit code is recorded here: only when the last\n"
    << "# line is this job's own start (an element that found its run busy, exit 4, wrote none).\n"
    << "ledger=\"$run_dir/sessions.jsonl\"\n"
    << "if [ -f \"$ledger\" ] && tail -n 1 \"$ledger\" | grep '\"event\": \"start\"' |\n"
    << "    grep -qF \"\\\"slurm\\\": \\\"job ${SLURM_JOB_ID:-?} (array \"; then\n"
    << "  [ -z \"$(tail -c 1 \"$ledger\")\" ] || echo >> \"$ledger\"  # end a line a full disk cut short\n"
    << "  printf '{\"event\": \"end\", \"time\": %s, \"by\": \"sbatch\", \"exit_code\": %s, \"slurm\": \"job %s\"}\\n' "
       "\"$(date +%s)\" \"$rc\" \"${SLURM_JOB_ID:-?}\" >> \"$ledger\"\n"
    << "fi\n"
    << "# 75: stopped by the signal before the time limit, with a checkpoint: run again later.\n"
    << "if [ $rc -eq 75 ]; then\n"
    << "  echo \"[$(date '+%F %T')] checkpointed; requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
    << "  # The controller may not answer for a moment: a lost requeue leaves the run stopped.\n"
    << "  for attempt in 1 2 3 4 5; do\n"
    << "    scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" && break\n"
    << "    if [ $attempt -eq 5 ]; then\n"
    << "      echo \"[$(date '+%F %T')] could not requeue: the run keeps its checkpoint; aimrun sweep submit queues it "
       "again\"\n"
    << "    else\n"
    << "      echo \"[$(date '+%F %T')] scontrol requeue failed (attempt $attempt of 5); trying again in "
       "${AIM_REQUEUE_PAUSE:-10} s\"\n"
    << "      sleep \"${AIM_REQUEUE_PAUSE:-10}\"\n"
    << "    fi\n"
    << "  done\n"
    << "fi\n"
    << "exit $rc\n";
  return s.str();
}

namespace {

// The absolute folders of the runs of `runs` to submit (not done, not running, not
// queued), one per line of the run list: a folder whose path holds a newline cannot be listed.
std::vector<std::string> runs_to_submit(const Sweep& sweep, const std::vector<const SweepRun*>& runs,
                                        const std::map<std::string, SlurmElement>& in_slurm,
                                        std::vector<std::string>& run_ids) {
  std::vector<std::string> run_dirs;
  for (const auto* run : runs) {
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

void record_submission(const std::string& dir, const Submission& sub, const SlurmProfile& profile,
                       const std::string& stamp) {
  YAML::Node record;
  const std::string record_path = dir + "/submissions.yaml";
  if (fs::exists(record_path)) record = YAML::LoadFile(record_path);
  YAML::Node entry;
  entry["job_id"] = sub.job_id;
  entry["submitted"] = stamp;
  entry["profile"] = profile.name;
  entry["script"] = sub.script;
  if (!sub.stage.empty()) entry["stage"] = sub.stage;
  if (!sub.dependency.empty()) entry["dependency"] = sub.dependency;
  for (const auto& id : sub.run_ids) entry["runs"].push_back(id);
  record.push_back(entry);
  write_text_atomic(record_path, yaml_block_text(record));
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

// Writes, checks and (unless a dry run) submits the array of one stage's runs `run_dirs`.
Submission submit_stage(const Sweep& sweep, const SlurmProfile& profile, bool dry_run, const std::string& dir,
                        const std::string& stage, const std::vector<std::string>& run_dirs, Submission sub) {
  char time_text[32];
  std::time_t t = std::time(nullptr);
  std::strftime(time_text, sizeof time_text, "%Y%m%d-%H%M%S", std::localtime(&t));
  const std::string stamp =
      std::string(time_text) + "-" + std::to_string(getpid()) + (stage.empty() ? "" : "-" + stage);
  const std::string list = dir + "/runs-" + stamp + ".txt";
  write_text_atomic(list, join(run_dirs, "\n") + "\n");
  std::string upstream_list;
  const auto* first = sweep.find_run(sub.run_ids.front());
  if (first && !first->upstream.empty()) {
    upstream_list = dir + "/upstream-" + stamp + ".txt";
    write_text_atomic(upstream_list, upstream_lines(sweep, sub.run_ids));
  }
  std::string aimrun = fs::read_symlink("/proc/self/exe").string();
  sub.script = dir + "/array-" + stamp + ".sbatch";
  write_text_atomic(sub.script,
                    sbatch_script(sweep, profile, list, aimrun, run_dirs.size(), stage, upstream_list));
  check_script(sub.script, dir, dry_run);
  if (dry_run) return sub;
  // In <sweep>/slurm, where the script's relative --output puts the logs. An array that
  // waits for another is cancelled by Slurm when that one fails (its runs stay pending here).
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  if (!sub.dependency.empty()) argv.insert(argv.end(), {"--dependency=" + sub.dependency, "--kill-on-invalid-dep=yes"});
  argv.push_back(sub.script);
  int status = 0;
  std::string out = trim(run_capture(argv, dir, &status));
  if (status != 0) throw Error("sbatch failed for " + sub.script + ": " + out);
  sub.job_id = parse_job_id(out, sub.script);
  try {
    record_submission(dir, sub, profile, stamp);
  } catch (const std::exception& e) {
    // Unrecorded, its runs would look unqueued to the next submission and be queued twice.
    int cancelled = 0;
    const std::string said = trim(run_capture({"scancel", sub.job_id}, dir, &cancelled));
    throw Error("job " + sub.job_id + " was queued but cannot be recorded (" + e.what() + "): " +
                (cancelled == 0 ? "it is cancelled again, none of it runs"
                                : "cancelling it failed too (" + said + "): cancel it by hand, scancel " + sub.job_id));
  }
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

}  // namespace

std::vector<Submission> submit_sweep(const Sweep& sweep, const SlurmProfile& profile, bool dry_run,
                                     double wait_seconds) {
  check_log_folder(sweep);
  prepare_sweep_dirs(sweep);
  const std::string dir = fs::absolute(sweep.sweep_dir() + "/slurm").string();
  ensure_dir(dir);
  // Submissions of one sweep take turns, so a second one sees the runs the first queued;
  // one stopped (Ctrl-Z) or frozen while it submits holds the next for wait_seconds at most.
  FileLock lock;
  if (!lock.lock_within(dir + "/.submit.lock", wait_seconds, "the submission of sweep " + sweep.name))
    throw Error(
        dir + "/.submit.lock: another `sweep submit` of sweep " + sweep.name + " has held it for " +
        fmt::format("{:g}", wait_seconds) +
        " s without finishing (stopped with Ctrl-Z? frozen?); nothing was submitted: try again once it has ended");
  std::string squeue_error;
  const auto in_slurm = slurm_run_states(sweep, &squeue_error);
  if (!squeue_error.empty() && !dry_run)  // a run already queued would be queued twice
    throw Error("sweep " + sweep.name + ": cannot tell which of its runs are queued: " + squeue_error +
                "; nothing was submitted: try again when squeue answers");
  if (!squeue_error.empty())
    spdlog::warn("sweep {}: {}; the dry run assumes nothing is queued", sweep.name, squeue_error);
  auto queued = queued_elements(in_slurm);
  std::vector<Submission> subs;
  for (const auto& [stage, runs] : runs_by_stage(sweep)) {
    Submission sub;
    sub.stage = stage;
    const auto run_dirs = runs_to_submit(sweep, runs, in_slurm, sub.run_ids);
    if (sub.run_ids.empty()) continue;
    sub.dependency = stage_dependency(sweep, sub.run_ids, queued);
    sub = submit_stage(sweep, profile, dry_run, dir, stage, run_dirs, sub);
    // In a dry run the arrays have no job ids: the next stage's dependency names this one.
    const std::string job = dry_run ? "<" + (stage.empty() ? std::string("array") : stage + " array") + ">" : sub.job_id;
    for (size_t i = 0; i < sub.run_ids.size(); ++i) queued[sub.run_ids[i]] = {job, i, sub.run_ids.size()};
    subs.push_back(sub);
  }
  return subs;
}

std::vector<Submission> read_submissions(const Sweep& sweep) {
  std::vector<Submission> out;
  const std::string path = sweep.sweep_dir() + "/slurm/submissions.yaml";
  if (!fs::exists(path)) return out;
  try {
    for (auto e : YAML::LoadFile(path)) {
      Submission s;
      s.job_id = e["job_id"].as<std::string>();
      s.script = e["script"] ? e["script"].as<std::string>() : "";
      for (auto r : e["runs"]) s.run_ids.push_back(r.as<std::string>());
      out.push_back(s);
    }
  } catch (const YAML::Exception& e) {
    throw Error(path + ": unreadable submission record: " + e.what());
  }
  return out;
}

std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep, std::string* error) {
  std::map<std::string, SlurmElement> out;
  auto subs = read_submissions(sweep);
  if (subs.empty()) return out;
  int status = 0;
  // All of squeue (-r: one line per array element, pending ones included), filtered here:
  // asking for finished job ids makes squeue fail.
  std::string text = run_capture({"squeue", "-h", "-r", "-o", "%i %T"}, "", &status);
  if (status != 0) {
    if (error) *error = "squeue failed (exit " + std::to_string(status) + "): " + trim(text.substr(0, text.find('\n')));
    return out;
  }
  std::istringstream in(text);
  std::string id, state;
  while (in >> id >> state) {
    auto us = id.find('_');
    if (us == std::string::npos) continue;
    for (const auto& s : subs) {
      if (id.substr(0, us) != s.job_id) continue;
      const std::string index = id.substr(us + 1);
      if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 9) continue;
      size_t idx = std::stoul(index);
      if (idx < s.run_ids.size()) out[s.run_ids[idx]] = {id, state};
    }
  }
  return out;
}

}  // namespace aim
