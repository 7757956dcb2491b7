#include "runner/sweep/slurm_limits.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "runner/sweep/slurm_command.h"

namespace aim {

namespace slurm_limits {

// The value of `key = value` in `scontrol show config`'s text; "" when absent.
std::string config_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos || trim(line.substr(0, eq)) != key) continue;
    return trim(line.substr(eq + 1));
  }
  return "";
}

// A positive whole number, or 0.
long positive(const std::string& text) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stol(text);
}

// The user sbatch submits as, for sacctmgr.
std::string user_name() {
  const char* user = std::getenv("USER");
  if (user && *user) return user;
  int status = 0;
  return trim(run_capture({"id", "-un"}, "", &status));
}

}  // namespace slurm_limits

ClusterLimits parse_slurm_config(const std::string& text) {
  ClusterLimits limits;
  if (long n = slurm_limits::positive(slurm_limits::config_value(text, "MaxArraySize")); n > 0)
    limits.max_array_size = int(std::min<long>(n, INT_MAX));
  else
    limits.notes.push_back("no MaxArraySize in `scontrol show config`: assuming Slurm's default " +
                           std::to_string(kSlurmDefaultMaxArraySize));
  limits.max_job_count = slurm_limits::positive(slurm_limits::config_value(text, "MaxJobCount"));
  if (limits.max_job_count == 0) limits.notes.push_back("no MaxJobCount in `scontrol show config`: not checked");
  limits.accounting = slurm_limits::config_value(text, "AccountingStorageType").find("slurmdbd") != std::string::npos;
  return limits;
}

long parse_max_submit(const std::string& text) {
  long smallest = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (long n = slurm_limits::positive(trim(line)); n > 0) smallest = smallest == 0 ? n : std::min(smallest, n);
  return smallest;
}

ClusterLimits read_cluster_limits() {
  int status = 0;
  const std::string text = run_capture({"scontrol", "show", "config"}, "", &status);
  ClusterLimits limits;
  if (status != 0) {
    limits.notes.push_back("`scontrol show config` failed (exit " + std::to_string(status) + ": " +
                           trim(text.substr(0, text.find('\n'))) + "): assuming Slurm's default MaxArraySize " +
                           std::to_string(kSlurmDefaultMaxArraySize) + ", MaxJobCount not checked");
    return limits;
  }
  limits = parse_slurm_config(text);
  // MaxSubmitJobs lives in the accounting database (slurmdbd). A cluster without one
  // (AccountingStorageType none, as the local test cluster) has no associations: skipped.
  if (!limits.accounting) return limits;
  const std::string out = run_capture(
      {"sacctmgr", "-nP", "show", "assoc", "where", "user=" + slurm_limits::user_name(), "format=MaxSubmit"}, "",
      &status);
  if (status == 0)
    limits.max_submit_jobs = parse_max_submit(out);
  else
    limits.notes.push_back("sacctmgr failed (exit " + std::to_string(status) + "): MaxSubmitJobs not checked");
  return limits;
}

void check_total_runs(const std::string& sweep_name, size_t runs, const ClusterLimits& limits) {
  auto refuse = [&](long limit, const std::string& what) {
    throw ConfigError("sweep " + sweep_name + ": " + std::to_string(runs) + " runs to submit, but " + what + " is " +
                      std::to_string(limit) +
                      " jobs (each array element counts as one; jobs already queued count "
                      "too): nothing was submitted. Submit at most " +
                      std::to_string(limit) +
                      " runs at a time: narrow the sweep (fewer grid values, or an override), and `sweep submit` it "
                      "again for the rest once those are done (the profile's `throttle` limits the runs that run at "
                      "once, not those queued)");
  };
  if (limits.max_job_count > 0 && runs > size_t(limits.max_job_count))
    refuse(limits.max_job_count, "the cluster's MaxJobCount (scontrol show config)");
  if (limits.max_submit_jobs > 0 && runs > size_t(limits.max_submit_jobs))
    refuse(limits.max_submit_jobs, "your MaxSubmitJobs (sacctmgr show assoc)");
}

std::vector<ArrayPart> plan_array_parts(size_t runs, int max_array_size, int throttle) {
  std::vector<ArrayPart> parts;
  const size_t size = size_t(std::max(max_array_size, 1));
  for (size_t offset = 0; offset < runs; offset += size)
    parts.push_back({offset, std::min(size, runs - offset), 0, -1});
  if (throttle <= 0) return parts;
  const size_t side_by_side = std::min(parts.size(), size_t(throttle));
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t lane = i % side_by_side;
    parts[i].throttle = int(size_t(throttle) / side_by_side + (lane < size_t(throttle) % side_by_side ? 1 : 0));
    if (i >= side_by_side) parts[i].after = int(i - side_by_side);
  }
  return parts;
}

}  // namespace aim
