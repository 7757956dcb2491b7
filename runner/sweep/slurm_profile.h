#pragma once
// A Slurm profile: slurm/profiles/<name>.yaml (or any YAML path), the resources and limits of
// one job array element (docs/sweeps.md, "Slurm").
#include <string>
#include <vector>

namespace aim {

struct SlurmProfile {
  std::string name;
  std::string path;  // the file it was read from, absolute
  int nodes = 1, tasks_per_node = 1, cpus_per_task = 1, gpus_per_node = 0, throttle = 0;
  int max_array_size = 0;  // 0: the cluster's MaxArraySize; else at most this many elements per array
  std::string time = "01:00:00", partition, account, mem, signal = "USR2@120", srun_mpi = "pmix";
  std::vector<std::string> modules, extra_sbatch;
};

// slurm/profiles/<name>.yaml (or a path to a .yaml file); unknown keys are errors.
SlurmProfile load_slurm_profile(const std::string& name_or_path, const std::string& profiles_dir);

}  // namespace aim
