#include "runner/schema.h"

#include "aim/attribution.h"
#include "aim/registry.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/registry.h"
#include "runner/init_from.h"
#include "runner/registry_keys.h"

namespace aim {

namespace {

void add_runner_keys(Schema& s) {
  // Not part of a run's identity: where it goes and how fast it runs, not what it computes.
  s.add(KeySpec("name", ValueType::String, "run", "a label for the run").not_identity().file_name());
  s.add(KeySpec("output_dir", ValueType::String, "outputs", "runs go to <output_dir>/runs/<run-id>/, sweeps link them from <output_dir>/<sweep>/").not_identity().path());
  s.add(KeySpec("threads", ValueType::Int, "0", "torch intra-op threads per rank (0: this process's share of the cores it may use)").range(0.0, 1024.0).not_identity());
  s.add(KeySpec("device", ValueType::String, "auto",
                "where each rank computes: auto (its local rank's GPU when CUDA is available, else the CPU), cpu, cuda")
            .one_of({"auto", "cpu", "cuda"})
            .not_identity());
  s.add(KeySpec("log_level", ValueType::String, "info", "console log level").one_of({"trace", "debug", "info", "warn", "error"}).not_identity());
  s.add(KeySpec("seed", ValueType::Int, "0", "seed of initialisation, data order, augmentation and mask sampling").range(0.0, std::nullopt));

  s.add(KeySpec("train.epochs", ValueType::Int, "10", "training epochs").range(1.0, 1e6));
  s.add(KeySpec("train.batch_size", ValueType::Int, "128", "samples per micro-batch per rank (the global batch is this x ranks x train.accumulate_steps; at most the training split)").range(1.0, 1e9));
  s.add(KeySpec("train.accumulate_steps", ValueType::Int, "1",
                "gradient accumulation: micro-batches of train.batch_size per optimiser step, gradients allreduced "
                "after the last only; the global batch is batch_size x ranks x this, and the learning-rate schedule "
                "counts optimiser steps; part of the run identity unless 1")
            .range(1.0, 65536.0)
            // In the identity unless 1, so the runs made before the key existed keep their ids.
            .only_when("train.accumulate_steps", {"!1"}));
  s.add(KeySpec("train.optimizer", ValueType::String, "sgd", "optimiser").one_of({"sgd", "adamw"}));
  s.add(KeySpec("train.lr", ValueType::Float, "0.05", "peak learning rate (after warm-up)").above(0.0));
  s.add(KeySpec("train.min_lr", ValueType::Float, "0.0", "learning rate at the end of the cosine schedule (at most train.lr)").range(0.0, std::nullopt));
  s.add(KeySpec("train.schedule", ValueType::String, "cosine", "learning-rate schedule after warm-up").one_of({"cosine", "constant"}));
  s.add(KeySpec("train.warmup_epochs", ValueType::Float, "1.0", "linear warm-up from 0 to train.lr, in epochs (fractions allowed)").range(0.0, std::nullopt));
  s.add(KeySpec("train.momentum", ValueType::Float, "0.9", "sgd: momentum").range(0.0, std::nullopt).below(1.0));
  s.add(KeySpec("train.nesterov", ValueType::Bool, "false", "sgd: Nesterov momentum"));
  s.add(KeySpec("train.betas", ValueType::FloatList, "[0.9, 0.999]", "adamw: beta1, beta2").length(2).range(0.0, std::nullopt).below(1.0));
  s.add(KeySpec("train.weight_decay", ValueType::Float, "0.0005", "weight decay (decoupled for adamw)").range(0.0, std::nullopt));
  s.add(KeySpec("train.decay_norm_and_bias", ValueType::Bool, "false", "also decay normalisation weights and biases (off: the usual recipe)"));
  s.add(KeySpec("train.bucket_mb", ValueType::Float, "25.0",
                "data parallel: gradient bucket size in MiB (each bucket is one allreduce, launched from backward)")
            .range(0.001, 1e6)
            .not_identity());
  s.add(KeySpec("train.first_bucket_mb", ValueType::Float, "1.0",
                "data parallel: size of the first bucket (the last layers), small so communication starts early")
            .range(0.001, 1e6)
            .not_identity());
  s.add(KeySpec("train.last_bucket_mb", ValueType::Float, "-1",
                "data parallel: size of a separate last bucket (the first layers, whose allreduce cannot overlap "
                "backward); -1: none, 0: from the model, its gradient bytes / 8 between 1 and 25 MiB, at most a quarter")
            .range(-1.0, 1e6)
            .not_identity());
  s.add(KeySpec("train.precision", ValueType::String, "fp32",
                "fp32, or bf16: forward pass and loss under bfloat16 autocast (CUDA; on CPUs only where bf16 is fast)")
            .one_of({"fp32", "bf16"}));
  s.add(KeySpec("train.channels_last", ValueType::Bool, "false",
                "channels-last memory layout for convolution weights and inputs (faster on tensor-core GPUs)")
            .not_identity());
  s.add(KeySpec("train.cudnn_benchmark", ValueType::Bool, "true",
                "GPU: let cuDNN time its convolution algorithms for each input shape and keep the fastest")
            .not_identity());
  s.add(KeySpec("train.eval_every", ValueType::Int, "1", "evaluate on the validation split every N epochs (0: only at the end)").range(0.0, std::nullopt));
  s.add(KeySpec("train.checkpoint_every", ValueType::Int, "1", "write a checkpoint every N epochs").range(1.0, std::nullopt).not_identity());
  s.add(KeySpec("train.stop_on_nan", ValueType::Bool, "true",
                "stop the run with FAILED when the training loss becomes NaN or inf (never a complete result)")
            .not_identity());
  s.add(KeySpec("train.collective_timeout", ValueType::Float, "600",
                "seconds a collective may wait for the other ranks before the job is ended as stuck (0: forever)")
            .range(0.0, std::nullopt)
            .not_identity());
  s.add(KeySpec("world_size", ValueType::Int, "0",
                "ranks the run trains on; part of its identity (0: as launched: mpirun/srun's rank count, a sweep's "
                "--ranks or profile tasks); a run launched with another count is refused")
            .range(0.0, 65536.0));
  s.add(KeySpec("train.log_every", ValueType::Float, "10.0", "seconds between progress lines").range(0.0, std::nullopt).not_identity());

  s.add(KeySpec("eval.batch_size", ValueType::Int, "256", "samples per evaluation step per rank").range(1.0, std::nullopt).not_identity());
  s.add(KeySpec("eval.splits", ValueType::StringList, "~", "splits evaluated at the end (~: all of the dataset's eval splits)"));
  s.add(KeySpec("eval.attributions", ValueType::StringList, "[gradcam, gradcam_backbone, ixg, mask]",
                "attribution methods scored with the Energy Pointing Game at the end ('mask': a masking model's merged "
                "mask and each stage's)")
            .one_of(model::attribution_names()));
  s.add(KeySpec("eval.explain", ValueType::String, "true",
                "which class the attributions explain: true (the label, as the localisation literature does) or "
                "predicted (the model's prediction, which on a misclassified sample explains the wrong class)")
            .one_of({"true", "predicted"}));
  s.add(KeySpec("eval.select", ValueType::String, "last",
                "which weights the final evaluation scores: last (the last epoch's), or the best validation "
                "evaluation (every train.eval_every epochs and the last) by accuracy or worst-group accuracy "
                "(best_val_worst_group uses group labels, which AIM's premise does not); needs a val split")
            .one_of({"last", "best_val_accuracy", "best_val_worst_group"}));
  s.add(KeySpec("eval.keep_maps", ValueType::Int, "64",
                "the first K samples of each split are stored with image, ground truth and every attribution map")
            .at_least(0));
  s.add(KeySpec("eval.mask_confidence", ValueType::Bool, "true",
                "masking models: per-sample mask confidence (logit margin x agreement under flip and shift)"));
  s.add(KeySpec("eval.pictures", ValueType::Int, "8",
                "rows of the PNG grids written to <run>/pictures at the end (chosen and least confident samples; 0: none)")
            .range(0, 256)
            .not_identity());
  s.add(KeySpec("eval.mask_hist_bins", ValueType::Int, "10", "bins of the per-epoch histogram of mask active fractions").range(1.0, 1000.0));
}

}  // namespace

const Schema& full_schema() {
  static const Schema schema = [] {
    Schema s;
    add_runner_keys(s);
    data::add_dataset_keys(s);
    add_registry_keys(s, "dataset.name", data::dataset_registry());
    model::add_backbone_key(s);
    add_registry_keys(s, "model.backbone", model::backbone_registry());
    model::add_method_key(s);
    add_registry_keys(s, "method.name", model::method_registry());
    add_init_from_keys(s);
    return s;
  }();
  return schema;
}

namespace {

void check_training(const Config& cfg) {
  if (cfg.get_float("train.min_lr") > cfg.get_float("train.lr"))
    cfg.fail("train.min_lr", "larger than train.lr (" + cfg.text("train.lr") + "): the schedule would rise");
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

}  // namespace aim
