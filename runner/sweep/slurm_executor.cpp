#include "runner/sweep/slurm_executor.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>
#include <sys/wait.h>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "runner/run_paths.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/run_state.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

std::string run_capture(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) throw Error("cannot run: " + cmd);
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe)) out += buf;
  int rc = pclose(pipe);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
  return out;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

SlurmProfile load_slurm_profile(const std::string& name_or_path, const std::string& profiles_dir) {
  std::string path = name_or_path;
  if (!fs::exists(path)) path = profiles_dir + "/" + name_or_path + ".yaml";
  if (!fs::exists(path)) {
    std::vector<std::string> names;
    if (fs::is_directory(profiles_dir))
      for (const auto& e : fs::directory_iterator(profiles_dir))
        if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    std::string hint = closest_match(name_or_path, names);
    throw ConfigError("Slurm profile '" + name_or_path + "' not found in " + profiles_dir + " (profiles: " +
                      join(names, ", ") + ")" + (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  SlurmProfile p;
  p.name = fs::path(path).stem().string();
  const std::vector<std::string> keys = {"nodes", "tasks_per_node", "cpus_per_task", "gpus_per_node", "throttle",
                                         "time", "partition", "account", "mem", "signal", "srun_mpi", "modules",
                                         "extra_sbatch"};
  for (auto it : root) {
    auto key = it.first.as<std::string>();
    auto where = path + ":" + std::to_string(it.first.Mark().line + 1) + ": " + key + ": ";
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      auto hint = closest_match(key, keys);
      throw ConfigError(where + "unknown key" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    const auto& v = it.second;
    auto integer = [&](int& out, int lo) {
      try {
        out = v.as<int>();
      } catch (...) {
        throw ConfigError(where + "expected an integer, got '" + (v.IsScalar() ? v.Scalar() : "?") + "'");
      }
      if (out < lo) throw ConfigError(where + "expected at least " + std::to_string(lo));
    };
    auto text = [&](std::string& out) { out = v.IsNull() ? "" : v.as<std::string>(); };
    auto list = [&](std::vector<std::string>& out) {
      if (v.IsNull()) return;
      if (!v.IsSequence()) throw ConfigError(where + "expected a list of strings");
      for (auto s : v) out.push_back(s.as<std::string>());
    };
    if (key == "nodes") integer(p.nodes, 1);
    else if (key == "tasks_per_node") integer(p.tasks_per_node, 1);
    else if (key == "cpus_per_task") integer(p.cpus_per_task, 1);
    else if (key == "gpus_per_node") integer(p.gpus_per_node, 0);
    else if (key == "throttle") integer(p.throttle, 0);
    else if (key == "time") text(p.time);
    else if (key == "partition") text(p.partition);
    else if (key == "account") text(p.account);
    else if (key == "mem") text(p.mem);
    else if (key == "signal") text(p.signal);
    else if (key == "srun_mpi") text(p.srun_mpi);
    else if (key == "modules") list(p.modules);
    else if (key == "extra_sbatch") list(p.extra_sbatch);
  }
  if (p.signal.rfind("USR1", 0) == 0)
    throw ConfigError(path + ": signal: NCCL uses USR1 internally; use USR2 (the default)");
  return p;
}

std::string sbatch_script(const Sweep& sweep, const SlurmProfile& p, const std::string& run_list,
                          const std::string& aimrun, size_t count) {
  const std::string logs = fs::absolute(sweep.sweep_dir() + "/slurm").string();
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# Written by `aimrun sweep submit` for sweep " << sweep.name << " (" << sweep.spec_path << "), profile "
    << p.name << ".\n"
    << "#SBATCH --job-name=aim-" << sweep.name << "\n"
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
    << "#SBATCH --output=" << logs << "/%A_%a.out\n";
  for (const auto& line : p.extra_sbatch) s << "#SBATCH " << line << "\n";
  for (const auto& m : p.modules) s << m << "\n";
  s << "\n"
    << "# Array element i trains the run on line i+1 of the run list.\n"
    << "run_dir=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " << quote(run_list) << ")\n"
    << "echo \"[$(date '+%F %T')] ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}): "
       "$run_dir\"\n"
    << "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}\n"
    << "srun --mpi=" << p.srun_mpi << " --kill-on-bad-exit=1 " << quote(aimrun)
    << " train \"$run_dir/config.yaml\" --run-dir \"$run_dir\"\n"
    << "rc=$?\n"
    << "# 75: stopped by the signal before the time limit, with a checkpoint: run again later.\n"
    << "if [ $rc -eq 75 ]; then\n"
    << "  echo \"[$(date '+%F %T')] checkpointed; requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
    << "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
    << "fi\n"
    << "exit $rc\n";
  return s.str();
}

Submission submit_sweep(const Sweep& sweep, const SlurmProfile& profile, bool dry_run) {
  prepare_sweep_dirs(sweep);
  const std::string dir = sweep.sweep_dir() + "/slurm";
  ensure_dir(dir);
  Submission sub;
  std::vector<std::string> run_dirs;
  // Runs queued or running already (from an earlier submission) are not submitted twice.
  const auto in_slurm = slurm_run_states(sweep);
  for (const auto& run : sweep.runs) {
    auto st = inspect_run(RunPaths{sweep.run_dir(run.run_id)}).state;
    if (st == RunState::Done || st == RunState::Running || in_slurm.count(run.run_id)) continue;
    sub.run_ids.push_back(run.run_id);
    run_dirs.push_back(fs::absolute(sweep.run_dir(run.run_id)).string());
  }
  if (sub.run_ids.empty()) return sub;
  char stamp[32];
  std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  const std::string list = fs::absolute(dir + "/runs-" + stamp + ".txt").string();
  write_text_atomic(list, join(run_dirs, "\n") + "\n");
  std::string aimrun = fs::read_symlink("/proc/self/exe").string();
  sub.script = dir + "/array-" + stamp + ".sbatch";
  write_text_atomic(sub.script, sbatch_script(sweep, profile, list, aimrun, run_dirs.size()));
  if (dry_run) return sub;
  int status = 0;
  std::string out = trim(run_capture("sbatch --parsable " + quote(sub.script), &status));
  if (status != 0) throw Error("sbatch failed for " + sub.script + ": " + out);
  sub.job_id = out.substr(0, out.find(';'));
  // Append to the record of submissions (rewritten atomically).
  YAML::Node record;
  const std::string record_path = dir + "/submissions.yaml";
  if (fs::exists(record_path)) record = YAML::LoadFile(record_path);
  YAML::Node entry;
  entry["job_id"] = sub.job_id;
  entry["submitted"] = stamp;
  entry["profile"] = profile.name;
  entry["script"] = sub.script;
  for (const auto& id : sub.run_ids) entry["runs"].push_back(id);
  record.push_back(entry);
  YAML::Emitter em;
  em << record;
  write_text_atomic(record_path, std::string(em.c_str()) + "\n");
  return sub;
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

std::map<std::string, SlurmElement> slurm_run_states(const Sweep& sweep) {
  std::map<std::string, SlurmElement> out;
  auto subs = read_submissions(sweep);
  if (subs.empty()) return out;
  int status = 0;
  // All of squeue (-r: one line per array element, pending ones included), filtered here:
  // asking for finished job ids makes squeue fail.
  std::string text = run_capture("squeue -h -r -o '%i %T'", &status);
  if (status != 0) return out;
  std::istringstream in(text);
  std::string id, state;
  while (in >> id >> state) {
    auto us = id.find('_');
    if (us == std::string::npos) continue;
    for (const auto& s : subs) {
      if (id.substr(0, us) != s.job_id) continue;
      size_t idx = std::stoul(id.substr(us + 1));
      if (idx < s.run_ids.size()) out[s.run_ids[idx]] = {id, state};
    }
  }
  return out;
}

}  // namespace aim
