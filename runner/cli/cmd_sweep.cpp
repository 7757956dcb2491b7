// aimrun sweep plan|run SPEC: expand a sweep file into runs and train the pending ones.
#include <spdlog/spdlog.h>

#include <iostream>

#include "core/strings.h"
#include "runner/cli/commands.h"
#include "runner/sweep/local_executor.h"
#include "runner/sweep/run_state.h"
#include "runner/sweep/sweep_spec.h"

namespace aim::cli {

namespace {

struct SweepArgs {
  std::string spec;
  std::vector<std::string> overrides;
  int ranks = 1;
  bool fail_fast = false;
};

void print_plan(const Sweep& sweep) {
  std::vector<std::string> header = {"#", "run-id", "state"};
  for (const auto& k : sweep.axis_keys) header.push_back(k);
  header.push_back("detail");
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, int> counts;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const auto& run = sweep.runs[i];
    auto status = inspect_run(RunPaths{sweep.run_dir(run.run_id)});
    counts[to_string(status.state)]++;
    std::vector<std::string> row = {std::to_string(i + 1), run.run_id, to_string(status.state)};
    for (const auto& k : sweep.axis_keys) {
      std::string v;
      for (const auto& [ak, av] : run.axes)
        if (ak == k) v = av;
      row.push_back(v);
    }
    row.push_back(status.detail);
    rows.push_back(row);
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
  for (const auto& [k, v] : counts) summary.push_back(std::to_string(v) + " " + k);
  std::cout << join(summary, ", ") << "\n";
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto* sweep = app.add_subcommand("sweep", "Expand, run and inspect YAML sweeps (docs/sweeps.md)");
  sweep->require_subcommand(1);

  auto plan_args = std::make_shared<SweepArgs>();
  auto* plan = sweep->add_subcommand("plan", "List the sweep's runs, their ids and states; runs nothing");
  plan->add_option("spec", plan_args->spec, "sweep YAML file")->required()->check(CLI::ExistingFile);
  plan->add_option("overrides", plan_args->overrides, "key=value overrides applied to every run");
  plan->callback([plan_args] { print_plan(load_sweep(plan_args->spec, plan_args->overrides)); });

  auto run_args = std::make_shared<SweepArgs>();
  auto* run = sweep->add_subcommand("run",
                                    "Train the sweep's pending and failed runs here, one after another; skip done ones.\n"
                                    "A failed run does not stop the others (unless --fail-fast); failures are listed at\n"
                                    "the end and make the exit code non-zero.");
  run->add_option("spec", run_args->spec, "sweep YAML file")->required()->check(CLI::ExistingFile);
  run->add_option("overrides", run_args->overrides, "key=value overrides applied to every run");
  run->add_option("--ranks", run_args->ranks, "ranks per run (started with mpirun)")->check(CLI::Range(1, 4096));
  run->add_flag("--fail-fast", run_args->fail_fast, "stop at the first failed run");
  run->callback([run_args] {
    auto s = load_sweep(run_args->spec, run_args->overrides);
    int failed = run_sweep_locally(s, {run_args->ranks, run_args->fail_fast, true});
    exit_code() = failed ? kExitError : 0;
  });
}

}  // namespace aim::cli
