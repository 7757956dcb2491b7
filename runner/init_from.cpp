#include "runner/init_from.h"

#include <filesystem>

#include "core/error.h"
#include "results/run_folder.h"

namespace fs = std::filesystem;

namespace aim {

// Named, not anonymous: the unity build puts several of the runner's files in one
// translation unit.
namespace init_from_keys {

std::string normal_folder(const std::string& path) {
  auto p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace init_from_keys

Config upstream_config(const Config& cfg, const std::string& folder) {
  const RunPaths paths{folder};
  if (!fs::exists(paths.config())) cfg.fail(kInitFromKey, folder + " is not a run folder (it has no config.yaml)");
  try {
    return Config::resolve(load_config_file(paths.config()).values, cfg.schema());
  } catch (const ConfigError& e) {
    cfg.fail(kInitFromKey, "the config of the upstream run " + folder + " does not load: " + e.what());
  }
}

std::string describe_upstream(const Upstream& up) { return "the upstream run " + up.run_id + " (" + up.folder + ")"; }

void add_init_from_keys(Schema& s) {
  s.add(KeySpec(kInitFromKey, ValueType::String, "~",
                "start from another run's trained weights: its run folder, or its run id (at "
                "<output_dir>/runs/<id>); the run must be complete; stored as the upstream's run id, which is part of "
                "this run's identity (docs/sweeps.md, \"Starting from another run\")")
            .path()
            // In the identity only when set, so the runs made before the key existed keep their ids.
            .only_when(kInitFromKey, {"!~"}));
  s.add(KeySpec(kInitFromDirKey, ValueType::String, "~",
                "the upstream's run folder, filled in from model.init_from when a config is resolved (~: "
                "<output_dir>/runs/<model.init_from>)")
            .path()
            .not_identity());
}

Config canonical_init_from(const Config& cfg) {
  if (cfg.is_null(kInitFromKey)) {
    if (!cfg.is_null(kInitFromDirKey))
      cfg.fail(kInitFromDirKey, "set without model.init_from (the run it would start from)");
    return cfg;
  }
  if (cfg.applies("model.weights") && !cfg.is_null("model.weights"))
    cfg.fail(kInitFromKey,
             "model.weights is set too: a run starts from torchvision weights or from another run, not both");
  const auto value = cfg.get_string(kInitFromKey);
  const bool dir_set = !cfg.is_null(kInitFromDirKey);
  std::string id, folder;
  std::error_code ec;
  if (fs::is_directory(value, ec)) {
    folder = init_from_keys::normal_folder(value);
    id = upstream_config(cfg, folder).run_id();
    if (dir_set && init_from_keys::normal_folder(cfg.get_string(kInitFromDirKey)) != folder)
      cfg.fail(kInitFromDirKey,
               "names " + cfg.get_string(kInitFromDirKey) + ", but model.init_from names the folder " + folder);
  } else if (is_run_id(value)) {
    id = value;
    folder = dir_set ? init_from_keys::normal_folder(cfg.get_string(kInitFromDirKey))
                     : run_folder(cfg.get_string("output_dir"), id).dir;
  } else {
    cfg.fail(kInitFromKey, "'" + value + "' is neither a run folder (no such directory) nor a run id (12 hex digits)");
  }
  if (value == id && dir_set && cfg.get_string(kInitFromDirKey) == folder) return cfg;
  FlatConfig flat = cfg.flat();
  flat[kInitFromKey].value = YAML::Node(id);
  flat[kInitFromDirKey] = ConfigValue{YAML::Node(folder), cfg.where(kInitFromKey)};
  return Config::resolve(flat, cfg.schema());
}

std::optional<Upstream> resolve_init_from(const Config& cfg) {
  if (cfg.is_null(kInitFromKey)) return std::nullopt;
  Upstream up;
  up.run_id = cfg.get_string(kInitFromKey);
  up.folder = cfg.is_null(kInitFromDirKey) ? run_folder(cfg.get_string("output_dir"), up.run_id).dir
                                           : cfg.get_string(kInitFromDirKey);
  up.checkpoint = RunPaths{up.folder}.checkpoint();
  return up;
}

}  // namespace aim
