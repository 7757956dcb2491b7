#pragma once
// Which run a run folder belongs to, as its files say: config.yaml (the run id of the config
// in it), checkpoint.pt (the run its header names) and the result (summary.json or
// result.h5). `aimrun train` checks it before it writes anything in the folder, so that
// `--run-dir` of another run's folder never trains, resumes or reports that run as this one.
#include <string>

#include "results/run_file.h"
#include "results/run_folder.h"

namespace aim {

struct FolderUse {
  bool discard_checkpoint = false;  // --restart: the checkpoint is removed, whoever's it is
  bool discard_result = false;      // --force: the result is removed, whoever's it is
};

// Throws ConfigError (exit 2), naming the folder, the file and both run ids, when a file of
// `paths` belongs to another run than `run_id` (a checkpoint or result the run is about to
// discard excepted), or when config.yaml does not load (whose it is cannot be told).
void check_folder_is_run(const RunPaths& paths, const std::string& run_id, const FolderUse& use = {});

// Throws Error, naming both CRC-32s and the command that trains the run anew, when the
// folder's checkpoint.pt is not the one its result was written with (the result's
// checkpoint_crc32; results of an aimrun before it record none and pass). Every reader of a
// finished run's weights calls it: predict, evaluate, pictures, a fine-tune's upstream.
void check_checkpoint_is_the_results(const RunPaths& paths, const results::RunRecord& record);
// The same, reading the folder's result (its summary, checked; an unreadable one throws); a
// folder without result.h5 (a run still training) passes.
void check_checkpoint_is_the_results(const RunPaths& paths);

}  // namespace aim
