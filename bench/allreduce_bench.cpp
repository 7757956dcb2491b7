// The gradient path's allreduce against one raw MPI_Allreduce of the same total size, for
// two bucketings of the same model side by side: aimrun's default, a fixed cap alone
// (--bucket-mb, 25 MiB as PyTorch DDP; the first bucket --first-bucket-mb), and that with a
// separate small last bucket sized from the model (train.last_bucket_mb: 0).
//
//   mpirun -np 2 build/bench/allreduce_bench [--backbone small_cnn] [--width 64] [--iters 20]
//
// The gradients of a real model's parameters are produced by a cheap backward pass (loss =
// sum_k <p_k, c_k>, one elementwise pass per parameter) and reduced through GradientSync:
// autograd writes them into the buckets (divided by the world size as they are copied in:
// one micro-batch), each complete bucket is one allreduce on the communication thread. The
// reference is MPI_Allreduce of one flat float32 buffer holding as many elements. Reported:
// the median time per step of each and the ratio (reference time / (gradient-path time -
// backward alone): 1.0 = as fast as one raw allreduce; above 1 where overlap with backward
// hides part of it).
#include <CLI/CLI.hpp>
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>

#include "aim/registry.h"
#include "core/log.h"
#include "runner/comm/gradient_sync.h"
#include "runner/comm/mpi_communicator.h"
#include "runner/schema.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"gradient-path allreduce vs raw MPI_Allreduce"};
  std::string backbone = "small_cnn";
  int64_t width = 64;
  int iters = 20;
  double bucket_mb = 25, first_mb = 1;
  app.add_option("--backbone", backbone, "backbone whose parameters are reduced");
  app.add_option("--width", width, "small_cnn width");
  app.add_option("--iters", iters, "timed steps (after 3 warm-up steps)");
  app.add_option("--bucket-mb", bucket_mb, "bucket size");
  app.add_option("--first-bucket-mb", first_mb, "first bucket size");
  CLI11_PARSE(app, argc, argv);
  aim::init_logging(0, "warn");
  torch::set_num_threads(1);

  auto comm = aim::comm::make_mpi_communicator();
  auto cfg = aim::Config::resolve(
      [&] {
        aim::FlatConfig flat;
        aim::apply_override(flat, "model.backbone=" + backbone);
        aim::apply_override(flat, "model.width=" + std::to_string(width));
        return flat;
      }(),
      aim::full_schema());
  // Two copies of the model, one per bucketing (a GradientSync owns its parameters' .grad).
  auto make = [&] {
    torch::manual_seed(0);
    return aim::model::make_model(cfg, 1000);
  };
  auto model_fixed = make(), model_auto = make();
  auto params_fixed = model_fixed->parameters(), params = model_auto->parameters();
  int64_t total = 0;
  std::vector<torch::Tensor> coeffs;
  for (auto& p : params) {
    total += p.numel();
    coeffs.push_back(torch::randn_like(p));
  }
  aim::comm::GradientSync sync_fixed(params_fixed, *comm, bucket_mb, first_mb, -1);  // aimrun's default
  aim::comm::GradientSync sync_auto(params, *comm, bucket_mb, first_mb, 0);          // last bucket from the model

  auto make_loss = [&](std::vector<torch::Tensor>& ps) {
    torch::Tensor loss = torch::zeros({});
    for (size_t k = 0; k < ps.size(); ++k) loss = loss + (ps[k] * coeffs[k]).sum();
    return loss;
  };
  auto gradient_step = [&](std::vector<torch::Tensor>& ps, aim::comm::GradientSync& sync) {
    auto loss = make_loss(ps);
    sync.begin_step();
    loss.backward();
    sync.finish_step();
  };
  auto step_fixed = [&] { gradient_step(params_fixed, sync_fixed); };
  auto step_auto = [&] { gradient_step(params, sync_auto); };
  auto flat = torch::randn({total});
  auto raw_step = [&] {
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), int(total), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };
  // The backward pass alone (no communication: every bucket of this step is launched
  // already, so the hooks launch nothing), to separate it from the gradient path.
  auto compute_only = [&] { make_loss(params).backward(); };
  // Interleaved, one step of each per round, medians: a 2-core machine shared by ranks and
  // communication threads is noisy, and interleaving exposes all of them to the same noise.
  for (int i = 0; i < 3; ++i) step_fixed(), step_auto(), raw_step(), compute_only();
  std::vector<double> fixed, automatic, raw, compute;
  auto timed = [&](auto&& f, std::vector<double>& out) {
    comm->barrier();
    auto t0 = Clock::now();
    f();
    comm->barrier();
    out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  };
  for (int i = 0; i < iters; ++i) {
    timed(step_fixed, fixed);
    timed(step_auto, automatic);
    timed(raw_step, raw);
    timed(compute_only, compute);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double t_raw = median(raw), t_compute = median(compute);
  if (comm->rank() == 0) {
    double mb = double(total) * 4 / 1e6;
    std::printf("backbone %s: %lld parameters (%.1f MB float32), %d ranks\n", backbone.c_str(), (long long)total, mb,
                comm->world_size());
    std::printf("raw MPI_Allreduce of %.1f MB:  %8.2f ms  (%.2f GB/s algorithm bandwidth); backward alone %.2f ms\n",
                mb, 1e3 * t_raw, mb / 1e3 / t_raw, 1e3 * t_compute);
    using Row = std::tuple<const char*, aim::comm::GradientSync*, std::vector<double>*>;
    for (auto [name, sync, times] : {Row{"fixed", &sync_fixed, &fixed}, Row{"model", &sync_auto, &automatic}}) {
      const double t_path = median(*times);
      std::printf(
          "%s buckets (%5.2f MiB last, %2zu buckets): gradient path %8.2f ms, ratio raw / (path - backward) = "
          "%.2f\n",
          name, std::max(0.0, sync->last_bucket_cap_mib()), sync->num_buckets(), 1e3 * t_path,
          t_raw / std::max(1e-9, t_path - t_compute));
    }
    std::printf("(medians of %d interleaved rounds)\n", iters);
  }
  return 0;
}
