#include "runner/run_binding.h"

#include <filesystem>

#include "core/error.h"
#include "core/hash.h"
#include "runner/checkpoint.h"
#include "runner/schema.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

// The run id of the folder's config.yaml ("" when there is none).
std::string config_run_id(const RunPaths& paths, const std::string& run_id) {
  if (!fs::exists(paths.config())) return "";
  try {
    return load_run_config(paths.config(), {}).run_id();
  } catch (const ConfigError& e) {
    throw ConfigError(paths.config() + " does not load, so whose folder " + paths.dir +
                      " is cannot be told; nothing was written (remove that file if the folder is run " + run_id +
                      "'s): " + e.what());
  }
}

}  // namespace

void check_folder_is_run(const RunPaths& paths, const std::string& run_id, const FolderUse& use) {
  if (!fs::exists(paths.dir)) return;
  const std::string ours = "run " + run_id + ", which this config describes";
  if (const auto theirs = config_run_id(paths, run_id); !theirs.empty() && theirs != run_id)
    throw ConfigError(paths.dir + " is the folder of run " + theirs + " (its config.yaml), not of " + ours +
                      ": --run-dir names another run's folder; nothing was written. Leave --run-dir out (run " +
                      run_id + "'s folder is <output_dir>/runs/" + run_id + "), or name an empty folder");
  if (!use.discard_checkpoint)
    if (const auto theirs = checkpoint_run_id(paths.checkpoint()); !theirs.empty() && theirs != run_id)
      throw ConfigError(paths.checkpoint() + " is the checkpoint of run " + theirs + ", not of " + ours + " (folder " +
                        paths.dir +
                        "): another run's file; nothing was resumed or written. Delete it, "
                        "or add --restart, to train run " +
                        run_id + " from the start");
  if (!use.discard_result && fs::exists(paths.result())) {
    const auto found = inspect_run_folder(paths, ResultDepth::State, run_id);
    if (!found.other_run_id.empty())
      throw ConfigError(paths.result() + " is the result of run " + found.other_run_id + ", not of " + ours +
                        " (folder " + paths.dir +
                        "): another run's file; nothing was written. Add --force to "
                        "train run " +
                        run_id + " again and replace it");
  }
}

void check_checkpoint_is_the_results(const RunPaths& paths, const results::RunRecord& record) {
  const auto it = record.text.find(kCheckpointCrc32);
  if (it == record.text.end()) return;
  const std::string now = hex32(checkpoint_crc32(paths.checkpoint()));
  if (now != it->second)
    throw Error(paths.checkpoint() + " is not the checkpoint the run ended with (its CRC-32 is " + now +
                ", result.h5 records " + it->second + "): it was replaced or written again after the run finished; " +
                train_again_command(paths, true, true) + " trains the run anew");
}

void check_checkpoint_is_the_results(const RunPaths& paths) {
  if (!fs::exists(paths.result())) return;
  // Its summary holds checkpoint_crc32 (result.h5 is read in full only where the summary is
  // missing or fails a check), as a fine-tune's upstream check reads it.
  const auto found = inspect_run_folder(paths, ResultDepth::Summary);
  if (found.state == RunState::Unreadable) throw Error(paths.result() + ": " + found.detail);
  if (found.state == RunState::Done) check_checkpoint_is_the_results(paths, found.record);
}

}  // namespace aim
