// One model's training step alone (forward + loss, backward, SGD), without the trainer, to
// tell the trainer's cost from the model's and to profile the model against the same step
// in Python (bench/reference_train.py --trace, bench/compare_traces.py).
//
//   build/bench/step_bench --backbone small_cnn --size 64 --batch 128 --iters 30
//   build/bench/step_bench --backbone resnet18 --method aim --trace step.json   # Chrome trace
//   build/bench/step_bench ... --glibc-defaults   # malloc as glibc sets it (aimrun keeps freed memory)
//
// Data: a pool of 64 noise images, a random batch of them per step, as aimrun's synthetic
// dataset and the Python reference. Prints images/s and ms per step for each phase over the
// steps after 3 warm-up steps.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>

#include "aim/registry.h"
#include "core/allocator.h"
#include "core/log.h"
#include "runner/optim.h"
#include "runner/schema.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"one model's training step, without the trainer"};
  std::string backbone = "resnet18", method = "vanilla", trace;
  int64_t size = 224, batch = 16, threads = 2, width = 16;
  int iters = 10;
  bool glibc_defaults = false;
  app.add_option("--backbone", backbone, "small_cnn, resnet18, resnet50, convnext_tiny, ...");
  app.add_option("--width", width, "small_cnn width");
  app.add_option("--method", method, "vanilla, aim, bottom_up (2 stages, target 25%)");
  app.add_option("--size", size, "image height and width");
  app.add_option("--batch", batch);
  app.add_option("--threads", threads, "intra-op threads");
  app.add_option("--iters", iters, "timed steps (after 3 warm-up steps)");
  app.add_option("--trace", trace, "write the timed steps as a Chrome trace (autograd profiler)");
  app.add_flag("--glibc-defaults", glibc_defaults, "leave malloc as glibc sets it (aimrun keeps freed memory)");
  CLI11_PARSE(app, argc, argv);
  if (!glibc_defaults) aim::keep_freed_memory_in_process();
  aim::init_logging(0, "warn");
  torch::set_num_threads(int(threads));

  aim::FlatConfig flat;
  for (const auto& o : {"model.backbone=" + backbone, "model.width=" + std::to_string(width), "method.name=" + method,
                        std::string("method.stages=2"), std::string("method.target=0.25"),
                        std::string("train.optimizer=sgd"), std::string("train.lr=0.05")})
    aim::apply_override(flat, o);
  auto cfg = aim::Config::resolve(flat, aim::full_schema());
  torch::manual_seed(0);
  auto model = aim::model::make_model(cfg, 10);
  auto optimizer = aim::make_optimizer(aim::train_settings(cfg).optim, *model);
  model->train();
  auto pool = torch::randn({64, 3, size, size});
  auto labels = torch::arange(batch) % 10;

  const int warmup = 3;
  double forward_s = 0, backward_s = 0, optimizer_s = 0;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  for (int step = 0; step < warmup + iters; ++step) {
    if (step == warmup && !trace.empty()) profile = std::make_unique<torch::autograd::profiler::RecordProfile>(trace);
    auto images = pool.index_select(0, torch::randint(64, {batch}));
    auto t0 = Clock::now();
    auto out = model->forward(images);
    auto loss = model->loss(out, labels, {0, 1}).total;
    auto t1 = Clock::now();
    aim::release_gradients(*optimizer);
    loss.backward();
    auto t2 = Clock::now();
    optimizer->step();
    auto t3 = Clock::now();
    if (step >= warmup) {
      forward_s += std::chrono::duration<double>(t1 - t0).count();
      backward_s += std::chrono::duration<double>(t2 - t1).count();
      optimizer_s += std::chrono::duration<double>(t3 - t2).count();
    }
  }
  profile.reset();  // writes the trace
  std::printf("%s %s %ldx%ld batch %ld: %.1f images/s; ms per step: forward %.1f backward %.1f optimizer %.1f\n",
              backbone.c_str(), method.c_str(), long(size), long(size), long(batch),
              iters * batch / (forward_s + backward_s + optimizer_s), 1e3 * forward_s / iters, 1e3 * backward_s / iters,
              1e3 * optimizer_s / iters);
}
