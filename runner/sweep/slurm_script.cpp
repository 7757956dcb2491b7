#include "runner/sweep/slurm_executor.h"

#include <filesystem>
#include <sstream>

#include "core/exit_codes.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

// The #SBATCH lines. sbatch parses them itself (not bash), so nothing in them comes from a
// path: the job name is a checked name, the numbers are numbers, time/mem/signal are
// checked tokens, and the log goes to a relative %A_%a.out, i.e. into the folder sbatch is
// started in (submit_sweep starts it in <sweep>/slurm). partition, account and
// extra_sbatch are the user's own text, verbatim (single lines).
void sbatch_header(std::ostream& s, const Sweep& sweep, const SlurmProfile& p, size_t count, const std::string& stage,
                   int throttle) {
  s << "#SBATCH --job-name=aim-" << sweep.name << (stage.empty() ? "" : "-" + stage) << "\n"
    << "#SBATCH --array=0-" << (count - 1) << (throttle > 0 ? "%" + std::to_string(throttle) : "") << "\n"
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
                          const std::string& upstream_list, int throttle, const std::string& budget_list) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# Written by `aimrun sweep submit`; what it runs is named below the #SBATCH lines.\n"
    << "# Submit it from the folder it is in: the logs (%A_%a.out) are written there.\n";
  sbatch_header(s, sweep, p, count, stage, throttle < 0 ? p.throttle : throttle);
  // Below, bash reads every value: each one is quoted (shell_quote) and never in a comment.
  s << "\n"
    << "aim_sweep=" << shell_quote(sweep.name) << "\n"
    << "aim_sweep_file=" << shell_quote(fs::absolute(sweep.spec_path).string()) << "\n"
    << "aim_profile=" << shell_quote(p.name) << "\n"
    << "aim_run_list=" << shell_quote(run_list) << "\n"
    << "aimrun=" << shell_quote(aimrun) << "\n"
    << "# Runs start in the folder `sweep submit` was started in (relative paths in their configs).\n"
    << "cd -- " << shell_quote(fs::current_path().string()) << " || exit " << kExitError << "\n";
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
      << "if ! \"$aimrun\" sweep upstream-check \"$run_dir\" \"$up_dir\"; then exit " << kExitError << "; fi\n";
  if (!budget_list.empty())
    s << "# A search: the run trains to its rung, the epoch on line i+1 of the budget list (0: to its end),\n"
      << "# and stops there with a checkpoint and its rung file (docs/sweeps.md, \"Search\").\n"
      << "aim_budget_list=" << shell_quote(budget_list) << "\n"
      << "aim_budget=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$aim_budget_list\")\n"
      << "if ! [[ \"$aim_budget\" =~ ^[0-9]+$ ]]; then\n"
      << "  echo \"[$(date '+%F %T')] line $((SLURM_ARRAY_TASK_ID + 1)) of $aim_budget_list is not an epoch: "
         "'$aim_budget'\"\n"
      << "  exit " << kExitConfig << "\n"
      << "fi\n"
      << "aim_stop=()\n"
      << "if [ \"$aim_budget\" != 0 ]; then aim_stop=(--stop-after-epoch \"$aim_budget\"); fi\n";
  s << "srun --mpi=" << shell_quote(p.srun_mpi) << " --kill-on-bad-exit=1 \"$aimrun\""
    << " train \"$run_dir/config.yaml\" --run-dir \"$run_dir\"" << (budget_list.empty() ? "" : " \"${aim_stop[@]}\"")
    << "\n"
    << "rc=$?\n"
    << "# The session ledger: aimrun writes its own end line; a process killed outright (out of\n"
    << "# memory, a lost node) cannot, so its exit code is recorded here: only when the last\n"
    << "# line is this job's own start (an element that found its run busy, exit " << kExitBusy << ", wrote none).\n"
    << "ledger=\"$run_dir/sessions.jsonl\"\n"
    << "if [ -f \"$ledger\" ] && tail -n 1 \"$ledger\" | grep '\"event\": \"start\"' |\n"
    << "    grep -qF \"\\\"slurm\\\": \\\"job ${SLURM_JOB_ID:-?} (array \"; then\n"
    << "  [ -z \"$(tail -c 1 \"$ledger\")\" ] || echo >> \"$ledger\"  # end a line a full disk cut short\n"
    << "  aim_end=$(printf '{\"event\": \"end\", \"time\": %s, \"by\": \"sbatch\", \"exit_code\": %s, \"slurm\": \"job "
       "%s\"' "
       "\"$(date +%s)\" \"$rc\" \"${SLURM_JOB_ID:-?}\")\n"
    << "  # its CRC-32 as aimrun checks each line (zlib's: gzip ends with it, little-endian)\n"
    << "  aim_crc=$(printf '%s' \"$aim_end\" | gzip -c | tail -c 8 | od -An -tx1 | awk '{print $4 $3 $2 $1}')\n"
    << "  printf '%s, \"crc32\": \"%s\"}\\n' \"$aim_end\" \"$aim_crc\" >> \"$ledger\"\n"
    << "fi\n"
    << "# " << kExitStopped << ": stopped by the signal before the time limit, with a checkpoint: run again later.\n"
    << "if [ $rc -eq " << kExitStopped << " ]; then\n"
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

}  // namespace aim
