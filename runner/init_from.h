#pragma once
// model.init_from: a run that starts from another run's trained weights (docs/sweeps.md,
// "Starting from another run"). The value names the upstream run: an existing directory is
// its run folder, anything else its run id, found at <output_dir>/runs/<id>/. Resolving a
// config rewrites the value to the upstream's run id (the identity hashes the id, not the
// path) and records the folder in model.init_from_dir.
#include <optional>
#include <string>

#include "aim/model.h"
#include "core/config.h"

namespace aim {

// The keys model.init_from and model.init_from_dir (runner/schema.cpp assembles them).
void add_init_from_keys(Schema& schema);

// `cfg` with model.init_from in its canonical form: the upstream's run id (read from the
// folder's config.yaml when the value is a folder), and model.init_from_dir its folder. No
// file is read when the value is a run id. Throws ConfigError naming the key.
Config canonical_init_from(const Config& cfg);

struct Upstream {
  std::string run_id;      // the upstream's identity (part of this run's)
  std::string folder;      // its run folder
  std::string checkpoint;  // <folder>/checkpoint.pt: the weights its result.h5 evaluated
};

// The upstream of a canonical config; nullopt when model.init_from is not set. Reads no file.
std::optional<Upstream> resolve_init_from(const Config& cfg);

// Before a run that starts from an upstream trains: the upstream is complete (result.h5
// present, valid and the upstream's), is the run model.init_from names, and has the same
// backbone.
// Throws ConfigError naming model.init_from and the upstream otherwise.
void check_init_from_ready(const Config& cfg);

// What a run started from, recorded in its checkpoint and result (init_from_checkpoint_crc32,
// init_from_result_crc32: docs/hdf5-schema.md): 8 hex digits each.
struct InitFromDigests {
  std::string checkpoint_crc32;  // the upstream's checkpoint archive the weights were read from
  std::string result_crc32;      // the upstream's result.h5 (its result, which it was chosen by)
};

// Copies the upstream's weights into `model` (docs/sweeps.md states the rule: the whole
// backbone, and each other top-level module whose tensors all match by name and shape), and
// fills `digests` when given. Returns a one-line description for the log. Throws ConfigError
// naming model.init_from when the backbones differ, or when the upstream's checkpoint.pt or
// result.h5 is not the upstream run's (another run's file put in its folder).
std::string load_init_from(const Config& cfg, model::Model& model, InitFromDigests* digests = nullptr);

}  // namespace aim
