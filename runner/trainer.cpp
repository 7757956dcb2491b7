#include "runner/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <ctime>
#include <limits>
#include <filesystem>

#include "aim/registry.h"
#include "core/error.h"
#include "core/file_lock.h"
#include "core/hash.h"
#include "core/stop_signal.h"
#include "core/strings.h"
#include "data/loader.h"
#include "data/registry.h"
#include "results/run_file.h"
#include "results/run_summary.h"
#include "runner/checkpoint.h"
#include "runner/comm/agree.h"
#include "runner/comm/gradient_sync.h"
#include "runner/device.h"
#include "runner/epoch_recorder.h"
#include "runner/epoch_stats.h"
#include "runner/eval_schedule.h"
#include "runner/fault_injection.h"
#include "runner/init_from_weights.h"
#include "runner/model_sync.h"
#include "runner/optim.h"
#include "runner/progress_clock.h"
#include "runner/run_metadata.h"
#include "runner/run_pictures.h"
#include "runner/rung_result.h"
#include "runner/schema.h"
#include "runner/session_ledger.h"
#include "runner/start_line.h"
#include "runner/train_settings.h"
#include "runner/train_step.h"

namespace aim {

namespace {

// One run's training session: built from the config (data, model, optimiser, gradient
// sync, the checkpoint to resume from), then epoch by epoch to the final evaluation. Every
// rank runs the same sequence of collectives; a failure in a part that may fail on one rank
// alone (building, loading, writing) reaches every rank through comm::run_agreed.
class Trainer {
 public:
  Trainer(const Config& cfg, const RunPaths& paths, comm::Communicator& comm, const TrainOptions& options)
      : cfg_(cfg),
        paths_(paths),
        comm_(comm),
        options_(options),
        t_(train_settings(cfg)),
        rank_(comm.rank()),
        world_(comm.world_size()) {}

  TrainOutcome run() {
    build();
    resume();
    log_start();
    // A stop asked for during start-up (a signal while the data or the model was built):
    // nothing new to save, so stop before the first step; the job is requeued as usual.
    if (state_.epoch < end_epoch_ && stop_now()) {
      spdlog::info("stop requested before the first step: nothing to save");
      return TrainOutcome::Stopped;
    }
    for (; state_.epoch < end_epoch_; ++state_.epoch)
      if (train_epoch() == TrainOutcome::Stopped) return TrainOutcome::Stopped;
    if (end_epoch_ < t_.epochs) {
      finish_rung();
      return TrainOutcome::Budget;
    }
    finish();
    return TrainOutcome::Completed;
  }

 private:
  void build();
  void resume();
  void log_start();
  TrainOutcome train_epoch();
  void end_epoch(EpochSums& sums, Clock::time_point epoch_start);
  void evaluate_val_if_due(std::string& eval_text);
  void finish();
  void finish_rung();
  void checkpoint();
  void note_progress(double loss, double images_per_s, double eta_s);
  bool step_decision(bool nonfinite, bool stop = false);
  void check_run_lock();
  bool stop_now() { return step_decision(false); }
  void consider(int64_t epoch, const results::SplitResult& r) {
    if (is_new_best(schedule_.select, state_, epoch, r)) state_.best_weights = copy_weights(*model_);
  }

  const Config& cfg_;
  const RunPaths& paths_;
  comm::Communicator& comm_;
  const TrainOptions& options_;
  const TrainSettings t_;
  const int rank_, world_;
  // The last epoch this session trains: train.epochs, or the budget (stop_after_epoch).
  const int64_t end_epoch_ = options_.stop_after_epoch > 0 ? std::min(options_.stop_after_epoch, t_.epochs) : t_.epochs;
  const Clock::time_point wall_start_ = Clock::now();
  int threads_ = 1;
  data::DatasetSplits splits_;
  std::shared_ptr<const data::Dataset> train_set_;
  c10::Device device_ = c10::Device(c10::kCPU);
  std::shared_ptr<model::Model> model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> lr_;
  std::unique_ptr<comm::GradientSync> sync_;
  int64_t steps_per_epoch_ = 0, num_params_ = 0;
  EvalSchedule schedule_;
  EpochLayout layout_;
  std::unique_ptr<EpochRecorder> recorder_;  // built with the layout
  TrainState state_;
  bool resumed_ = false;
  Fault fault_ = fault_from_environment();
  ProgressInfo where_now_;  // <run>/progress.json (rank 0)
  // AIMRUN_FAULT kind=nan_unseen: the epoch's loss sum turns NaN without any step having seen
  // it, as a NaN on a GPU is first seen at a progress line (runner/fault_injection.h).
  bool poison_sums_ = false;
  std::unique_ptr<ProgressClock> clock_;
};

void Trainer::build() {
  threads_ = run_threads(cfg_, comm_.local_size());
  torch::set_num_threads(threads_);
  // Each rank builds its data and model alone: any failure reaches every rank before the
  // first collective (runner/comm/agree.h).
  comm::run_agreed(comm_, [&] { splits_ = data::make_datasets(cfg_); });
  train_set_ = splits_.splits.at("train");
  device_ = select_device(cfg_, comm_.local_rank());
  torch::manual_seed(t_.seed);  // identical initialisation on every rank (and broadcast anyway)
  comm::run_agreed(comm_, [&] {
    model_ = model::make_model(cfg_, train_set_->info().num_classes());
    // model.init_from: the upstream's weights, unless this run resumes from its own checkpoint.
    // Which weights and which upstream result it started from travel in its checkpoint.
    if (!(options_.resume && std::filesystem::exists(paths_.checkpoint()))) {
      InitFromDigests started_from;
      const auto what = load_init_from(cfg_, *model_, &started_from);
      if (!what.empty() && rank_ == 0) spdlog::info("{}", what);
      state_.init_checkpoint_crc32 = started_from.checkpoint_crc32;
      state_.init_result_crc32 = started_from.result_crc32;
    }
    model_->to(device_);
  });
  if (t_.channels_last) to_channels_last(*model_);
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(t_.cudnn_benchmark);
  broadcast_model(*model_, comm_);
  optimizer_ = make_optimizer(t_.optim, *model_);
  // From here on each rank draws its own randomness (mask sampling, dropout).
  torch::manual_seed(mix_seed(t_.seed, uint64_t(rank_) + 1));
  // One optimiser step = accumulate_steps micro-batches of batch_size per rank: the
  // schedule counts optimiser steps.
  steps_per_epoch_ = train_set_->size() / t_.global_batch(world_);
  if (steps_per_epoch_ == 0)
    cfg_.fail("train.batch_size", "the global batch (" + std::to_string(t_.global_batch(world_)) +
                                      ") is larger than the training split (" + std::to_string(train_set_->size()) +
                                      " samples)");
  lr_ = std::make_unique<LrSchedule>(t_.optim, t_.epochs, steps_per_epoch_);
  if (world_ > 1)
    sync_ = std::make_unique<comm::GradientSync>(model_->parameters(), comm_, t_.bucket_mb, t_.first_bucket_mb,
                                                 t_.last_bucket_mb);
  schedule_ = eval_schedule(cfg_, splits_);
  for (const auto& p : model_->parameters()) num_params_ += p.numel();
}

void Trainer::resume() {
  // The epoch statistics have one layout on every rank, fixed before the first step.
  layout_ = epoch_layout(*model_, t_.mask_hist_bins);
  recorder_ = std::make_unique<EpochRecorder>(layout_);
  state_.run_id = cfg_.run_id();
  state_.world_size = world_;
  state_.class_names = train_set_->info().class_names;
  state_.partial = EpochSums::zeros(layout_);
  comm::run_agreed(comm_, [&] {
    if (!options_.resume || !load_checkpoint(paths_.checkpoint(), cfg_.run_id(), *model_, *optimizer_, state_, device_))
      return;
    resumed_ = true;
    if (state_.world_size != world_)
      throw Error(paths_.checkpoint() + ": written with " + std::to_string(state_.world_size) + " ranks, now " +
                  std::to_string(world_) + "; resume with the same number of ranks, or delete it to restart");
    if (size_t(rank_) < state_.rng_states.size()) set_rng_state(state_.rng_states[rank_]);
    // Rank 0 carries the sums reduced at the checkpoint; the others start the epoch at zero.
    state_.partial = rank_ == 0 ? conform(state_.partial, layout_) : EpochSums::zeros(layout_);
  });
  if (resumed_ && rank_ == 0)
    spdlog::info("resuming from {} at epoch {} step {}", paths_.checkpoint(), state_.epoch + 1, state_.step_in_epoch);
  where_now_.epochs = t_.epochs;
  where_now_.steps_per_epoch = steps_per_epoch_;
  if (resumed_) {
    where_now_.checkpoint_epoch = state_.epoch, where_now_.checkpoint_step = state_.step_in_epoch;
    where_now_.checkpoint_time = double(std::time(nullptr));
  }
  clock_ = std::make_unique<ProgressClock>(t_.log_every_s, t_.epochs * steps_per_epoch_);
  clock_->start_session(state_.global_step);
}

void Trainer::log_start() {
  const auto names = run_names(cfg_);
  RunStart start;
  start.run_id = cfg_.run_id();
  start.method = names.method, start.backbone = names.backbone, start.dataset = names.dataset;
  start.train_samples = int64_t(train_set_->size()), start.classes = int64_t(train_set_->info().num_classes());
  start.parameters = num_params_, start.ranks = world_, start.threads = threads_;
  for (const auto& line : start_lines(start)) spdlog::info("{}", line);
}

void Trainer::note_progress(double loss, double images_per_s, double eta_s) {
  if (rank_ != 0) return;
  where_now_.time = double(std::time(nullptr));
  where_now_.epoch = state_.epoch, where_now_.step = state_.step_in_epoch;
  where_now_.loss = loss, where_now_.images_per_s = images_per_s, where_now_.eta_s = eta_s;
  where_now_.train_seconds = state_.train_seconds;
  try {
    write_progress(paths_, where_now_);
  } catch (const std::exception& e) {
    spdlog::warn("cannot update {}: {}", progress_path(paths_), e.what());  // a view, not a result: go on
  }
}

void Trainer::checkpoint() {
  // Every rank joins the gathers; rank 0 writes, and every rank learns whether it could.
  state_.rng_states = gather_rng_states(comm_);
  TrainState to_save = state_;
  to_save.partial = reduce_sums(state_.partial, layout_, comm_);
  comm::run_agreed(comm_, [&] {
    if (rank_ != 0) return;
    check_run_lock();
    save_checkpoint(paths_.checkpoint(), *model_, *optimizer_, to_save);
  });
  where_now_.checkpoint_epoch = state_.epoch, where_now_.checkpoint_step = state_.step_in_epoch;
  where_now_.checkpoint_time = double(std::time(nullptr));
  note_progress(where_now_.loss, where_now_.images_per_s, where_now_.eta_s);
}

// Rank 0: the run lock, read from its file; throws comm::RunBusy when it was lost.
void Trainer::check_run_lock() {
  if (options_.lock && !options_.lock->still_held())
    throw comm::RunBusy(options_.lock->lost_message() + "; another process trains run " + cfg_.run_id() +
                        " now: left to it, nothing written");
}

// One collective per step carries what a signal asked (stop), what the loss did
// (non-finite on any rank) and whether rank 0 still holds the run lock: every rank takes
// the same decision at the same step.
bool Trainer::step_decision(bool nonfinite, bool stop) {
  const bool lock_lost = rank_ == 0 && options_.lock && !options_.lock->seems_held();
  std::array<int64_t, 3> flags = {stop || (options_.stop_requested && options_.stop_requested->load()) ? 1 : 0,
                                  t_.stop_on_nan && nonfinite ? 1 : 0, lock_lost ? 1 : 0};
  if (world_ > 1) {
    auto t = torch::tensor({flags[0], flags[1], flags[2]}, torch::kLong);
    comm_.allreduce_sum(t);
    flags = {t[0].item<int64_t>(), t[1].item<int64_t>(), t[2].item<int64_t>()};
  }
  if (flags[2] > 0) {
    if (rank_ == 0) check_run_lock();
    throw comm::RunBusy("rank 0 lost the run lock: another process trains run " + cfg_.run_id() + " now");
  }
  if (flags[1] > 0)
    throw Error("loss is " + std::string(nonfinite ? "not finite" : "not finite on another rank") + " at epoch " +
                std::to_string(state_.epoch + 1) + " step " + std::to_string(state_.step_in_epoch) +
                " (train.stop_on_nan: true; lower train.lr or check the data)");
  return flags[0] > 0;
}

TrainOutcome Trainer::train_epoch() {
  const auto epoch_start = Clock::now();
  const model::Progress where{state_.epoch, t_.epochs};
  const int64_t accum = t_.accumulate_steps;
  model_->train();
  // Micro-batches: those of the steps done (a resumed epoch) are skipped, the few that
  // make no complete step are dropped.
  auto all_batches = data::train_batches(train_set_->size(), t_.batch_size, t_.seed, state_.epoch, rank_, world_);
  all_batches.resize(size_t(steps_per_epoch_ * accum));
  data::BatchIndices batches(all_batches.begin() + state_.step_in_epoch * accum, all_batches.end());
  data::BatchLoader loader(train_set_, batches, mix_seed(mix_seed(t_.seed, uint64_t(state_.epoch)), uint64_t(rank_)),
                           t_.workers, t_.prefetch, size_t(state_.step_in_epoch * accum),
                           device_.is_cuda() && t_.pin_memory);
  EpochSums& sums = state_.partial;
  StepStats stats(layout_);
  int64_t session_images = 0;  // all ranks, since this epoch (or resume) started
  PhaseTimer timer(sums.seconds);
  const StepParts parts{*model_, *optimizer_, sync_.get(), comm_, device_, t_};
  while (state_.step_in_epoch < steps_per_epoch_) {
    const double lr = lr_->at(state_.global_step);
    lr_->apply(*optimizer_, state_.global_step);
    const bool fault_now = fault_.at(rank_, state_.global_step);
    fault_.fail_if_due(rank_, state_.global_step);
    auto step = train_step(parts, loader, stats, timer, where);
    aim::note_progress();  // a step ended (core/stop_signal.h: a stop's grace, the memory watch)
    session_images += step.images;
    if (fault_now && fault_.kind == "nan") step.nonfinite = true;
    if (fault_now && fault_.kind == "stop")
      spdlog::warn("AIMRUN_FAULT: rank {} asks for a stop at step {}", rank_, state_.global_step);
    state_.step_in_epoch++;
    state_.global_step++;
    if (fault_now && fault_.kind == "nan_unseen") poison_sums_ = true;
    if (rank_ == 0 && clock_->due()) {
      stats.flush(sums);
      if (poison_sums_) sums.loss = std::numeric_limits<double>::quiet_NaN();
      const double loss = sums.loss / double(std::max<int64_t>(1, sums.seen));
      // On a GPU a step does not read its loss (that would wait for the device every step):
      // a non-finite loss shows here first, and step_decision ends the run on every rank.
      if (!std::isfinite(loss)) step.nonfinite = true;
      const double images_per_s = double(session_images) / std::max(1e-9, seconds_since(epoch_start));
      const double eta = clock_->eta_seconds(state_.global_step);
      spdlog::info("epoch {}/{} step {}/{} loss {:.4f} acc {:.1f}% lr {:.4g} {:.0f} img/s ETA {}", state_.epoch + 1,
                   t_.epochs, state_.step_in_epoch, steps_per_epoch_, loss,
                   100.0 * double(sums.correct) / std::max<int64_t>(1, sums.seen), lr, images_per_s,
                   format_duration(eta));
      note_progress(loss, images_per_s, eta);
      clock_->mark();
    }
    if (step_decision(step.nonfinite, fault_now && fault_.kind == "stop")) {
      stats.flush(sums);
      state_.train_seconds += seconds_since(epoch_start);
      checkpoint();
      spdlog::info("stop requested: checkpoint written at epoch {} step {}", state_.epoch + 1, state_.step_in_epoch);
      return TrainOutcome::Stopped;
    }
  }
  // On a GPU the last steps may still be queued: count them in the step time.
  if (device_.is_cuda()) {
    torch::cuda::synchronize();
    timer.lap("optimizer");
  }
  stats.flush(sums);
  end_epoch(sums, epoch_start);
  if ((state_.epoch + 1) % t_.checkpoint_every == 0 || state_.epoch + 1 == t_.epochs ||
      state_.epoch + 1 == end_epoch_) {
    ++state_.epoch;  // the checkpoint records the epoch as completed
    checkpoint();
    --state_.epoch;
  }
  if (state_.epoch + 1 < end_epoch_ && stop_now()) {
    ++state_.epoch;
    checkpoint();
    spdlog::info("stop requested: checkpoint written after epoch {}", state_.epoch);
    return TrainOutcome::Stopped;
  }
  return TrainOutcome::Completed;
}

// The end of an epoch: reduce over ranks, record the curves, evaluate when due, report.
void Trainer::end_epoch(EpochSums& sums, Clock::time_point epoch_start) {
  // After its last step each rank holds the BatchNorm statistics of its own batch: from
  // here (evaluation, checkpoint) every rank uses rank 0's, as a resumed run does.
  broadcast_buffers(*model_, comm_);
  const EpochSums total = reduce_sums(sums, layout_, comm_);
  if (t_.stop_on_nan && !std::isfinite(total.loss))  // the same on every rank
    throw Error("loss is not finite in epoch " + std::to_string(state_.epoch + 1) + " (train.stop_on_nan: true)");
  const double epoch_s = seconds_since(epoch_start);
  state_.train_seconds += epoch_s;
  const model::Progress where{state_.epoch, t_.epochs};
  EpochFacts facts{state_.epoch + 1, lr_->at(state_.global_step - 1), epoch_s, {}, model_->mask_stages()};
  if (!total.area_sum.empty()) facts.area_targets = model_->area_targets(where);
  auto& rec = state_.record;
  recorder_->record(rec, total, facts);
  std::string eval_text;
  evaluate_val_if_due(eval_text);
  const double seen = double(std::max<int64_t>(1, total.seen));
  const double images_per_s = rec.curves.series["images_per_s"].back();
  if (rank_ == 0)
    spdlog::info("epoch {}/{} done in {}: loss {:.4f} acc {:.1f}% {:.0f} img/s{}", state_.epoch + 1, t_.epochs,
                 format_duration(epoch_s), total.loss / seen, 100.0 * double(total.correct) / seen, images_per_s,
                 eval_text);
  note_progress(total.loss / seen, images_per_s, clock_->eta_seconds(state_.global_step));
  state_.partial = EpochSums::zeros(layout_);
  state_.step_in_epoch = 0;
}

void Trainer::evaluate_val_if_due(std::string& eval_text) {
  const int64_t epoch = state_.epoch + 1;
  if (!schedule_.due_after(epoch)) return;
  const auto t0 = Clock::now();
  auto r = evaluate_split(*model_, splits_.splits.at(schedule_.val), comm_, schedule_.during);
  state_.eval_seconds += seconds_since(t0);
  add_eval_point(state_.record.eval_curves[schedule_.val], epoch, r);
  consider(epoch, r);
  eval_text = fmt::format(" | {} acc {:.1f}% worst-group {:.1f}%", schedule_.val, 100 * r.accuracy,
                          100 * r.worst_group_accuracy);
}

// What went non-finite in a run trained with train.stop_on_nan: false (or past its checks):
// the values of the evaluated weights (parameters and buffers) that are NaN or inf, and the
// epochs whose training loss was. Every report flags such a run (docs/hdf5-schema.md).
void record_nonfinite(const torch::nn::Module& model, results::RunRecord& rec) {
  int64_t values = 0;
  for (const auto& t : model.parameters()) values += (~torch::isfinite(t.detach())).sum().item<int64_t>();
  for (const auto& t : model.buffers())
    if (t.is_floating_point()) values += (~torch::isfinite(t.detach())).sum().item<int64_t>();
  int64_t epochs = 0;
  for (double loss : rec.curves.series["train_loss"]) epochs += std::isfinite(loss) ? 0 : 1;
  rec.numbers[results::kNonfiniteWeights] = double(values);
  rec.numbers[results::kNonfiniteLossEpochs] = double(epochs);
  if (values || epochs)
    spdlog::warn(
        "run {}: {} weight value(s) are NaN or inf and the training loss was not finite in {} epoch(s) "
        "(train.stop_on_nan: false): the result is written and flagged in every report",
        rec.run_id, values, epochs);
}

// The end of a session stopped at its budget (a rung): the checkpoint of this epoch is
// written (train_epoch), so what is evaluated here changes nothing a later session
// continues from; the validation split's metrics go into <run>/rung-<E>.yaml (rank 0).
void Trainer::finish_rung() {
  if (state_.epoch > end_epoch_)
    throw Error("the run's checkpoint is at epoch " + std::to_string(state_.epoch) + ", past its budget of " +
                std::to_string(end_epoch_) + " epochs (--stop-after-epoch): its weights of epoch " +
                std::to_string(end_epoch_) + " are gone");
  const auto t0 = Clock::now();
  const auto r = evaluate_split(*model_, splits_.splits.at(schedule_.val), comm_, schedule_.during);
  const double eval_s = seconds_since(t0);
  comm::run_agreed(comm_, [&] {
    if (rank_ != 0) return;
    check_run_lock();
    RungResult rung;
    rung.run_id = cfg_.run_id(), rung.epoch = end_epoch_, rung.epochs = t_.epochs, rung.split = schedule_.val;
    rung.metrics["val acc"] = r.accuracy;
    if (!r.group_names.empty()) rung.metrics["val worst-group"] = r.worst_group_accuracy;
    rung.seconds = (state_.train_seconds + state_.eval_seconds + eval_s) * world_;
    write_rung_result(paths_, rung);
    spdlog::info("budget of {} epochs (of {}) reached: {} acc {:.1f}% worst-group {:.1f}%, in {}", end_epoch_,
                 t_.epochs, schedule_.val, 100 * r.accuracy, 100 * r.worst_group_accuracy,
                 rung_result_path(paths_, end_epoch_));
  });
}

// The final evaluation on every split, the pictures, then the result file (rank 0).
void Trainer::finish() {
  const double peak_train_mib = peak_resident_mib();
  auto& rec = state_.record;
  rec.splits.clear();
  const auto t0 = Clock::now();
  const auto& val = schedule_.val;
  // eval.select: the last epoch's validation is one more candidate; then the best weights
  // (every rank holds the same) are the ones evaluated.
  if (schedule_.select != "last") {
    auto r = evaluate_split(*model_, splits_.splits.at(val), comm_, schedule_.during);
    add_eval_point(rec.eval_curves[val], t_.epochs, r);
    consider(t_.epochs, r);
    if (state_.best_epoch != t_.epochs) apply_weights(*model_, state_.best_weights);
    if (rank_ == 0)
      spdlog::info("eval.select {}: evaluating the weights of epoch {} ({} {:.4f})", schedule_.select,
                   state_.best_epoch, val, state_.best_score);
  }
  for (const auto& name : schedule_.splits) {
    auto r = evaluate_split(*model_, splits_.splits.at(name), comm_, schedule_.final);
    if (name == val && schedule_.final_val_is_curve_point()) add_eval_point(rec.eval_curves[val], t_.epochs, r);
    rec.splits.push_back(std::move(r));
  }
  state_.eval_seconds += seconds_since(t0);
  for (const auto& [name, ds] : splits_.splits)
    if (!ds->info().skipped.empty()) rec.skipped_files[name] = ds->info().skipped;
  comm::run_agreed(comm_, [&] {  // nothing is written by a process that lost the run
    if (rank_ == 0) check_run_lock();
  });
  if (rank_ == 0 && t_.pictures > 0)
    write_run_pictures(paths_, *model_, splits_, rec, schedule_.final, size_t(t_.pictures));
  if (rank_ == 0) {
    describe_run(cfg_, rec);
    if (!state_.init_checkpoint_crc32.empty()) {
      rec.text["init_from_checkpoint_crc32"] = state_.init_checkpoint_crc32;
      rec.text["init_from_result_crc32"] = state_.init_result_crc32;
    }
    TrainingFacts f;
    f.hosts = options_.hosts, f.placement = options_.placement, f.backend = comm_.backend();
    f.selected_epoch = schedule_.select == "last" ? t_.epochs : state_.best_epoch;
    f.seed = t_.seed, f.world_size = world_, f.global_batch = t_.global_batch(world_);
    f.threads_per_rank = threads_, f.parameters = num_params_;
    f.train_seconds = state_.train_seconds, f.eval_seconds = state_.eval_seconds;
    f.wall_seconds_last_session = seconds_since(wall_start_);
    f.peak_memory_train_mib = peak_train_mib;
    describe_training(f, paths_, rec);
    record_nonfinite(*model_, rec);
    // The checkpoint the run ended with, bound to its result: an upstream's or a predicted
    // run's checkpoint.pt is checked against it (docs/hdf5-schema.md, checkpoint_crc32).
    if (std::filesystem::exists(paths_.checkpoint()))
      rec.text[kCheckpointCrc32] = hex32(checkpoint_crc32(paths_.checkpoint()));
    // An earlier summary goes first: whole but bound to another result.h5, it would mark the
    // new one damaged should this process die before the new summary is written.
    std::error_code ec;
    std::filesystem::remove(paths_.summary(), ec);
    results::write_run_file(paths_.result(), rec);
    results::write_run_summary(paths_, rec);  // after result.h5: it is bound to its bytes
  }
  comm_.barrier();
}

}  // namespace

TrainOutcome train_run(const Config& cfg, const RunPaths& paths, comm::Communicator& comm,
                       const TrainOptions& options) {
  return Trainer(cfg, paths, comm, options).run();
}

}  // namespace aim
