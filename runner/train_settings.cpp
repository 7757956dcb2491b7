#include "runner/train_settings.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace aim {

std::string default_text(double v) {
  char buf[32];
  // The shortest text that reads back as v, in positional notation (10.0, not 1e+01) unless v
  // is below 1e-4 or from 1e16 on.
  const bool positional = v == 0 || (std::fabs(v) >= 1e-4 && std::fabs(v) < 1e16);
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v && (!positional || !std::strchr(buf, 'e'))) break;
  }
  std::string text = buf;
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // a float reads as one: 1.0, not 1
  return text;
}

std::string default_text(int64_t v) { return std::to_string(v); }

std::string default_text(bool v) { return v ? "true" : "false"; }

// Named, not anonymous: the unity build puts several of the runner's files in one
// translation unit.
namespace train_keys {

// train.optimizer to train.decay_norm_and_bias: the optimiser and its schedule.
void add_optimizer_keys(Schema& s, const OptimizerSettings& o) {
  s.add(KeySpec("train.optimizer", ValueType::String, o.adamw ? "adamw" : "sgd", "optimiser").one_of({"sgd", "adamw"}));
  s.add(KeySpec("train.lr", ValueType::Float, default_text(o.lr), "peak learning rate (after warm-up)").above(0.0));
  s.add(KeySpec("train.min_lr", ValueType::Float, default_text(o.min_lr),
                "learning rate at the end of the cosine schedule (at most train.lr)")
            .range(0.0, std::nullopt));
  s.add(KeySpec("train.schedule", ValueType::String, o.cosine ? "cosine" : "constant",
                "learning-rate schedule after warm-up")
            .one_of({"cosine", "constant"}));
  s.add(KeySpec("train.warmup_epochs", ValueType::Float, default_text(o.warmup_epochs),
                "linear warm-up from 0 to train.lr, in epochs (fractions allowed)")
            .range(0.0, std::nullopt));
  s.add(KeySpec("train.momentum", ValueType::Float, default_text(o.momentum), "sgd: momentum")
            .range(0.0, std::nullopt)
            .below(1.0));
  s.add(KeySpec("train.nesterov", ValueType::Bool, default_text(o.nesterov), "sgd: Nesterov momentum"));
  s.add(KeySpec("train.betas", ValueType::FloatList, "[" + default_text(o.beta1) + ", " + default_text(o.beta2) + "]",
                "adamw: beta1, beta2")
            .length(2)
            .range(0.0, std::nullopt)
            .below(1.0));
  s.add(KeySpec("train.weight_decay", ValueType::Float, default_text(o.weight_decay),
                "weight decay (decoupled for adamw)")
            .range(0.0, std::nullopt));
  s.add(KeySpec("train.decay_norm_and_bias", ValueType::Bool, default_text(o.decay_norm_and_bias),
                "also decay normalisation weights and biases (off: the usual recipe)"));
}

// The gradient buckets of data-parallel training.
void add_bucket_keys(Schema& s, const TrainSettings& d) {
  s.add(KeySpec("train.bucket_mb", ValueType::Float, default_text(d.bucket_mb),
                "data parallel: gradient bucket size in MiB (each bucket is one allreduce, launched from backward)")
            .range(0.001, 1e6)
            .not_identity());
  s.add(KeySpec("train.first_bucket_mb", ValueType::Float, default_text(d.first_bucket_mb),
                "data parallel: size of the first bucket (the last layers), small so communication starts early")
            .range(0.001, 1e6)
            .not_identity());
  s.add(
      KeySpec("train.last_bucket_mb", ValueType::Float, default_text(d.last_bucket_mb),
              "data parallel: size of a separate last bucket (the first layers, whose allreduce cannot overlap "
              "backward); -1: none, 0: from the model, its gradient bytes / 8 between 1 and 25 MiB, at most a quarter")
          .range(-1.0, 1e6)
          .not_identity());
}

}  // namespace train_keys

void add_train_keys(Schema& s) {
  // Each default is the struct's (TrainSettings{}), so the two cannot disagree.
  const TrainSettings d;
  const OptimizerSettings& o = d.optim;
  s.add(KeySpec("train.epochs", ValueType::Int, default_text(d.epochs), "training epochs").range(1.0, 1e6));
  s.add(KeySpec("train.batch_size", ValueType::Int, default_text(d.batch_size),
                "samples per micro-batch per rank (the global batch is this x ranks x train.accumulate_steps; at most "
                "the training split)")
            .range(1.0, 1e9));
  s.add(KeySpec("train.accumulate_steps", ValueType::Int, default_text(d.accumulate_steps),
                "gradient accumulation: micro-batches of train.batch_size per optimiser step, gradients allreduced "
                "after the last only; the global batch is batch_size x ranks x this, and the learning-rate schedule "
                "counts optimiser steps; part of the run identity unless 1")
            .range(1.0, 65536.0)
            // In the identity unless 1, so the runs made before the key existed keep their ids.
            .only_when("train.accumulate_steps", {"!" + default_text(d.accumulate_steps)}));
  train_keys::add_optimizer_keys(s, o);
  train_keys::add_bucket_keys(s, d);
  s.add(KeySpec("train.precision", ValueType::String, d.bf16 ? "bf16" : "fp32",
                "fp32, or bf16: forward pass and loss under bfloat16 autocast (CUDA; on CPUs only where bf16 is fast)")
            .one_of({"fp32", "bf16"}));
  s.add(KeySpec("train.channels_last", ValueType::Bool, default_text(d.channels_last),
                "channels-last memory layout for convolution weights and inputs (faster on tensor-core GPUs)")
            .not_identity());
  s.add(KeySpec("train.cudnn_benchmark", ValueType::Bool, default_text(d.cudnn_benchmark),
                "GPU: let cuDNN time its convolution algorithms for each input shape and keep the fastest")
            .not_identity());
  s.add(KeySpec("train.eval_every", ValueType::Int, "1",
                "evaluate on the validation split every N epochs (0: only at the end)")
            .range(0.0, std::nullopt));
  s.add(KeySpec("train.checkpoint_every", ValueType::Int, default_text(d.checkpoint_every),
                "write a checkpoint every N epochs")
            .range(1.0, std::nullopt)
            .not_identity());
  s.add(KeySpec("train.stop_on_nan", ValueType::Bool, default_text(d.stop_on_nan),
                "stop the run with FAILED when the training loss becomes NaN or inf (never a complete result); "
                "false: the run completes, and one whose weights or loss went NaN or inf is flagged in every report")
            .not_identity());
  s.add(KeySpec("train.collective_timeout", ValueType::Float, "600",
                "seconds a collective may wait for the other ranks before the job is ended as stuck (0: forever)")
            .range(0.0, std::nullopt)
            .not_identity());
  s.add(KeySpec("train.memory_stall_timeout", ValueType::Float, "60",
                "seconds a process within reach of its address-space limit (ulimit -v) may go without a step or an "
                "evaluation batch before it ends with a message naming the limit (runner/memory_guard.h; 0: forever)")
            .range(0.0, std::nullopt)
            .not_identity());
  s.add(KeySpec("train.log_every", ValueType::Float, default_text(d.log_every_s), "seconds between progress lines")
            .range(0.0, std::nullopt)
            .not_identity());
}

namespace {

OptimizerSettings optimizer_settings(const Config& cfg) {
  OptimizerSettings o;
  o.adamw = cfg.get_string("train.optimizer") == "adamw";
  o.lr = cfg.get_float("train.lr");
  o.min_lr = cfg.get_float("train.min_lr");
  o.warmup_epochs = cfg.get_float("train.warmup_epochs");
  o.cosine = cfg.get_string("train.schedule") == "cosine";
  o.momentum = cfg.get_float("train.momentum");
  o.nesterov = cfg.get_bool("train.nesterov");
  const auto betas = cfg.get_float_list("train.betas");  // the schema checks length 2 and [0, 1)
  o.beta1 = betas.at(0), o.beta2 = betas.at(1);
  o.weight_decay = cfg.get_float("train.weight_decay");
  o.decay_norm_and_bias = cfg.get_bool("train.decay_norm_and_bias");
  return o;
}

}  // namespace

TrainSettings train_settings(const Config& cfg) {
  TrainSettings t;
  t.optim = optimizer_settings(cfg);
  t.seed = uint64_t(cfg.get_int("seed"));
  t.threads = int(cfg.get_int("threads"));
  t.epochs = cfg.get_int("train.epochs");
  t.batch_size = cfg.get_int("train.batch_size");
  t.accumulate_steps = cfg.get_int("train.accumulate_steps");
  t.channels_last = cfg.get_bool("train.channels_last");
  t.bf16 = cfg.get_string("train.precision") == "bf16";
  t.pin_memory = cfg.get_bool("dataset.pin_memory");
  t.cudnn_benchmark = cfg.get_bool("train.cudnn_benchmark");
  t.stop_on_nan = cfg.get_bool("train.stop_on_nan");
  t.bucket_mb = cfg.get_float("train.bucket_mb");
  t.first_bucket_mb = cfg.get_float("train.first_bucket_mb");
  t.last_bucket_mb = cfg.get_float("train.last_bucket_mb");
  t.log_every_s = cfg.get_float("train.log_every");
  t.workers = int(cfg.get_int("dataset.workers"));
  t.prefetch = int(cfg.get_int("dataset.prefetch"));
  t.checkpoint_every = cfg.get_int("train.checkpoint_every");
  t.mask_hist_bins = cfg.get_int("eval.mask_hist_bins");
  t.pictures = cfg.get_int("eval.pictures");
  return t;
}

}  // namespace aim
