#include "runner/schema.h"

#include "aim/model_keys.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/dataset_info.h"
#include "runner/init_from.h"
#include "runner/registry_keys.h"
#include "runner/run_keys.h"
#include "runner/train_settings.h"

namespace aim {

namespace {

void add_runner_keys(Schema& s) {
  const TrainSettings d;  // the defaults of seed and threads
  // Not part of a run's identity: where it goes and how fast it runs, not what it computes.
  s.add(KeySpec("name", ValueType::String, "run", "a label for the run").not_identity().file_name());
  s.add(KeySpec("output_dir", ValueType::String, "outputs", "runs go to <output_dir>/runs/<run-id>/, sweeps link them from <output_dir>/<sweep>/").not_identity().writes_below(256));
  s.add(KeySpec("threads", ValueType::Int, default_text(int64_t(d.threads)),
                "torch intra-op threads per rank (0: this process's share of the cores it may use)")
            .range(0.0, 1024.0)
            .not_identity());
  add_device_keys(s);
  s.add(KeySpec("log_level", ValueType::String, "info", "console log level").one_of({"trace", "debug", "info", "warn", "error"}).not_identity());
  s.add(KeySpec("seed", ValueType::Int, default_text(int64_t(d.seed)),
                "seed of initialisation, data order, augmentation and mask sampling")
            .range(0.0, std::nullopt));
  s.add(KeySpec("world_size", ValueType::Int, "0",
                "ranks the run trains on; part of its identity (0: as launched: mpirun/srun's rank count, a sweep's "
                "--ranks or profile tasks); a run launched with another count is refused")
            .range(0.0, 65536.0));

}

}  // namespace

const Schema& full_schema() {
  static const Schema schema = [] {
    Schema s;
    add_runner_keys(s);
    add_train_keys(s);
    add_eval_keys(s);
    data::add_dataset_keys(s);
    add_registry_keys(s, "dataset.name", data::dataset_info_registry());
    model::add_backbone_key(s);
    add_registry_keys(s, "model.backbone", model::backbone_keys_registry());
    model::add_method_key(s);
    add_registry_keys(s, "method.name", model::method_keys_registry());
    add_init_from_keys(s);
    return s;
  }();
  return schema;
}

namespace {

void check_training(const Config& cfg) {
  if (cfg.get_float("train.min_lr") > cfg.get_float("train.lr"))
    cfg.fail("train.min_lr", "larger than train.lr (" + cfg.text("train.lr") + "): the schedule would rise");
  if (cfg.get_string("train.optimizer") == "sgd" && cfg.get_bool("train.nesterov") &&
      cfg.get_float("train.momentum") <= 0)
    cfg.fail("train.nesterov", "Nesterov momentum needs train.momentum > 0");
}

void check_batch(const Config& cfg, const data::DatasetLayout& layout, int world_size) {
  const int64_t train = layout.split_sizes.at("train"), batch = cfg.get_int("train.batch_size");
  const int64_t accum = cfg.get_int("train.accumulate_steps");
  if (train < 0 || batch * world_size * accum <= train) return;
  std::string what = "the batch (" + std::to_string(batch) + ")";
  if (world_size > 1 || accum > 1)
    what = "the global batch (" + std::to_string(batch) + " x " + std::to_string(world_size) + " ranks" +
           (accum > 1 ? " x " + std::to_string(accum) + " train.accumulate_steps" : "") + " = " +
           std::to_string(batch * world_size * accum) + ")";
  cfg.fail("train.batch_size",
           what + " is larger than the training split (" + std::to_string(train) + " samples): not one step per epoch");
}

void check_eval_splits(const Config& cfg, const data::DatasetLayout& layout) {
  const auto names = cfg.is_null("eval.splits") ? layout.eval_splits : cfg.get_string_list("eval.splits");
  if (names.empty()) cfg.fail("eval.splits", "expected at least one split to evaluate (~: the dataset's own)");
  std::vector<std::string> have;
  for (const auto& [name, size] : layout.split_sizes) have.push_back(name);
  for (const auto& name : names) {
    auto it = layout.split_sizes.find(name);
    if (it == layout.split_sizes.end())
      cfg.fail("eval.splits", "dataset '" + cfg.get_string("dataset.name") + "' has no split '" + name +
                                  "' (it has " + join(have, ", ") + ")");
    std::string size_key = "dataset." + name + "_size";  // where an empty split got its size
    if (!cfg.is_null("eval.splits") || !cfg.schema().find(size_key)) size_key = "eval.splits";
    if (it->second == 0) cfg.fail(size_key, "split '" + name + "' is evaluated but has no samples");
  }
}

}  // namespace

// eval.select chooses among validation evaluations: there must be a val split and evaluations.
void check_select(const Config& cfg, const data::DatasetLayout& layout) {
  const auto select = cfg.get_string("eval.select");
  if (select == "last") return;
  auto it = layout.split_sizes.find("val");
  if (it == layout.split_sizes.end() || it->second == 0)
    cfg.fail("eval.select", "'" + select + "' selects by the validation split, and dataset '" +
                                cfg.get_string("dataset.name") + "' has " + (it == layout.split_sizes.end() ? "none" : "an empty one") +
                                " (use eval.select: last)");
  if (cfg.get_int("train.eval_every") == 0)
    cfg.fail("eval.select", "'" + select + "' selects among the validation evaluations, and train.eval_every is 0 (none)");
}

void check_run_config(const Config& cfg, int world_size) {
  check_training(cfg);
  const auto layout = data::dataset_layout(cfg);
  check_batch(cfg, layout, world_size);
  check_select(cfg, layout);
  check_eval_splits(cfg, layout);
}

Config load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  auto loaded = load_config_file(path, {"sweep"});
  if (loaded.sections.count("sweep"))
    throw ConfigError(loaded.sections["sweep"].second.str() +
                      ": this file is a sweep (it has a 'sweep:' section); run it with 'aimrun sweep run " + path +
                      "', or train one of its runs with 'aimrun train <run-dir>/config.yaml'");
  for (const auto& o : overrides) apply_override(loaded.values, o);
  return resolve_run_config(loaded.values);
}

Config resolve_run_config(const FlatConfig& flat) {
  Config cfg = canonical_init_from(Config::resolve(flat, full_schema()));
  check_entry_keys(cfg);
  return cfg;
}

RunNames run_names(const Config& cfg) {
  return {cfg.get_string("name"), cfg.get_string("dataset.name"), cfg.get_string("method.name"),
          cfg.get_string("model.backbone")};
}

}  // namespace aim
