#include "runner/trainer.h"

#include <sched.h>
#include <csignal>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <array>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <thread>

#include "aim/attribution.h"
#include "aim/registry.h"
#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/host.h"
#include "core/strings.h"
#include "data/loader.h"
#include "data/registry.h"
#include "results/run_file.h"
#include "runner/checkpoint.h"
#include "runner/device.h"
#include "runner/comm/agree.h"
#include "runner/epoch_stats.h"
#include "runner/comm/gradient_sync.h"
#include "runner/evaluate.h"
#include "runner/init_from.h"
#include "runner/optim.h"
#include "runner/pictures.h"
#include "runner/run_metadata.h"
#include "runner/session_ledger.h"

namespace aim {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// This process's peak resident memory in MiB (VmHWM: since exec, unlike getrusage's
// ru_maxrss, which keeps the high-water mark of the process it was forked from). NaN where
// /proc is not available.
double peak_resident_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:   123456 kB"
  return NAN;
}

// Every rank starts from rank 0's parameters and buffers (BatchNorm statistics included).
void broadcast_model(torch::nn::Module& model, comm::Communicator& comm) {
  if (comm.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) comm.broadcast(p, 0);
  for (auto& b : model.buffers()) comm.broadcast(b, 0);
}

// Every rank's generator state, gathered on every rank (one row each, summed).
std::vector<torch::Tensor> gather_rng_states(comm::Communicator& comm) {
  auto state = at::detail::getDefaultCPUGenerator().get_state();
  auto all = torch::zeros({comm.world_size(), state.numel()}, torch::kUInt8).to(torch::kLong);
  all[comm.rank()].copy_(state.to(torch::kLong));
  comm.allreduce_sum(all);
  std::vector<torch::Tensor> out;
  for (int r = 0; r < comm.world_size(); ++r) out.push_back(all[r].to(torch::kUInt8).clone());
  return out;
}

void set_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// BatchNorm policy under data parallelism (as DDP's broadcast_buffers): every step starts
// from rank 0's buffers, so running statistics, evaluation and checkpoints agree on all ranks.
void broadcast_buffers(torch::nn::Module& model, comm::Communicator& comm) {
  if (comm.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& b : model.buffers()) comm.broadcast(b, 0);
}

// A test hook: AIMRUN_FAULT="rank=1,step=3,kind=throw|kill|stop|nan|stall" makes that rank
// fail at that global step (throw, kill), ask for a stop as a signal would (stop), see a
// non-finite loss (nan), or hang (stall): the fault tests (tests/test_faults.cpp).
struct Fault {
  int rank = -1;
  int64_t step = -1;
  std::string kind;
};
Fault fault_from_environment() {
  Fault f;
  const char* v = std::getenv("AIMRUN_FAULT");
  if (!v) return f;
  for (const auto& part : split(v, ',')) {
    auto eq = part.find('=');
    if (eq == std::string::npos) continue;
    auto k = part.substr(0, eq), val = part.substr(eq + 1);
    if (k == "rank") f.rank = std::stoi(val);
    if (k == "step") f.step = std::stoll(val);
    if (k == "kind") f.kind = val;
  }
  return f;
}

class Progress {
 public:
  Progress(double every_s, int64_t total_steps) : every_s_(every_s), total_steps_(total_steps) {}
  void start_session(int64_t step) {
    session_start_ = Clock::now();
    session_first_step_ = step;
    last_ = Clock::now();
  }
  bool due() const { return every_s_ > 0 && seconds_since(last_) >= every_s_; }
  void mark() { last_ = Clock::now(); }
  // Seconds to the last step at this session's pace so far (-1: not known yet).
  double eta_seconds(int64_t step) const {
    int64_t done = step - session_first_step_;
    if (done <= 0) return -1;
    double per_step = seconds_since(session_start_) / double(done);
    return per_step * double(total_steps_ - step);
  }

 private:
  double every_s_;
  int64_t total_steps_;
  Clock::time_point session_start_, last_;
  int64_t session_first_step_ = 0;
};

void add_eval_point(results::EvalCurve& c, int64_t epoch, const results::SplitResult& r) {
  c.epoch.push_back(epoch);
  c.accuracy.push_back(r.accuracy);
  c.worst_group_accuracy.push_back(r.worst_group_accuracy);
  c.loss.push_back(r.loss);
}

// eval.select: keeps the weights of the best validation evaluation so far (the earliest of
// equal ones). The same decision on every rank: the evaluation is reduced over all ranks.
void consider_for_selection(const std::string& select, TrainState& state, model::Model& model, int64_t epoch,
                            const results::SplitResult& r) {
  if (select == "last") return;
  const double score = select == "best_val_accuracy" ? r.accuracy : r.worst_group_accuracy;
  if (std::isnan(score))
    throw Error("eval.select: " + select + " needs a validation split with " +
                (select == "best_val_worst_group" ? "groups" : "samples") + " (its score is NaN)");
  if (state.best_epoch > 0 && !(score > state.best_score)) return;
  state.best_epoch = epoch;
  state.best_score = score;
  state.best_weights = copy_weights(model);
}

}  // namespace

void write_run_pictures(const Config& cfg, const RunPaths& paths, model::Model& model, const data::DatasetSplits& splits,
                        const results::RunRecord& record, const EvalOptions& eval) {
  // The test split if there is one, else the last evaluated split.
  const results::SplitResult* split = nullptr;
  for (const auto& s : record.splits)
    if (!split || s.split == "test") split = &s;
  if (!split || !splits.splits.count(split->split)) return;
  const auto& ds = splits.at(split->split);
  const size_t rows = size_t(cfg.get_int("eval.pictures"));
  PictureOptions po;
  po.explain_true_class = eval.explain_true_class;
  po.attributions.clear();
  for (const auto& a : eval.attributions)
    if (a != "mask") po.attributions.push_back(a);  // the mask has its own column
  auto note = [&](int64_t i) {
    char buf[96];
    auto it = split->per_sample.find(results::kMaskConfidence);
    if (it != split->per_sample.end())
      std::snprintf(buf, sizeof buf, "mask conf %.2f (margin %.2f, agree %.2f)", it->second[i],
                    split->per_sample.at(results::kMaskMargin)[i], split->per_sample.at(results::kMaskAgreement)[i]);
    else
      std::snprintf(buf, sizeof buf, "p(pred) %.2f", split->per_sample.at("confidence")[i]);
    return std::string(buf);
  };
  auto draw = [&](const std::string& name, const std::vector<int64_t>& idx) {
    std::vector<std::string> notes;
    for (auto i : idx) notes.push_back(note(i));
    ensure_dir(paths.dir + "/pictures");
    write_picture_grid(paths.dir + "/pictures/" + split->split + "_" + name + ".png", model, ds, idx, notes, po);
  };
  std::vector<int64_t> first(std::min<size_t>(rows, size_t(ds.size())));
  std::iota(first.begin(), first.end(), 0);
  draw("first", first);
  auto it = split->per_sample.find(results::kMaskConfidence);
  draw("least_confident", lowest(it != split->per_sample.end() ? it->second : split->per_sample.at("confidence"), rows));
}

int default_threads(int local_size) {
  // A launcher or batch script that says how many threads a process gets is obeyed
  // (Slurm jobs from `aimrun sweep submit` set it to --cpus-per-task).
  if (const char* v = std::getenv("OMP_NUM_THREADS"); v && std::atoi(v) > 0) return std::atoi(v);
  cpu_set_t set;
  int cores = int(std::thread::hardware_concurrency());
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  // A launcher that binds ranks gives each its own cores; one that does not leaves every
  // rank the whole machine, to be shared.
  int machine = int(std::thread::hardware_concurrency());
  if (local_size > 1 && cores >= machine) cores /= local_size;
  return std::max(1, cores);
}

TrainOutcome train_run(const Config& cfg, const RunPaths& paths, comm::Communicator& comm,
                       const TrainOptions& options) {
  const auto wall_start = Clock::now();
  const int rank = comm.rank(), world = comm.world_size();
  const int threads = cfg.get_int("threads") > 0 ? int(cfg.get_int("threads")) : default_threads(comm.local_size());
  torch::set_num_threads(threads);
  const uint64_t seed = uint64_t(cfg.get_int("seed"));

  // Each rank builds its data and model alone: any failure reaches every rank before the
  // first collective (runner/comm/agree.h).
  data::DatasetSplits splits;
  comm::run_agreed(comm, [&] { splits = data::make_datasets(cfg); });
  auto train_set = splits.splits.at("train");
  const auto& info = train_set->info();

  const auto device = select_device(cfg, comm.local_rank());
  torch::manual_seed(seed);  // identical initialisation on every rank (and broadcast anyway)
  std::shared_ptr<model::Model> model;
  comm::run_agreed(comm, [&] {
    model = model::make_model(cfg, info.num_classes());
    // model.init_from: the upstream's weights, unless this run resumes from its own checkpoint.
    if (!(options.resume && std::filesystem::exists(paths.checkpoint()))) {
      const auto what = load_init_from(cfg, *model);
      if (!what.empty() && rank == 0) spdlog::info("{}", what);
    }
    model->to(device);
  });
  const bool channels_last = cfg.get_bool("train.channels_last");
  if (channels_last) to_channels_last(*model);
  const bool bf16 = cfg.get_string("train.precision") == "bf16";
  const bool pin = device.is_cuda() && cfg.get_bool("dataset.pin_memory");
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(cfg.get_bool("train.cudnn_benchmark"));
  broadcast_model(*model, comm);
  auto optimizer = make_optimizer(cfg, *model);
  // From here on each rank draws its own randomness (mask sampling, dropout).
  torch::manual_seed(mix_seed(seed, uint64_t(rank) + 1));

  const int64_t batch = cfg.get_int("train.batch_size"), epochs = cfg.get_int("train.epochs");
  // One optimiser step = `accum` micro-batches of `batch` per rank: the global batch is
  // batch x ranks x accum, and the schedule counts optimiser steps.
  const int64_t accum = cfg.get_int("train.accumulate_steps");
  const int64_t steps_per_epoch = train_set->size() / (batch * world * accum);
  if (steps_per_epoch == 0)
    cfg.fail("train.batch_size", "the global batch (" + std::to_string(batch * world * accum) +
                                     ") is larger than the training split (" + std::to_string(train_set->size()) +
                                     " samples)");
  LrSchedule schedule(cfg, steps_per_epoch);
  std::unique_ptr<comm::GradientSync> sync;
  if (world > 1)
    sync = std::make_unique<comm::GradientSync>(model->parameters(), comm, cfg.get_float("train.bucket_mb"),
                                                cfg.get_float("train.first_bucket_mb"),
                                                cfg.get_float("train.last_bucket_mb"));
  const Fault fault = fault_from_environment();
  const int64_t bins = cfg.get_int("eval.mask_hist_bins");
  const int workers = int(cfg.get_int("dataset.workers")), prefetch = int(cfg.get_int("dataset.prefetch"));
  // During training the validation split gets accuracy only; the final evaluation gets
  // attributions, EPG, mask confidence and stored maps.
  EvalOptions val_options;
  val_options.batch_size = cfg.get_int("eval.batch_size");
  val_options.workers = workers;
  val_options.prefetch = prefetch;
  val_options.attributions.clear();
  val_options.keep_maps = 0;
  val_options.mask_confidence = false;
  EvalOptions final_options = val_options;
  final_options.attributions = cfg.get_string_list("eval.attributions");
  for (const auto& a : final_options.attributions)
    if (std::find(model::attribution_names().begin(), model::attribution_names().end(), a) == model::attribution_names().end())
      cfg.fail("eval.attributions", "unknown attribution method '" + a + "' (expected " + join(model::attribution_names(), ", ") + ")");
  final_options.explain_true_class = cfg.get_string("eval.explain") == "true";
  final_options.keep_maps = cfg.get_int("eval.keep_maps");
  final_options.mask_confidence = cfg.get_bool("eval.mask_confidence");

  // The epoch statistics have one layout on every rank, fixed before the first step.
  const EpochLayout layout = epoch_layout(*model, bins);
  TrainState state;
  state.world_size = world;
  state.class_names = info.class_names;
  state.partial = EpochSums::zeros(layout);
  bool resumed = false;
  comm::run_agreed(comm, [&] {
    if (!options.resume || !load_checkpoint(paths.checkpoint(), *model, *optimizer, state, device)) return;
    resumed = true;
    if (state.world_size != world)
      throw Error(paths.checkpoint() + ": written with " + std::to_string(state.world_size) + " ranks, now " +
                  std::to_string(world) + "; resume with the same number of ranks, or delete it to restart");
    if (size_t(rank) < state.rng_states.size()) set_rng_state(state.rng_states[rank]);
    // Rank 0 carries the sums reduced at the checkpoint; the others start the epoch at zero.
    state.partial = rank == 0 ? conform(state.partial, layout) : EpochSums::zeros(layout);
  });
  if (resumed && rank == 0)
    spdlog::info("resuming from {} at epoch {} step {}", paths.checkpoint(), state.epoch + 1, state.step_in_epoch);

  int64_t num_params = 0;
  for (const auto& p : model->parameters()) num_params += p.numel();
  spdlog::info("run {}: method {} on {}, dataset {} ({} train samples, {} classes), {} parameters, {} rank(s) x {} thread(s)",
               cfg.run_id(), cfg.get_string("method.name"), cfg.get_string("model.backbone"),
               cfg.get_string("dataset.name"), train_set->size(), info.num_classes(), num_params, world, threads);

  // <run>/progress.json (rank 0): where the run is, for `sweep status` and the session ledger.
  ProgressInfo where_now;
  where_now.epochs = epochs;
  where_now.steps_per_epoch = steps_per_epoch;
  if (resumed) {
    where_now.checkpoint_epoch = state.epoch, where_now.checkpoint_step = state.step_in_epoch;
    where_now.checkpoint_time = double(std::time(nullptr));
  }
  auto note_progress = [&](double loss, double images_per_s, double eta_s) {
    if (rank != 0) return;
    where_now.time = double(std::time(nullptr));
    where_now.epoch = state.epoch, where_now.step = state.step_in_epoch;
    where_now.loss = loss, where_now.images_per_s = images_per_s, where_now.eta_s = eta_s;
    where_now.train_seconds = state.train_seconds;
    try {
      write_progress(paths, where_now);
    } catch (const std::exception& e) {
      spdlog::warn("cannot update {}: {}", progress_path(paths), e.what());  // a view, not a result: go on
    }
  };
  auto checkpoint = [&] {
    // Every rank joins the gathers; rank 0 writes, and every rank learns whether it could.
    state.rng_states = gather_rng_states(comm);
    TrainState to_save = state;
    to_save.partial = reduce_sums(state.partial, layout, comm);
    comm::run_agreed(comm, [&] {
      if (rank == 0) save_checkpoint(paths.checkpoint(), *model, *optimizer, to_save);
    });
    where_now.checkpoint_epoch = state.epoch, where_now.checkpoint_step = state.step_in_epoch;
    where_now.checkpoint_time = double(std::time(nullptr));
    note_progress(where_now.loss, where_now.images_per_s, where_now.eta_s);
  };
  // One collective per step carries both what a signal asked (stop) and what the loss did
  // (non-finite on any rank): every rank takes the same decision at the same step.
  const bool stop_on_nan = cfg.get_bool("train.stop_on_nan");
  auto step_decision = [&](bool nonfinite, bool stop = false) {
    std::array<int64_t, 2> flags = {stop || (options.stop_requested && options.stop_requested->load()) ? 1 : 0,
                                    stop_on_nan && nonfinite ? 1 : 0};
    if (world > 1) {
      auto t = torch::tensor({flags[0], flags[1]}, torch::kLong);
      comm.allreduce_sum(t);
      flags = {t[0].item<int64_t>(), t[1].item<int64_t>()};
    }
    if (flags[1] > 0)
      throw Error("loss is " + std::string(nonfinite ? "not finite" : "not finite on another rank") + " at epoch " +
                  std::to_string(state.epoch + 1) + " step " + std::to_string(state.step_in_epoch) +
                  " (train.stop_on_nan: true; lower train.lr or check the data)");
    return flags[0] > 0;
  };
  auto stop_now = [&] { return step_decision(false); };

  Progress progress(cfg.get_float("train.log_every"), epochs * steps_per_epoch);
  progress.start_session(state.global_step);
  const int64_t eval_every = cfg.get_int("train.eval_every");
  const auto eval_names = cfg.is_null("eval.splits") ? splits.eval_splits : cfg.get_string_list("eval.splits");
  for (const auto& name : eval_names)
    if (!splits.splits.count(name)) cfg.fail("eval.splits", "dataset has no split '" + name + "'");
  const std::string val_name = splits.splits.count("val") ? "val" : eval_names.front();
  const std::string select = cfg.get_string("eval.select");
  if (select != "last" && !splits.splits.count("val"))
    cfg.fail("eval.select", "'" + select + "' selects by the validation split, and the dataset has none");

  // A stop asked for during start-up (a signal while the data or the model was built): nothing
  // new to save, so stop before the first step; the job is requeued as usual.
  if (state.epoch < epochs && stop_now()) {
    spdlog::info("stop requested before the first step: nothing to save");
    return TrainOutcome::Stopped;
  }
  for (; state.epoch < epochs; ++state.epoch) {
    const auto epoch_start = Clock::now();
    const model::Progress where{state.epoch, epochs};
    model->train();
    // Micro-batches: those of the steps done (a resumed epoch) are skipped, the few that
    // make no complete step are dropped.
    auto all_batches = data::train_batches(train_set->size(), batch, seed, state.epoch, rank, world);
    all_batches.resize(size_t(steps_per_epoch * accum));
    data::BatchIndices batches(all_batches.begin() + state.step_in_epoch * accum, all_batches.end());
    data::BatchLoader loader(train_set, batches, mix_seed(mix_seed(seed, uint64_t(state.epoch)), uint64_t(rank)),
                             workers, prefetch, size_t(state.step_in_epoch * accum), pin);
    EpochSums& sums = state.partial;
    StepStats stats(layout);
    int64_t session_images = 0;  // all ranks, since this epoch (or resume) started
    auto phase_start = Clock::now();
    auto lap = [&](const char* phase) {  // seconds since the last lap go to `phase`
      auto now = Clock::now();
      sums.seconds[phase] += std::chrono::duration<double>(now - phase_start).count();
      phase_start = now;
    };
    while (state.step_in_epoch < steps_per_epoch) {
      const double lr = schedule.at(state.global_step);
      schedule.apply(*optimizer, state.global_step);
      const bool fault_now = fault.rank == rank && fault.step == state.global_step;
      if (fault_now && (fault.kind == "throw" || fault.kind == "kill" || fault.kind == "stall")) {
        spdlog::error("AIMRUN_FAULT: rank {} fails ({}) at step {}", rank, fault.kind, state.global_step);
        if (fault.kind == "kill") std::raise(SIGKILL);
        if (fault.kind == "stall")
          while (true) std::raise(SIGSTOP);  // stays stopped, whatever continues it
        throw Error("AIMRUN_FAULT: injected failure on rank " + std::to_string(rank));
      }
      // With several ranks the gradients are views into the buckets, which begin_step()
      // releases until the step's first gradient is copied in (libtorch's zero_grad() would
      // try to detach the views and fail). With one, gradients are released rather than zeroed.
      if (sync)
        sync->begin_step();
      else
        release_gradients(*optimizer);
      bool nonfinite = false;
      for (int64_t micro = 0; micro < accum; ++micro) {
        auto cpu_batch = loader.next();
        if (!cpu_batch) throw Error("internal: the loader ended before step " + std::to_string(state.step_in_epoch + 1));
        auto b = std::make_optional(cpu_batch->to(device, /*non_blocking=*/pin));
        if (channels_last) b->images = b->images.contiguous(at::MemoryFormat::ChannelsLast);
        lap("data");
        broadcast_buffers(*model, comm);
        model::ModelOutput out;
        model::LossTerms terms;
        {
          AutocastScope autocast(device, bf16);
          out = model->forward(b->images);
          terms = model->loss(out, b->labels, where);
        }
        lap("forward");
        // Gradients accumulate over the micro-batches (each loss / accum: the mean over the
        // global batch); only the last backward launches the allreduces.
        if (sync) sync->accumulate_only(micro + 1 < accum);
        if (accum > 1)
          (terms.total / double(accum)).backward();
        else
          terms.total.backward();
        lap("backward");
        stats.add(out, terms, b->labels);
        // On the CPU the loss is checked every step; on a GPU (where reading it would stall
        // the pipeline) it is checked at the progress lines and the end of the epoch.
        if (stop_on_nan && !device.is_cuda()) nonfinite = nonfinite || !std::isfinite(terms.total.item<double>());
        session_images += b->size() * world;
      }
      if (sync) sync->finish_step();
      lap("comm_wait");
      optimizer->step();
      lap("optimizer");
      if (fault_now && fault.kind == "nan") nonfinite = true;
      if (fault_now && fault.kind == "stop") spdlog::warn("AIMRUN_FAULT: rank {} asks for a stop at step {}", rank, state.global_step);

      state.step_in_epoch++;
      state.global_step++;

      if (rank == 0 && progress.due()) {
        stats.flush(sums);
        double elapsed = seconds_since(epoch_start);
        const double loss = sums.loss / double(std::max<int64_t>(1, sums.seen));
        const double images_per_s = double(session_images) / std::max(1e-9, elapsed);
        spdlog::info("epoch {}/{} step {}/{} loss {:.4f} acc {:.1f}% lr {:.4g} {:.0f} img/s ETA {}", state.epoch + 1,
                     epochs, state.step_in_epoch, steps_per_epoch, loss,
                     100.0 * double(sums.correct) / std::max<int64_t>(1, sums.seen), lr, images_per_s,
                     format_duration(progress.eta_seconds(state.global_step)));
        note_progress(loss, images_per_s, progress.eta_seconds(state.global_step));
        progress.mark();
      }
      if (step_decision(nonfinite, fault_now && fault.kind == "stop")) {
        stats.flush(sums);
        state.train_seconds += seconds_since(epoch_start);
        checkpoint();
        spdlog::info("stop requested: checkpoint written at epoch {} step {}", state.epoch + 1, state.step_in_epoch);
        return TrainOutcome::Stopped;
      }
    }
    // ---- end of epoch: reduce, record, evaluate, checkpoint
    // On a GPU the last steps may still be queued: count them in the step time.
    if (device.is_cuda()) {
      torch::cuda::synchronize();
      lap("optimizer");
    }
    stats.flush(sums);
    // After its last step each rank holds the BatchNorm statistics of its own batch: from
    // here (evaluation, checkpoint) every rank uses rank 0's, as a resumed run does.
    broadcast_buffers(*model, comm);
    EpochSums total = reduce_sums(sums, layout, comm);
    if (stop_on_nan && !std::isfinite(total.loss))  // the same on every rank
      throw Error("loss is not finite in epoch " + std::to_string(state.epoch + 1) + " (train.stop_on_nan: true)");
    const double epoch_s = seconds_since(epoch_start);
    state.train_seconds += epoch_s;
    auto& rec = state.record;
    rec.curves.epoch.push_back(state.epoch + 1);
    auto push = [&](const std::string& k, double v) { rec.curves.series[k].push_back(v); };
    const double seen = double(std::max<int64_t>(1, total.seen));
    push("train_loss", total.loss / seen);
    push("train_accuracy", double(total.correct) / seen);
    push("lr", schedule.at(state.global_step - 1));
    double step_seconds = 0;
    for (const auto& [k, v] : total.seconds) step_seconds += v;
    push("images_per_s", double(total.seen) / std::max(1e-9, step_seconds));
    push("epoch_seconds", epoch_s);
    for (const char* phase : {"data", "forward", "backward", "comm_wait", "optimizer"})
      push(std::string(phase) + "_seconds", total.seconds.count(phase) ? total.seconds.at(phase) : 0.0);
    for (const auto& [k, v] : total.parts) push("loss_" + k, v / seen);
    if (!total.area_sum.empty()) {
      auto targets = model->area_targets(where);
      auto& masks = rec.mask_curves;
      if (masks.empty()) {
        const auto stages = model->mask_stages();
        for (size_t s = 0; s < total.area_sum.size(); ++s) {
          results::MaskCurve m;
          m.stage = s < stages.size() ? stages[s] : int64_t(s);
          m.bins = bins;
          masks.push_back(m);
        }
      }
      for (size_t s = 0; s < total.area_sum.size(); ++s) {
        double mean = total.area_sum[s] / seen;
        double var = std::max(0.0, total.area_sumsq[s] / seen - mean * mean);
        masks[s].active_mean.push_back(mean);
        masks[s].active_std.push_back(std::sqrt(var));
        masks[s].target.push_back(s < targets.size() ? targets[s] : NAN);
        for (int64_t k = 0; k < bins; ++k) masks[s].histogram.push_back(double(total.area_hist[s][k]) / seen);
      }
    }
    std::string eval_text;
    if (eval_every > 0 && (state.epoch + 1) % eval_every == 0 && state.epoch + 1 < epochs) {
      auto t0 = Clock::now();
      auto r = evaluate_split(*model, splits.splits.at(val_name), comm, val_options);
      state.eval_seconds += seconds_since(t0);
      add_eval_point(rec.eval_curves[val_name], state.epoch + 1, r);
      consider_for_selection(select, state, *model, state.epoch + 1, r);
      eval_text = fmt::format(" | {} acc {:.1f}% worst-group {:.1f}%", val_name, 100 * r.accuracy,
                              100 * r.worst_group_accuracy);
    }
    if (rank == 0)
      spdlog::info("epoch {}/{} done in {}: loss {:.4f} acc {:.1f}% {:.0f} img/s{}", state.epoch + 1, epochs,
                   format_duration(epoch_s), total.loss / seen, 100.0 * double(total.correct) / seen,
                   rec.curves.series["images_per_s"].back(), eval_text);
    note_progress(total.loss / seen, rec.curves.series["images_per_s"].back(), progress.eta_seconds(state.global_step));
    state.partial = EpochSums::zeros(layout);
    state.step_in_epoch = 0;
    if ((state.epoch + 1) % cfg.get_int("train.checkpoint_every") == 0 || state.epoch + 1 == epochs) {
      ++state.epoch;  // the checkpoint records the epoch as completed
      checkpoint();
      --state.epoch;
    }
    if (state.epoch + 1 < epochs && stop_now()) {
      ++state.epoch;
      checkpoint();
      spdlog::info("stop requested: checkpoint written after epoch {}", state.epoch);
      return TrainOutcome::Stopped;
    }
  }

  // ---- final evaluation on every split, then the result file
  const double peak_train_mib = peak_resident_mib();
  auto& rec = state.record;
  rec.splits.clear();
  auto t0 = Clock::now();
  // eval.select: the last epoch's validation is one more candidate; then the best weights
  // (every rank holds the same) are the ones evaluated.
  if (select != "last") {
    auto r = evaluate_split(*model, splits.splits.at(val_name), comm, val_options);
    add_eval_point(rec.eval_curves[val_name], epochs, r);
    consider_for_selection(select, state, *model, epochs, r);
    if (state.best_epoch != epochs) apply_weights(*model, state.best_weights);
    if (rank == 0)
      spdlog::info("eval.select {}: evaluating the weights of epoch {} ({} {:.4f})", select, state.best_epoch, val_name,
                   state.best_score);
  }
  for (const auto& name : eval_names) {
    auto r = evaluate_split(*model, splits.splits.at(name), comm, final_options);
    if (name == val_name && eval_every > 0 && select == "last") add_eval_point(rec.eval_curves[val_name], epochs, r);
    rec.splits.push_back(std::move(r));
  }
  state.eval_seconds += seconds_since(t0);

  for (const auto& [name, ds] : splits.splits)
    if (!ds->info().skipped.empty()) rec.skipped_files[name] = ds->info().skipped;

  if (rank == 0 && cfg.get_int("eval.pictures") > 0) write_run_pictures(cfg, paths, *model, splits, rec, final_options);

  if (rank == 0) {
    describe_run(cfg, rec);
    rec.text["host"] = host_name();
    rec.text["hosts"] = options.hosts.empty() ? host_name() : options.hosts;
    rec.text["placement"] = options.placement.empty() ? host_name() + ":0/1" : options.placement;
    rec.text["backend"] = comm.backend();
    rec.text["finished"] = local_time_iso_now();
    rec.numbers["selected_epoch"] = double(select == "last" ? epochs : state.best_epoch);
    rec.numbers["seed"] = double(seed);
    rec.numbers["world_size"] = world;
    rec.numbers["global_batch"] = double(batch * world * accum);
    rec.numbers["threads_per_rank"] = threads;
    rec.numbers["parameters"] = double(num_params);
    rec.numbers["train_seconds"] = state.train_seconds;
    rec.numbers["eval_seconds"] = state.eval_seconds;
    rec.numbers["wall_seconds_last_session"] = seconds_since(wall_start);
    rec.numbers["peak_memory_train_mib"] = peak_train_mib;
    rec.numbers["peak_memory_mib"] = peak_resident_mib();
    for (const auto& e : read_ledger(paths))
      rec.sessions.push_back({e.event, e.time, e.hosts, e.slurm_job, e.by, e.cause, e.exit_code, e.epoch, e.step, e.lost_s});
    results::write_run_file(paths.result(), rec);
  }
  comm.barrier();
  return TrainOutcome::Completed;
}

}  // namespace aim
