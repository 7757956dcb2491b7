#include "runner/init_from_check.h"

#include <filesystem>

#include "core/error.h"
#include "core/hash.h"
#include "results/run_folder.h"
#include "runner/checkpoint.h"
#include "runner/sweep/run_state.h"

namespace fs = std::filesystem;

namespace aim {

// Named, not anonymous: the unity build puts several of the runner's files in one
// translation unit.
namespace init_from_check {

// The command that trains the upstream again from the start, writing all its files anew.
std::string retrain_command(const Upstream& up) {
  const RunPaths paths{up.folder};
  return "`aimrun train " + paths.config() + " --run-dir " + up.folder + " --restart --force`";
}

}  // namespace init_from_check

void check_upstream_checkpoint(const Config& cfg, const Upstream& up) {
  if (const auto whose = checkpoint_run_id(up.checkpoint); !whose.empty() && whose != up.run_id)
    cfg.fail(kInitFromKey, up.checkpoint + " is the checkpoint of run " + whose + ", not of " + describe_upstream(up) +
                               ": another run's file was put in its folder; " + init_from_check::retrain_command(up) +
                               " writes it anew");
}

InitFromDigests upstream_digests(const Config& cfg, const Upstream& up) {
  const RunPaths paths{up.folder};
  check_upstream_checkpoint(cfg, up);
  const auto found = inspect_run_folder(paths, ResultDepth::Summary, up.run_id);  // its scalars: the checkpoint's CRC
  if (found.state != RunState::Done)
    cfg.fail(kInitFromKey, describe_upstream(up) + " is not done (" + to_string(found.state) +
                               (found.detail.empty() ? "" : ": " + found.detail) + ")");
  InitFromDigests d;
  try {
    d.checkpoint_crc32 = hex32(checkpoint_crc32(up.checkpoint));
    d.result_crc32 = hex32(crc32_of_file(paths.result()));
  } catch (const Error& e) {
    cfg.fail(kInitFromKey, describe_upstream(up) + ": " + e.what());
  }
  // The checkpoint is the one the upstream ended with, as its result records (runs of an
  // aimrun before checkpoint_crc32 record none).
  if (auto it = found.record.text.find(kCheckpointCrc32);
      it != found.record.text.end() && it->second != d.checkpoint_crc32)
    cfg.fail(kInitFromKey, up.checkpoint + " is not the checkpoint " + describe_upstream(up) +
                               " ended with (its CRC-32 is " + d.checkpoint_crc32 + ", its result.h5 records " +
                               it->second + "): it was replaced or written again after the run finished; " +
                               init_from_check::retrain_command(up) + " writes it anew");
  return d;
}

void check_init_from_ready(const Config& cfg) {
  const auto up = resolve_init_from(cfg);
  if (!up) return;
  if (!fs::is_directory(up->folder))
    cfg.fail(kInitFromKey, describe_upstream(*up) + " does not exist (train it first)");
  const auto status = inspect_run(RunPaths{up->folder}, up->run_id);
  const std::string detail = status.detail.empty() ? "" : ": " + status.detail;
  switch (status.state) {
    case RunState::Done:
      break;
    case RunState::Failed:
      cfg.fail(kInitFromKey, describe_upstream(*up) + " failed" + detail + "; " +
                                 train_again_command(RunPaths{up->folder}) + " trains it again");
    case RunState::Running:
      cfg.fail(kInitFromKey, describe_upstream(*up) + " is still training" + detail);
    case RunState::Unreadable:
      cfg.fail(kInitFromKey, describe_upstream(*up) + " is unreadable" + detail + "; " +
                                 train_again_command(RunPaths{up->folder}) + " trains it again");
    case RunState::Pending:
      cfg.fail(kInitFromKey, describe_upstream(*up) + " has not finished (no result.h5)" + detail);
  }
  const Config theirs = upstream_config(cfg, up->folder);
  if (theirs.run_id() != up->run_id)
    cfg.fail(kInitFromKey, up->folder + " holds the run " + theirs.run_id() + ", not " + up->run_id);
  // The keys that shape the backbone's tensors (load_init_from checks the tensors too).
  for (const std::string key : {"model.backbone", "model.width", "model.norm"}) {
    const std::string mine = cfg.applies(key) ? cfg.text(key) : "-",
                      their = theirs.applies(key) ? theirs.text(key) : "-";
    if (mine != their)
      cfg.fail(kInitFromKey, "the backbones differ: this run has " + key + "=" + mine + ", " + describe_upstream(*up) +
                                 " " + key + "=" + their + " (a run starts from a run with the same backbone)");
  }
  if (!fs::exists(up->checkpoint))
    cfg.fail(kInitFromKey, describe_upstream(*up) + " has no checkpoint.pt (its trained weights): " +
                               train_again_command(RunPaths{up->folder}, true, true) + " trains it again");
  check_upstream_checkpoint(cfg, *up);
}

}  // namespace aim
