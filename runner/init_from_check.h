#pragma once
// model.init_from's upstream run, checked on disk (runner/init_from.h has the keys): it is
// complete, it is the run the config names, and its files are its own.
#include <string>

#include "core/config.h"
#include "runner/init_from.h"

namespace aim {

// Before a run that starts from an upstream trains: the upstream is complete (result.h5
// present, valid and the upstream's), is the run model.init_from names, and has the same
// backbone.
// Throws ConfigError naming model.init_from and the upstream otherwise.
void check_init_from_ready(const Config& cfg);

// The upstream's checkpoint.pt is the upstream run's (its header; the archive's state is
// checked when the weights are read), not another run's file put in its folder. Throws
// ConfigError naming model.init_from otherwise.
void check_upstream_checkpoint(const Config& cfg, const Upstream& up);

// What a run started from, recorded in its checkpoint and result (init_from_checkpoint_crc32,
// init_from_result_crc32: docs/hdf5-schema.md): 8 hex digits each.
struct InitFromDigests {
  std::string checkpoint_crc32;  // the upstream's checkpoint archive the weights were read from
  std::string result_crc32;      // the upstream's result.h5 (its result, which it was chosen by)
};

// The upstream's checkpoint.pt and result.h5 are the upstream run's own (not another run's
// files put in its folder) and it is done; their digests. Throws ConfigError otherwise.
InitFromDigests upstream_digests(const Config& cfg, const Upstream& up);

}  // namespace aim
