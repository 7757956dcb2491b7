#include "runner/init_from.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "core/strings.h"
#include "results/run_folder.h"
#include "runner/checkpoint.h"
#include "runner/schema.h"
#include "runner/sweep/run_state.h"
#include "runner/trained_run.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

constexpr const char* kKey = "model.init_from";
constexpr const char* kDirKey = "model.init_from_dir";

std::string normal_folder(const std::string& path) {
  auto p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// The upstream's resolved config, from <folder>/config.yaml (written by `aimrun train` in
// canonical form, so it names its own upstream, if any, by id and reads no further file).
Config upstream_config(const Config& cfg, const std::string& folder) {
  const RunPaths paths{folder};
  if (!fs::exists(paths.config())) cfg.fail(kKey, folder + " is not a run folder (it has no config.yaml)");
  try {
    return Config::resolve(load_config_file(paths.config()).values, full_schema());
  } catch (const ConfigError& e) {
    cfg.fail(kKey, "the config of the upstream run " + folder + " does not load: " + e.what());
  }
}

std::string describe(const Upstream& up) { return "the upstream run " + up.run_id + " (" + up.folder + ")"; }

// The command that trains the upstream again from the start, writing all its files anew.
std::string retrain_command(const Upstream& up) {
  const RunPaths paths{up.folder};
  return "`aimrun train " + paths.config() + " --run-dir " + up.folder + " --restart --force`";
}

// The upstream's checkpoint.pt is the upstream run's (its header; the archive's state is
// checked when the weights are read), not another run's file put in its folder.
void check_upstream_checkpoint(const Config& cfg, const Upstream& up) {
  if (const auto whose = checkpoint_run_id(up.checkpoint); !whose.empty() && whose != up.run_id)
    cfg.fail(kKey, up.checkpoint + " is the checkpoint of run " + whose + ", not of " + describe(up) +
                       ": another run's file was put in its folder; " + retrain_command(up) + " writes it anew");
}

// The upstream's checkpoint.pt and result.h5 are the upstream run's own (not another run's
// files put in its folder); their digests.
InitFromDigests upstream_digests(const Config& cfg, const Upstream& up) {
  const RunPaths paths{up.folder};
  check_upstream_checkpoint(cfg, up);
  const auto found = inspect_run_folder(paths, ResultDepth::Summary, up.run_id);  // its scalars: the checkpoint's CRC
  if (found.state != RunState::Done)
    cfg.fail(kKey, describe(up) + " is not done (" + to_string(found.state) +
                       (found.detail.empty() ? "" : ": " + found.detail) + ")");
  InitFromDigests d;
  try {
    d.checkpoint_crc32 = hex32(checkpoint_crc32(up.checkpoint));
    d.result_crc32 = hex32(crc32_of_file(paths.result()));
  } catch (const Error& e) {
    cfg.fail(kKey, describe(up) + ": " + e.what());
  }
  // The checkpoint is the one the upstream ended with, as its result records (runs of an
  // aimrun before checkpoint_crc32 record none).
  if (auto it = found.record.text.find(kCheckpointCrc32);
      it != found.record.text.end() && it->second != d.checkpoint_crc32)
    cfg.fail(kKey, up.checkpoint + " is not the checkpoint " + describe(up) + " ended with (its CRC-32 is " +
                       d.checkpoint_crc32 + ", its result.h5 records " + it->second +
                       "): it was replaced or written again after the run finished; " + retrain_command(up) +
                       " writes it anew");
  return d;
}

using Tensors = std::map<std::string, torch::Tensor>;

Tensors named_tensors(torch::nn::Module& m) {
  Tensors out;
  for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

std::string top_module(const std::string& name) { return name.substr(0, name.find('.')); }

// Why the tensors of `module` in `dst` cannot come from `src` ("" when they all can): a
// name missing on either side or a shape that differs.
std::vector<std::string> misfits(const Tensors& src, const Tensors& dst, const std::string& module) {
  std::vector<std::string> out;
  for (const auto& [name, t] : dst) {
    if (top_module(name) != module) continue;
    auto it = src.find(name);
    if (it == src.end())
      out.push_back(name + " (not in the upstream)");
    else if (it->second.sizes() != t.sizes())
      out.push_back(name + " (upstream " + c10::str(it->second.sizes()) + ", this run " + c10::str(t.sizes()) + ")");
  }
  for (const auto& [name, t] : src)
    if (top_module(name) == module && !dst.count(name)) out.push_back(name + " (only in the upstream)");
  return out;
}

}  // namespace

void add_init_from_keys(Schema& s) {
  s.add(KeySpec(kKey, ValueType::String, "~",
                "start from another run's trained weights: its run folder, or its run id (at "
                "<output_dir>/runs/<id>); the run must be complete; stored as the upstream's run id, which is part of "
                "this run's identity (docs/sweeps.md, \"Starting from another run\")")
            .path()
            // In the identity only when set, so the runs made before the key existed keep their ids.
            .only_when(kKey, {"!~"}));
  s.add(KeySpec(kDirKey, ValueType::String, "~",
                "the upstream's run folder, filled in from model.init_from when a config is resolved (~: "
                "<output_dir>/runs/<model.init_from>)")
            .path()
            .not_identity());
}

Config canonical_init_from(const Config& cfg) {
  if (cfg.is_null(kKey)) {
    if (!cfg.is_null(kDirKey)) cfg.fail(kDirKey, "set without model.init_from (the run it would start from)");
    return cfg;
  }
  if (cfg.applies("model.weights") && !cfg.is_null("model.weights"))
    cfg.fail(kKey, "model.weights is set too: a run starts from torchvision weights or from another run, not both");
  const auto value = cfg.get_string(kKey);
  const bool dir_set = !cfg.is_null(kDirKey);
  std::string id, folder;
  std::error_code ec;
  if (fs::is_directory(value, ec)) {
    folder = normal_folder(value);
    id = upstream_config(cfg, folder).run_id();
    if (dir_set && normal_folder(cfg.get_string(kDirKey)) != folder)
      cfg.fail(kDirKey, "names " + cfg.get_string(kDirKey) + ", but model.init_from names the folder " + folder);
  } else if (is_run_id(value)) {
    id = value;
    folder = dir_set ? normal_folder(cfg.get_string(kDirKey)) : run_folder(cfg.get_string("output_dir"), id).dir;
  } else {
    cfg.fail(kKey, "'" + value + "' is neither a run folder (no such directory) nor a run id (12 hex digits)");
  }
  if (value == id && dir_set && cfg.get_string(kDirKey) == folder) return cfg;
  FlatConfig flat = cfg.flat();
  flat[kKey].value = YAML::Node(id);
  flat[kDirKey] = ConfigValue{YAML::Node(folder), cfg.where(kKey)};
  return Config::resolve(flat, cfg.schema());
}

std::optional<Upstream> resolve_init_from(const Config& cfg) {
  if (cfg.is_null(kKey)) return std::nullopt;
  Upstream up;
  up.run_id = cfg.get_string(kKey);
  up.folder = cfg.is_null(kDirKey) ? run_folder(cfg.get_string("output_dir"), up.run_id).dir : cfg.get_string(kDirKey);
  up.checkpoint = RunPaths{up.folder}.checkpoint();
  return up;
}

void check_init_from_ready(const Config& cfg) {
  const auto up = resolve_init_from(cfg);
  if (!up) return;
  if (!fs::is_directory(up->folder)) cfg.fail(kKey, describe(*up) + " does not exist (train it first)");
  const auto status = inspect_run(RunPaths{up->folder}, up->run_id);
  const std::string detail = status.detail.empty() ? "" : ": " + status.detail;
  switch (status.state) {
    case RunState::Done:
      break;
    case RunState::Failed:
      cfg.fail(kKey, describe(*up) + " failed" + detail + "; " + train_again_command(RunPaths{up->folder}) +
                         " trains it again");
    case RunState::Running:
      cfg.fail(kKey, describe(*up) + " is still training" + detail);
    case RunState::Unreadable:
      cfg.fail(kKey, describe(*up) + " is unreadable" + detail + "; " + train_again_command(RunPaths{up->folder}) +
                         " trains it again");
    case RunState::Pending:
      cfg.fail(kKey, describe(*up) + " has not finished (no result.h5)" + detail);
  }
  const Config theirs = upstream_config(cfg, up->folder);
  if (theirs.run_id() != up->run_id)
    cfg.fail(kKey, up->folder + " holds the run " + theirs.run_id() + ", not " + up->run_id);
  // The keys that shape the backbone's tensors (load_init_from checks the tensors too).
  for (const std::string key : {"model.backbone", "model.width", "model.norm"}) {
    const std::string mine = cfg.applies(key) ? cfg.text(key) : "-",
                      their = theirs.applies(key) ? theirs.text(key) : "-";
    if (mine != their)
      cfg.fail(kKey, "the backbones differ: this run has " + key + "=" + mine + ", " + describe(*up) + " " + key + "=" +
                         their + " (a run starts from a run with the same backbone)");
  }
  if (!fs::exists(up->checkpoint))
    cfg.fail(kKey, describe(*up) + " has no checkpoint.pt (its trained weights): " +
                       train_again_command(RunPaths{up->folder}, true, true) + " trains it again");
  check_upstream_checkpoint(cfg, *up);
}

std::string load_init_from(const Config& cfg, model::Model& model, InitFromDigests* digests) {
  const auto up = resolve_init_from(cfg);
  if (!up) return "";
  const auto found = upstream_digests(cfg, *up);
  TrainedRun upstream;
  try {  // its checkpoint must be the run of its config.yaml, which must be the upstream
    upstream = load_trained_run(up->folder, {"device=cpu"});
  } catch (const DataError& e) {
    cfg.fail(kKey, describe(*up) + ": " + e.what());
  }
  if (upstream.config.run_id() != up->run_id)
    cfg.fail(kKey, up->folder + " holds the run " + upstream.config.run_id() + ", not " + up->run_id);
  if (digests) *digests = found;
  const Tensors src = named_tensors(*upstream.model), dst = named_tensors(model);
  if (auto bad = misfits(src, dst, "backbone"); !bad.empty())
    cfg.fail(kKey, "the backbone of " + describe(*up) + " does not fit this run's: " + join(bad, ", "));
  std::set<std::string> modules;
  for (const auto& [name, t] : dst) modules.insert(top_module(name));
  std::vector<std::string> taken, fresh;
  torch::NoGradGuard no_grad;
  for (const auto& module : modules) {
    if (module != "backbone" && !misfits(src, dst, module).empty()) {
      fresh.push_back(module);
      continue;
    }
    taken.push_back(module);
    for (const auto& [name, t] : dst)
      if (top_module(name) == module) t.copy_(src.at(name));
  }
  return "initialised from " + describe(*up) + ": " + join(taken, ", ") +
         (fresh.empty() ? "" : "; fresh (no match in the upstream): " + join(fresh, ", "));
}

}  // namespace aim
