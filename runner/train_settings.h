#pragma once
// The training loop's settings (the train.* keys, the seed and the thread count), read from
// the config once, beside the keys that define them (add_train_keys), so that the trainer
// and everything it hands them to take a typed struct, not key names.
//
// Defaults are written once, here: add_train_keys (and the seed, threads and eval.* keys of
// runner/schema.cpp and runner/eval_schedule.cpp) make each key's default from a default
// TrainSettings. The dataset.* fields mirror the data registry's defaults (data/ cannot see
// this struct): test TrainSettings.DefaultsAreTheSchemas reads an empty config and compares
// every field.
#include <cstdint>
#include <string>

#include "core/config.h"

namespace aim {

// The optimiser and its learning-rate schedule (runner/optim.h).
struct OptimizerSettings {
  bool adamw = false;  // train.optimizer: sgd or adamw
  double lr = 0.05, min_lr = 0, warmup_epochs = 1;
  bool cosine = true;  // train.schedule: cosine or constant
  double momentum = 0.9;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999;
  double weight_decay = 5e-4;
  bool decay_norm_and_bias = false;
};

struct TrainSettings {
  uint64_t seed = 0;
  int threads = 0;  // 0: default_threads() (runner/device.h)
  int64_t epochs = 10;
  int64_t batch_size = 128;      // per micro-batch per rank
  int64_t accumulate_steps = 1;  // micro-batches per optimiser step
  bool channels_last = false;
  bool bf16 = false;        // train.precision: bf16
  bool pin_memory = true;   // dataset.pin_memory (used on a GPU only)
  bool cudnn_benchmark = true;
  bool stop_on_nan = true;
  double bucket_mb = 25, first_bucket_mb = 1, last_bucket_mb = -1;
  double log_every_s = 10;
  int workers = 0, prefetch = 4;  // dataset.workers, dataset.prefetch
  int64_t checkpoint_every = 1;
  int64_t mask_hist_bins = 10;  // eval.mask_hist_bins: the per-epoch mask-area histogram
  int64_t pictures = 8;         // eval.pictures: rows of the PNG grids at the end
  OptimizerSettings optim;

  int64_t global_batch(int world) const { return batch_size * world * accumulate_steps; }
};

// A default as the schema's YAML text: a float's shortest text that reads back as it, with
// ".0" when it has no fraction (1.0, 0.0005, -1.0); an integer's digits; true or false.
std::string default_text(double v);
std::string default_text(int64_t v);
std::string default_text(bool v);

// The train.* keys, in the order docs/config-reference.md lists them, their defaults a
// default TrainSettings'.
void add_train_keys(Schema& schema);

// Keys that must agree with each other are checked before this, by check_run_config.
TrainSettings train_settings(const Config& cfg);

}  // namespace aim
