// The measurements behind the scaling model (docs/performance.md, "Scaling"): run under
// mpirun with 1, 2, 3, ... ranks, each rank on one thread, it appends one JSON line (rank 0)
// with
//   - allreduce: the median time of the communicator's allreduce (MPI, on its
//     communication thread, as the gradient buckets use it) for message sizes from 4 KiB
//     to 16 MiB and for the model's gradient size;
//   - training steps of a model (forward + loss, backward, SGD; the batch per rank fixed,
//     as in data-parallel training), interleaved: with GradientSync (the aimrun path) and
//     without any communication (the compute of the same step, with the same number of
//     ranks sharing the machine); medians, and the median time finish_step() waited.
// bench/scaling_model.py fits the model to these lines and projects it.
//
//   for n in 1 2 3; do mpirun -np $n build/bench/scaling_bench --out bench/results/scaling.jsonl; done
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "aim/registry.h"
#include "core/allocator.h"
#include "core/log.h"
#include "runner/comm/gradient_sync.h"
#include "runner/comm/mpi_communicator.h"
#include "runner/optim.h"
#include "runner/schema.h"

using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Median seconds of the communicator's allreduce of `bytes` (float32), after one warm-up.
double allreduce_seconds(aim::comm::Communicator& comm, int64_t bytes, int reps) {
  auto t = torch::ones({std::max<int64_t>(1, bytes / 4)});
  comm.allreduce_sum(t);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    comm.barrier();
    auto t0 = Clock::now();
    comm.allreduce_sum(t);
    times.push_back(seconds_since(t0));
  }
  return median(times);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"measurements for the scaling model: allreduce times and training steps with and without sync"};
  std::string backbone = "small_cnn", out = "bench/results/scaling.jsonl", label;
  int64_t size = 64, batch = 32, width = 32;
  int steps = 12;
  app.add_option("--backbone", backbone);
  app.add_option("--width", width, "small_cnn width");
  app.add_option("--size", size, "image height and width");
  app.add_option("--batch", batch, "per rank");
  app.add_option("--steps", steps, "timed steps of each kind (after 2 warm-up steps)");
  app.add_option("--out", out, "JSON lines file to append to (rank 0)");
  app.add_option("--label", label, "free text stored with the line (the machine, its load)");
  CLI11_PARSE(app, argc, argv);
  aim::keep_freed_memory_in_process();
  aim::init_logging(0, "warn");
  torch::set_num_threads(1);
  auto comm = aim::comm::make_mpi_communicator();
  const int world = comm->world_size();

  aim::FlatConfig flat;
  for (const std::string& o :
       {"model.backbone=" + backbone, std::string("train.optimizer=sgd"), std::string("train.lr=0.01")})
    aim::apply_override(flat, o);
  if (backbone == "small_cnn") aim::apply_override(flat, "model.width=" + std::to_string(width));
  auto cfg = aim::Config::resolve(flat, aim::full_schema());
  auto make = [&] {
    torch::manual_seed(0);
    auto m = aim::model::make_model(cfg, 10);
    m->train();
    return m;
  };
  auto model_sync = make(), model_local = make();
  auto opt_sync = aim::make_optimizer(aim::train_settings(cfg).optim, *model_sync),
       opt_local = aim::make_optimizer(aim::train_settings(cfg).optim, *model_local);
  int64_t grad_bytes = 0;
  for (const auto& p : model_sync->parameters()) grad_bytes += p.numel() * int64_t(p.element_size());
  std::unique_ptr<aim::comm::GradientSync> sync;
  if (world > 1) sync = std::make_unique<aim::comm::GradientSync>(model_sync->parameters(), *comm, 25, 1, 0);

  torch::manual_seed(1 + comm->rank());
  auto pool = torch::randn({64, 3, size, size});
  auto labels = torch::arange(batch) % 10;
  auto step = [&](aim::model::Model& model, torch::optim::Optimizer& opt, aim::comm::GradientSync* s) {
    auto images = pool.index_select(0, torch::randint(64, {batch}));
    if (s)
      s->begin_step();
    else
      aim::release_gradients(opt);
    auto loss = model.loss(model.forward(images), labels, {0, 1}).total;
    loss.backward();
    if (s) s->finish_step();
    opt.step();
  };
  std::vector<double> with_sync, local, waited;
  for (int i = 0; i < 2 + steps; ++i) {
    comm->barrier();
    auto t0 = Clock::now();
    const double w0 = sync ? sync->wait_seconds() : 0;
    step(*model_sync, *opt_sync, sync.get());
    const double t_sync = seconds_since(t0);
    const double w = sync ? sync->wait_seconds() - w0 : 0;
    comm->barrier();
    t0 = Clock::now();
    step(*model_local, *opt_local, nullptr);
    const double t_local = seconds_since(t0);
    if (i < 2) continue;
    with_sync.push_back(t_sync);
    local.push_back(t_local);
    waited.push_back(w);
  }
  // Rank 0's medians: every rank passes the barriers around every step, so their step times
  // agree closely.
  std::vector<std::pair<int64_t, double>> sweep;
  if (world > 1) {
    for (int64_t kib = 4; kib <= 16 * 1024; kib *= 4)
      sweep.emplace_back(kib * 1024, allreduce_seconds(*comm, kib * 1024, kib <= 1024 ? 30 : 8));
    sweep.emplace_back(grad_bytes, allreduce_seconds(*comm, grad_bytes, 8));
  }
  if (comm->rank() == 0) {
    std::ostringstream line;
    line.precision(6);
    line << "{\"label\": \"" << label << "\", \"backbone\": \"" << backbone << "\", \"width\": " << width
         << ", \"size\": " << size << ", \"batch\": " << batch << ", \"ranks\": " << world
         << ", \"grad_bytes\": " << grad_bytes << ", \"buckets\": " << (sync ? sync->num_buckets() : 0)
         << ", \"steps\": " << steps << ", \"step_sync_s\": " << median(with_sync)
         << ", \"step_local_s\": " << median(local) << ", \"wait_s\": " << median(waited) << ", \"allreduce\": [";
    for (size_t k = 0; k < sweep.size(); ++k)
      line << (k ? ", " : "") << "[" << sweep[k].first << ", " << sweep[k].second << "]";
    line << "]}";
    std::ofstream(out, std::ios::app) << line.str() << "\n";
    std::printf("%s\n", line.str().c_str());
  }
  return 0;
}
