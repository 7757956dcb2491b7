// aimrun sweep plan|run SPEC: expand a sweep file into runs and train the pending ones.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "runner/aimrun_path.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/sweep/child_stop.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/search_report.h"
#include "runner/sweep/search_rungs.h"
#include "runner/sweep/search_seeds.h"
#include "runner/sweep/seed_rounds.h"
#include "runner/sweep/slurm_executor.h"
#include "runner/sweep/slurm_rounds.h"
#include "runner/sweep/sweep_spec.h"
#include "runner/sweep/upstream.h"
#include "runner/sweep/watch.h"

namespace aim::cli {

namespace {

struct SweepArgs {
  std::string spec;
  std::vector<std::string> overrides;
  int ranks = 1;
  int jobs = 1;
  bool fail_fast = false;
  std::string profile;
  bool dry_run = false;
  std::string script_dir;
  bool rebuild_records = false;
  bool no_wait = false;
  bool watch = false;
  double interval = 5;
  double submit_wait = 300;
  bool round_job = false;
};

std::string profiles_dir() {
  // slurm/profiles of the source tree this aimrun was built from, unless AIMRUN_PROFILES says otherwise.
  if (const char* v = std::getenv("AIMRUN_PROFILES"); v && *v) return v;
  return AIM_SOURCE_DIR "/slurm/profiles";
}

// What `sweep submit` queued (one line per job array on stdout: its job id), or, in a dry
// run, the scripts it would submit.
void print_submission(const Sweep& sweep, const SlurmProfile& profile, const Submission& sub, bool dry_run) {
  const std::string stage = sub.stage.empty() ? "" : " stage " + sub.stage + ":";
  const size_t n = sub.parts.size();
  for (size_t k = 0; k < n; ++k) {
    const auto& a = sub.parts[k];
    const std::string part = n == 1 ? ""
                                    : "part " + std::to_string(k + 1) + " of " + std::to_string(n) + ", " +
                                          (a.throttle > 0 ? "%" + std::to_string(a.throttle) + ", " : "");
    if (dry_run) {
      if (!sub.stage.empty() || n > 1)
        std::cout << "#" << stage << " " << part << a.run_ids.size() << " runs"
                  << (a.dependency.empty() ? "" : ", would be submitted with --dependency=" + a.dependency) << "\n";
      std::cout << a.text;
      continue;
    }
    const std::string after = a.dependency.empty() ? "" : ", after " + a.dependency;
    spdlog::info("sweep {}:{} submitted job array {} ({}{} runs, profile {}{}); script {}", sweep.name, stage, a.job_id,
                 part, a.run_ids.size(), profile.name, after, a.script);
    std::cout << a.job_id << "\n";
  }
}

// What `sweep submit --rebuild-records` found in squeue and wrote.
void print_rebuilt(const Sweep& sweep, const std::vector<Submission>& subs) {
  const std::string path = submission_record_path(sweep);
  if (subs.empty()) {
    spdlog::info("sweep {}: no job array of it is in Slurm's queue: {} is not needed (nothing is queued)", sweep.name,
                 path);
    return;
  }
  for (const auto& sub : subs)
    for (const auto& a : sub.parts) {
      spdlog::info("sweep {}:{} job array {} ({} runs, script {})", sweep.name,
                   sub.stage.empty() ? "" : " stage " + sub.stage + ":", a.job_id, a.run_ids.size(), a.script);
      std::cout << a.job_id << "\n";
    }
  spdlog::info("sweep {}: {} rebuilt from squeue ({} job arrays)", sweep.name, path, subs.size());
}

// A sweep with rounds (or rungs): its round job (queued, or in a dry run its script) or why none.
void print_round_job(const Sweep& sweep, const RoundJob& job, bool dry_run) {
  const std::string round = round_progress(sweep).name;
  if (!job.note.empty()) return spdlog::info("sweep {}: {}: no round job: {}", sweep.name, round, job.note);
  if (dry_run) {
    std::cout << "# the round job of " << round << ", would be submitted with --dependency=" << job.dependency << "\n"
              << job.text;
    return;
  }
  spdlog::info("sweep {}: {}: round job {} queued, after {}: it queues the next {} (log {}/rounds-{}.out)", sweep.name,
               round, job.job_id, job.dependency, starts_with(round, "rung") ? "rung" : "round",
               std::filesystem::path(job.script).parent_path().string(), job.job_id);
}

// What a sweep with rounds or a search says of its rounds or rungs (stderr).
std::string describe_rounds(const Sweep& s) {
  return (s.search ? describe_search(*s.search) + describe_later_stages(s) : "") +
         (s.seeds ? describe_seed_rounds(*s.seeds) : "");
}

// sweep submit: the pending runs (with --round-job, run by a round job: only when no run of
// the round failed) and, in a sweep with rounds (or a search's rungs), the job that queues
// the next round (rung). A search's winners file is written again (not in a dry run).
void submit_command(const SweepArgs& args) {
  auto profile = load_slurm_profile(args.profile, profiles_dir());
  auto s = load_sweep(args.spec, args.overrides, profile.nodes * profile.tasks_per_node);
  if (s.seeds && !s.stages.empty())
    throw ConfigError(s.seeds->spec.where + ": " + s.seeds->spec.path +
                      ": adaptive seeds in a sweep in stages run locally only (aimrun sweep run), not on Slurm yet "
                      "(docs/sweeps.md, \"Adaptive seeds in the last stage\")");
  if (args.rebuild_records) return print_rebuilt(s, rebuild_submission_record(s));
  if (s.search && !args.dry_run) {  // what is decided so far, as `sweep run` leaves it after each pass
    ensure_dir(s.sweep_dir());
    write_search_winners(s);
  }
  if (args.round_job && (s.seeds || s.search))
    if (auto failed = round_failures(s); !failed.empty()) {
      std::cerr << describe_rounds(s);
      throw Error("sweep " + s.name + ": " + round_progress(s).name + " has runs that did not end done" +
                  (s.search ? " (and did not diverge)" : "") + ":\n" + failed +
                  "\nthe round jobs stop here, nothing was queued: once the cause is fixed, `aimrun sweep submit " +
                  args.spec + " --profile " + args.profile + "` trains them again and goes on");
    }
  SubmitOptions options;
  options.dry_run = args.dry_run;
  options.script_dir = args.script_dir;
  options.wait_seconds = args.submit_wait;
  if (s.seeds || s.search) {
    const std::string aimrun = aimrun_executable(std::filesystem::read_symlink("/proc/self/exe").string());
    options.round_command = {aimrun, "sweep", "submit", std::filesystem::absolute(args.spec).string()};
    options.round_command.insert(options.round_command.end(), args.overrides.begin(), args.overrides.end());
    options.round_command.insert(options.round_command.end(), {"--profile", profile.path, "--round-job"});
  }
  auto result = submit_sweep(s, profile, options);
  if (result.stages.empty()) spdlog::info("sweep {}: nothing to submit (every run is done, running or queued)", s.name);
  for (const auto& sub : result.stages) print_submission(s, profile, sub, args.dry_run);
  if (s.seeds || s.search) {
    print_round_job(s, result.round, args.dry_run);
    std::cerr << describe_rounds(s);
  }
  if (s.search && s.search->finished && !args.dry_run)
    spdlog::info("sweep {}: search finished; winners in {}", s.name, search_winners_path(s));
}

// One run's row of `sweep plan` / `sweep status`: its state from its folder (and Slurm's queue
// where `slurm` is given), and a detail naming an upstream run that needs repair.
struct PlanRow {
  std::vector<std::string> cells;
  std::string state;
  bool nonfinite = false;  // done, but its weights or training loss went NaN or inf
};

PlanRow plan_row(const Sweep& sweep, size_t i, const std::map<std::string, SlurmElement>* slurm) {
  const auto& run = sweep.runs[i];
  auto status = inspect_run(RunPaths{sweep.run_dir(run.run_id)});
  std::string state = to_string(status.state);
  std::string slurm_text;
  if (slurm) {
    auto it = slurm->find(run.run_id);
    if (it != slurm->end()) {
      slurm_text = it->second.id + " " + it->second.state;
      // The folder says what is done or failed; Slurm says what is waiting or running.
      if (status.state != RunState::Done) state = it->second.state == "RUNNING" ? "running" : "queued";
    }
  }
  // A run that cannot train because its upstream run failed, is damaged or lost its
  // weights says so, with the command that repairs the upstream.
  bool repair = false;
  if (!run.upstream.empty() && status.state != RunState::Done && status.state != RunState::Failed && state != "running")
    if (auto why = upstream_problem(sweep.run_dir(run.upstream), &repair); repair)
      status.detail = why + (status.detail.empty() ? "" : "; " + status.detail);
  if (sweep.search && run.stage == sweep.search->stage) {  // a search's run: where its rung left it
    if (!run.settled.empty() && status.state != RunState::Done && status.state != RunState::Running)
      state = "stopped";
    std::string rung = run.settled.empty() && status.state != RunState::Done
                           ? "to epoch " + std::to_string(run.budget > 0 ? run.budget : sweep.search->spec.rungs.back())
                           : run.settled;
    // A run at its rung has a checkpoint, but resumes only when it is promoted.
    status.detail = rung + (status.detail.empty() || !run.settled.empty() ? "" : "; " + status.detail);
  }
  PlanRow row;
  row.state = state;
  row.nonfinite = status.state == RunState::Done && starts_with(status.detail, kNonfiniteDetail);
  row.cells = {std::to_string(i + 1), run.run_id, state};
  if (!sweep.stages.empty()) row.cells.insert(row.cells.end(), {run.stage, run.upstream.empty() ? "-" : run.upstream});
  if (slurm) row.cells.push_back(slurm_text);
  for (const auto& k : sweep.axis_keys) {
    std::string v;
    for (const auto& [ak, av] : run.axes)
      if (ak == k) v = av;
    row.cells.push_back(v);
  }
  row.cells.push_back(status.detail);
  return row;
}

// `sweep status` of a sweep with rounds (or a search's rungs): its round jobs in Slurm's queue.
void print_round_jobs(const Sweep& sweep) {
  const std::string dir = std::filesystem::absolute(sweep.sweep_dir() + "/slurm").string();
  if (!std::filesystem::exists(dir)) return;  // never submitted
  try {
    std::vector<std::string> jobs;
    for (const auto& [id, state] : queued_round_jobs(sweep, dir)) jobs.push_back(id + " " + state);
    const std::string next = starts_with(round_progress(sweep).name, "rung") ? "rung" : "round";
    std::cout << (jobs.empty() ? "no round job in Slurm's queue"
                               : "round job " + join(jobs, ", ") + ": queues the next " + next +
                                     " once the arrays it waits for have ended")
              << " (" << (round_progress(sweep).finished ? "finished" : round_progress(sweep).name) << "; logs " << dir
              << "/rounds-<job>.out)\n";
  } catch (const Error& e) {
    spdlog::warn("sweep {}: {}: its round jobs are not shown", sweep.name, e.what());
  }
}

void print_plan(const Sweep& sweep, bool with_slurm = false) {
  std::vector<std::string> header = {"#", "run-id", "state"};
  if (!sweep.stages.empty()) header.insert(header.end(), {"stage", "upstream"});
  std::map<std::string, SlurmElement> slurm;
  if (with_slurm) {
    std::string error;
    slurm = slurm_run_states(sweep, &error);
    if (!error.empty())
      spdlog::warn("sweep {}: {}: Slurm's queued and running states are not shown", sweep.name, error);
    header.push_back("slurm");
  }
  for (const auto& k : sweep.axis_keys) header.push_back(k);
  header.push_back("detail");
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, int> counts;
  int nonfinite = 0;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    auto row = plan_row(sweep, i, with_slurm ? &slurm : nullptr);
    counts[row.state]++;
    nonfinite += row.nonfinite;
    rows.push_back(std::move(row.cells));
  }
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) std::cout << r[i] << std::string(w[i] - r[i].size() + 2, ' ');
    std::cout << "\n";
  };
  std::cout << "sweep " << sweep.name << ": " << sweep.runs.size() << " runs in " << sweep.output_dir << "/runs, linked from "
            << sweep.sweep_dir() << "\n";
  line(header);
  for (const auto& r : rows) line(r);
  std::vector<std::string> summary;
  for (const auto& [k, v] : counts)
    summary.push_back(std::to_string(v) + " " + k +
                      (k == "done" && nonfinite ? " (" + std::to_string(nonfinite) + " non-finite)" : ""));
  std::cout << join(summary, ", ") << "\n";
  std::cout << describe_rounds(sweep);
  if (with_slurm && (sweep.seeds || sweep.search)) print_round_jobs(sweep);
}

// What a pass of a search changes: the runs to train and the rung each trains to.
std::vector<std::string> search_work(const Sweep& sweep) {
  std::vector<std::string> out;
  for (const auto& r : sweep.runs)
    if (r.settled.empty()) out.push_back(r.run_id + "@" + std::to_string(r.budget));
  return out;
}

// A search in a stage, finished: one more pass trains the later stages' runs that start
// from the winners decided in the last pass (those of earlier passes are done: skipped).
int finish_later_stages(const Sweep& sweep, const LocalRunOptions& options) {
  const int failed = run_sweep_locally(sweep, options);
  std::cerr << describe_later_stages(sweep);
  return failed;
}

// sweep run of a sweep with sweep.search: the runs of the current rungs, then the rungs
// decided again from the run folders, until every group has its winner or a pass changes
// nothing (a failed run, runs left to another process). Writes <sweep>/search-winners.yaml
// after each pass. Returns the failed runs of the last pass (0 once the search is finished).
int run_search_locally(Sweep& sweep, const LocalRunOptions& options) {
  while (true) {
    const auto before = search_work(sweep);
    const int failed = run_sweep_locally(sweep, options);
    if (child_stop_signal() != 0) return failed;  // stopped: the rungs are decided by the next `sweep run`
    apply_search(sweep);
    write_search_winners(sweep);
    const auto& s = *sweep.search;
    if (s.finished || search_work(sweep) == before || (failed && options.fail_fast)) {
      std::cerr << describe_search(s);
      spdlog::info("sweep {}: search {}; winners in {}", sweep.name, s.finished ? "finished" : "not finished",
                   search_winners_path(sweep));
      // Finished: every group decided, so a run that failed in the last pass diverged (an
      // outcome of the search, ranked last), and nothing is left to retry; in a sweep in
      // stages, the later stages' runs of the groups decided last are trained now.
      if (s.finished && !sweep.stages.empty()) return finish_later_stages(sweep, options);
      return s.finished ? 0 : failed;
    }
  }
}

// sweep run of a sweep with sweep.seeds: round after round until nothing is open (or a run
// failed, or the round's runs are left to another process); the runs of each round are
// trained like any sweep's. Beside a search (runner/sweep/search_seeds.h), the rungs first,
// then the rounds on the winners. Returns the failed runs.
int run_seed_rounds_locally(Sweep& sweep, const LocalRunOptions& options) {
  if (sweep.search && !sweep.search->finished) {
    const int failed = run_search_locally(sweep, options);
    apply_search_seeds(sweep);
    if (failed || !sweep.search->finished) return failed;
  }
  while (true) {
    if (!sweep.seeds->blocked.empty()) {  // a group of the search without a winner
      std::cerr << describe_seed_rounds(*sweep.seeds);
      spdlog::warn("sweep {}: no seeds: {}", sweep.name, sweep.seeds->blocked);
      return 0;
    }
    const size_t before = sweep.runs.size();
    const int failed = run_sweep_locally(sweep, options);
    if (failed || child_stop_signal() != 0) return failed;
    if (sweep.search)
      apply_search_seeds(sweep);
    else
      apply_seed_rounds(sweep);
    const auto& r = *sweep.seeds;
    spdlog::info("sweep {}: round {}{}", sweep.name, r.round,
                 r.finished ? ": finished" : r.waiting.empty() ? "" : ": waiting: " + r.waiting);
    // Nothing added: finished, or the round's runs are left to another process (--no-wait).
    if (r.finished || sweep.runs.size() == before) {
      std::cerr << describe_seed_rounds(r);
      return 0;
    }
  }
}

void add_sweep_plan(CLI::App* sweep) {
  auto plan_args = std::make_shared<SweepArgs>();
  auto* plan = sweep->add_subcommand("plan", "List the sweep's runs, their ids and states; runs nothing");
  plan->add_option("spec", plan_args->spec, "sweep YAML file")->required()->check(CLI::ExistingFile);
  plan->add_option("overrides", plan_args->overrides, "key=value overrides applied to every run");
  plan->add_option("--ranks", plan_args->ranks, "ranks per run (part of each run's id; as in sweep run --ranks)")
      ->check(CLI::Range(1, 4096));
  plan->callback([plan_args] { print_plan(load_sweep(plan_args->spec, plan_args->overrides, plan_args->ranks)); });
}

void add_sweep_run(CLI::App* sweep) {
  auto run_args = std::make_shared<SweepArgs>();
  auto* run =
      sweep->add_subcommand("run",
                            "Train the sweep's pending and failed runs here, one after another (--jobs N: up to N at\n"
                            "once); skip done ones. A failed run does not stop the others (unless --fail-fast);\n"
                            "failures are listed at the end and make the exit code non-zero. Runs that another\n"
                            "process is training are left to it, and waited for at the end (unless --no-wait).");
  run->add_option("spec", run_args->spec, "sweep YAML file")->required()->check(CLI::ExistingFile);
  run->add_option("overrides", run_args->overrides, "key=value overrides applied to every run");
  run->add_option("--ranks", run_args->ranks, "ranks per run (started with mpirun)")->check(CLI::Range(1, 4096));
  run->add_option("--jobs", run_args->jobs,
                  "runs trained at once (default 1); each gets OMP_NUM_THREADS = usable cores / (jobs x ranks)\n"
                  "unless it is set, and its output lines are prefixed with its run (docs/sweeps.md)")
      ->check(whole_in(1, kMaxStoppedChildren))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // scripts/quickstart.sh's, then the user's
  run->add_flag("--fail-fast", run_args->fail_fast,
                "stop at the first failed run (with --jobs: start none after it; those running finish)");
  run->add_flag("--no-wait", run_args->no_wait,
                "return without waiting for runs that another process is training (default: wait for them)");
  run->callback([run_args] {
    auto s = load_sweep(run_args->spec, run_args->overrides, run_args->ranks);
    LocalRunOptions options;
    options.ranks = run_args->ranks;
    options.jobs = run_args->jobs;
    options.fail_fast = run_args->fail_fast;
    options.wait_for_others = !run_args->no_wait;
    ChildStops stops;  // TERM, INT, USR2: the runs in training stop with a checkpoint, no other starts
    std::unique_ptr<SweepRunHold> hold;  // across the passes of rounds and rungs (sweep status --watch)
    if (s.seeds || s.search) hold = std::make_unique<SweepRunHold>(s);
    int failed = s.seeds    ? run_seed_rounds_locally(s, options)
                 : s.search ? run_search_locally(s, options)
                            : run_sweep_locally(s, options);
    exit_code() = failed ? kExitError : 0;
    if (const int sig = child_stop_signal(); sig != 0) {
      std::cerr << "aimrun: sweep run stopped by SIG" << sigabbrev_np(sig) << " (exit code " << kExitStopped
                << "); `aimrun sweep run " << run_args->spec << "` again resumes it\n";
      exit_code() = kExitStopped;
    }
  });
}

void add_sweep_submit(CLI::App* sweep) {
  auto submit_args = std::make_shared<SweepArgs>();
  auto* submit = sweep->add_subcommand(
      "submit",
      "Submit the sweep's pending runs to Slurm as one job array (one element per run) and return at once\n"
      "(several arrays where a stage has more runs than the cluster's MaxArraySize).\n"
      "Resources come from a profile (slurm/profiles/<name>.yaml). Runs done, running or already queued are\n"
      "not submitted again. Each element checkpoints on the profile's signal before its time limit and\n"
      "requeues itself; `aimrun sweep status` shows where everything is.");
  submit->add_option("spec", submit_args->spec, "sweep YAML file")->required()->check(CLI::ExistingFile);
  submit->add_option("overrides", submit_args->overrides, "key=value overrides applied to every run");
  submit->add_option("--profile", submit_args->profile, "Slurm profile: a name in slurm/profiles/ or a .yaml path")
      ->required();
  auto* dry = submit->add_flag("--dry-run", submit_args->dry_run,
                               "print the sbatch scripts a submission would write, checked (bash -n; sbatch "
                               "--test-only); submit nothing, write nothing below output_dir");
  submit
      ->add_option("--script-dir", submit_args->script_dir,
                   "with --dry-run: write the scripts and their run lists into this folder (kept), and name it in "
                   "them")
      ->needs(dry);
  submit
      ->add_flag("--rebuild-records", submit_args->rebuild_records,
                 "write <sweep>/slurm/submissions.yaml again from the sweep's job arrays in squeue (found by their "
                 "job name and script folder); the old record is kept as submissions.yaml.damaged; submit nothing")
      ->excludes(dry);
  submit
      ->add_option("--wait", submit_args->submit_wait,
                   "seconds to wait for another `sweep submit` of this sweep to finish (it may be stopped with "
                   "Ctrl-Z); then exit 1, submitting nothing")
      ->check(finite_in(1.0, 86400.0));
  submit->add_flag("--round-job", submit_args->round_job, "run by a sweep's round job (docs/sweeps.md)")->group("");
  submit->callback([submit_args] { submit_command(*submit_args); });
}

// Run by the sbatch script of a later stage, before training: exit 1 (the reason in the
// run's FAILED) when the run's upstream run is not done. Not for users: hidden.
void add_sweep_upstream_check(CLI::App* sweep) {
  auto check_args = std::make_shared<std::pair<std::string, std::string>>();
  auto* check = sweep->add_subcommand("upstream-check", "Is the upstream run of a run done? (used by sbatch scripts)");
  check->group("");
  check->add_option("run_dir", check_args->first, "the run's folder")->required();
  check->add_option("upstream_dir", check_args->second, "its upstream run's folder")->required();
  check->callback([check_args] {
    if (auto why = upstream_problem(check_args->second); !why.empty()) {
      mark_failed(RunPaths{check_args->first}, why);
      spdlog::error("run {} not trained: {}", check_args->first, why);
      exit_code() = kExitError;
    }
  });
}

void add_sweep_status(CLI::App* sweep) {
  auto status_args = std::make_shared<SweepArgs>();
  auto* status = sweep->add_subcommand("status",
                                       "The state of every run: done, running, queued (in Slurm), failed or pending,\n"
                                       "from the run folders and squeue. --watch: a live view (epoch, step, loss, images/s\n"
                                       "and ETA of every run, the sweep's totals and ETA) until nothing runs or is queued.");
  status->add_option("spec", status_args->spec, "sweep YAML file")->required()->check(CLI::ExistingFile);
  status->add_option("overrides", status_args->overrides, "key=value overrides applied to every run");
  status->add_option("--ranks", status_args->ranks, "ranks per run (part of each run's id)")->check(CLI::Range(1, 4096));
  status->add_option("--profile", status_args->profile, "the Slurm profile it was submitted with (its tasks give the ranks)");
  auto* watch = status->add_flag("--watch", status_args->watch,
                   "refresh every --interval seconds until no run is running or queued (or Ctrl-C); redrawn\n"
                   "on a terminal, a log of changes otherwise; exit code 1 when runs failed");
  status->add_option("--interval", status_args->interval, "seconds between refreshes of --watch (default 5)")
      ->check(finite_in(0.2, 3600.0))
      ->needs(watch);
  status->callback([status_args] {
    int ranks = status_args->ranks;
    if (!status_args->profile.empty()) {
      auto profile = load_slurm_profile(status_args->profile, profiles_dir());
      ranks = profile.nodes * profile.tasks_per_node;
    }
    auto sweep = load_sweep(status_args->spec, status_args->overrides, ranks);
    if (!status_args->watch) return print_plan(sweep, true);
    WatchOptions options;
    options.interval_s = status_args->interval;
    options.redraw = ::isatty(STDOUT_FILENO) == 1;
    int failed = watch_sweep(sweep, options);
    exit_code() = failed < 0 ? kExitInterrupted : failed > 0 ? kExitError : 0;
  });
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto* sweep = app.add_subcommand("sweep", command_help("sweep"));
  sweep->require_subcommand(1);
  add_sweep_plan(sweep);
  add_sweep_run(sweep);
  add_sweep_submit(sweep);
  add_sweep_upstream_check(sweep);
  add_sweep_status(sweep);
}

}  // namespace aim::cli
