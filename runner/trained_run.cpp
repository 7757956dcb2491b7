#include "runner/trained_run.h"

#include "aim/registry.h"
#include "core/error.h"
#include "results/run_folder.h"
#include "runner/checkpoint.h"
#include "runner/device.h"
#include "runner/run_binding.h"
#include "runner/schema.h"

namespace aim {

TrainedRun load_trained_run(const std::string& run_dir, const std::vector<std::string>& overrides, int local_rank) {
  RunPaths paths{run_dir};
  TrainedRun run;
  run.config = load_run_config(paths.config(), overrides);
  // The checkpoint must be the run's whose config.yaml is beside it.
  auto state = read_checkpoint_state(paths.checkpoint(), run.config.run_id());
  check_checkpoint_is_the_results(paths);  // and the one its result was written with
  run.class_names = state.class_names;
  if (run.class_names.empty()) throw Error(paths.checkpoint() + ": checkpoint does not record the classes");
  run.model = model::make_model(run.config, int64_t(run.class_names.size()), /*initial_weights=*/false);
  load_checkpoint_model(paths.checkpoint(), run.config.run_id(), *run.model);
  run.model->to(select_device(run.config, local_rank));
  run.model->eval();
  return run;
}

}  // namespace aim
