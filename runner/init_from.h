#pragma once
// model.init_from: a run that starts from another run's trained weights (docs/sweeps.md,
// "Starting from another run"). The value names the upstream run: an existing directory is
// its run folder, anything else its run id, found at <output_dir>/runs/<id>/. Resolving a
// config rewrites the value to the upstream's run id (the identity hashes the id, not the
// path) and records the folder in model.init_from_dir.
//
// Three jobs, three files: this one, what a config says (the keys, their canonical form,
// the upstream they name); runner/init_from_check.h, whether the upstream's files are ready
// and its own; runner/init_from_weights.h, its weights copied into a model. None of them
// reads the schema (runner/schema.cpp calls this one): an upstream's config.yaml is
// resolved with the schema of the config that names it.
#include <optional>
#include <string>

#include "core/config.h"

namespace aim {

inline constexpr const char* kInitFromKey = "model.init_from";
inline constexpr const char* kInitFromDirKey = "model.init_from_dir";

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

// "the upstream run <id> (<folder>)", for messages.
std::string describe_upstream(const Upstream& up);

// The upstream's resolved config, from <folder>/config.yaml (written by `aimrun train` in
// canonical form, so it names its own upstream, if any, by id and reads no further file),
// resolved with cfg's schema. Throws ConfigError naming model.init_from of `cfg`.
Config upstream_config(const Config& cfg, const std::string& folder);

}  // namespace aim
