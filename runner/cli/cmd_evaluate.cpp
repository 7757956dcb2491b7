// aimrun evaluate --run DIR: evaluate a trained run again (other splits, attribution
// settings, or more ranks), into a file with the result file's layout.
#include <spdlog/spdlog.h>

#include "aim/attribution.h"
#include "core/files.h"
#include "core/log.h"
#include "data/registry.h"
#include "results/run_file.h"
#include "results/run_folder.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/cli/ranks.h"
#include "runner/comm/agree.h"
#include "runner/comm/launch.h"
#include "runner/eval_schedule.h"
#include "runner/evaluate.h"
#include "runner/run_metadata.h"
#include "runner/trained_run.h"

namespace aim::cli {

namespace {

struct EvaluateArgs {
  std::string run_dir;
  std::vector<std::string> overrides;
  std::string out;
};

// Each rank evaluates its share of every split; rank 0 writes the file.
void evaluate_on(comm::Communicator& comm, const TrainedRun& run, const EvaluateArgs& a) {
  const auto& cfg = run.config;
  auto splits = data::make_datasets(cfg);
  const EvalOptions o = final_eval_options(cfg);
  results::RunRecord rec;
  for (const auto& name : evaluated_splits(cfg, splits)) {
    rec.splits.push_back(evaluate_split(*run.model, splits.splits.at(name), comm, o));
    const auto& r = rec.splits.back();
    if (comm.rank() == 0)
      spdlog::info("{}: accuracy {:.2f}%, worst-group {:.2f}%, {} samples", name, 100 * r.accuracy,
                   100 * r.worst_group_accuracy, r.n);
  }
  if (comm.rank() == 0) {
    describe_run(cfg, rec);
    rec.text["evaluated_from"] = a.run_dir;
    rec.numbers["world_size"] = comm.world_size();
    std::string out = a.out.empty() ? RunPaths{a.run_dir}.dir + "/evaluation.h5" : a.out;
    results::write_run_file(out, rec);
    spdlog::info("evaluation written to {}", out);
  }
  comm.barrier();
}

// Several ranks: no rank waits forever for another (the start-up under a deadline, every
// collective under the watchdog, an error on one rank ends the job).
void run_evaluate(const EvaluateArgs& a) {
  if (!a.out.empty()) check_output_file("--out", a.out);
  auto startup = startup_deadline(startup_limit(RunPaths{a.run_dir}.config(), a.overrides));
  auto comm = comm::make_communicator_from_environment();
  if (startup) startup->now_in("start-up (loading the run)");
  TrainedRun run;
  comm::run_agreed(*comm, [&] { run = load_trained_run(a.run_dir, a.overrides, comm->local_rank()); });
  init_logging(comm->rank(), run.config.get_string("log_level"));
  arm_watchdog(*comm, run.config);
  startup.reset();
  try {
    evaluate_on(*comm, run, a);
  } catch (const std::exception& e) {
    end_job_if_alone(*comm, e);
    throw;
  }
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  auto* cmd =
      app.add_subcommand("evaluate", command_help("evaluate"));
  cmd->add_option("--run", a->run_dir, "a run folder with checkpoint.pt")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("overrides", a->overrides, "key=value overrides of the run's config (eval.*, dataset paths)");
  cmd->add_option("--out", a->out, "output HDF5 file");
  cmd->callback([a] { run_evaluate(*a); });
}

}  // namespace aim::cli
