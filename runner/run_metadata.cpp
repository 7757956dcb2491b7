#include "runner/run_metadata.h"

#include <torch/version.h>

#include <H5public.h>

#include <cmath>
#include <fstream>

#include "core/host.h"
#include "core/version.h"
#include "runner/eval_schedule.h"
#include "runner/init_from.h"
#include "runner/schema.h"
#include "runner/session_ledger.h"

namespace aim {

void describe_run(const Config& cfg, results::RunRecord& rec) {
  rec.run_id = cfg.run_id();
  rec.config_yaml = cfg.to_yaml();
  rec.config = cfg.items();
  rec.text["identity_yaml"] = cfg.to_yaml(true);
  const auto names = run_names(cfg);
  rec.text["name"] = names.name;
  rec.text["dataset"] = names.dataset;
  rec.text["method"] = names.method;
  rec.text["backbone"] = names.backbone;
  const auto protocol = eval_protocol(cfg);
  rec.text["explain"] = protocol.explain;
  rec.text["select"] = protocol.select;
  if (auto up = resolve_init_from(cfg)) {  // the run it started from (model.init_from)
    rec.text["init_from_run"] = up->run_id;
    rec.text["init_from_dir"] = up->folder;
  }
  rec.text["aimrun_version"] = aimrun_version();
  rec.text["torch_version"] = TORCH_VERSION;
  rec.text["hdf5_version"] = H5_VERS_INFO;
}

void describe_training(const TrainingFacts& f, const RunPaths& paths, results::RunRecord& rec) {
  rec.text["host"] = host_name();
  rec.text["hosts"] = f.hosts.empty() ? host_name() : f.hosts;
  rec.text["placement"] = f.placement.empty() ? host_name() + ":0/1" : f.placement;
  rec.text["backend"] = f.backend;
  rec.text["finished"] = local_time_iso_now();
  rec.numbers["selected_epoch"] = double(f.selected_epoch);
  rec.numbers["seed"] = double(f.seed);
  rec.numbers["world_size"] = f.world_size;
  rec.numbers["global_batch"] = double(f.global_batch);
  rec.numbers["threads_per_rank"] = f.threads_per_rank;
  rec.numbers["parameters"] = double(f.parameters);
  rec.numbers["train_seconds"] = f.train_seconds;
  rec.numbers["eval_seconds"] = f.eval_seconds;
  rec.numbers["wall_seconds_last_session"] = f.wall_seconds_last_session;
  rec.numbers["peak_memory_train_mib"] = f.peak_memory_train_mib;
  rec.numbers["peak_memory_mib"] = peak_resident_mib();
  for (const auto& e : read_ledger(paths))
    rec.sessions.push_back(
        {e.event, e.time, e.hosts, e.slurm_job, e.by, e.cause, e.exit_code, e.epoch, e.step, e.lost_s});
}

double peak_resident_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:   123456 kB"
  return NAN;
}

}  // namespace aim
