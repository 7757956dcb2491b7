#pragma once
// One optimiser step of data-parallel training: train.accumulate_steps micro-batches, each
// forward (under autocast with bf16) and backward, the gradient allreduce that the last
// backward launches and the wait for it, then the optimiser. Seconds per phase go to the
// epoch's sums (data, forward, backward, comm_wait, optimizer).
#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <string>

#include "aim/model.h"
#include "runner/comm/communicator.h"
#include "runner/epoch_stats.h"
#include "runner/progress_clock.h"
#include "runner/train_settings.h"

namespace torch::optim {
class Optimizer;
}
namespace aim::comm {
class GradientSync;
}
namespace aim::data {
class BatchLoader;
}

namespace aim {

// Seconds since the last lap, added to a phase.
class PhaseTimer {
 public:
  explicit PhaseTimer(std::map<std::string, double>& seconds) : seconds_(seconds), start_(Clock::now()) {}
  void lap(const char* phase) {
    const auto now = Clock::now();
    seconds_[phase] += std::chrono::duration<double>(now - start_).count();
    start_ = now;
  }

 private:
  std::map<std::string, double>& seconds_;
  Clock::time_point start_;
};

struct StepParts {
  model::Model& model;
  torch::optim::Optimizer& optimizer;
  comm::GradientSync* sync;  // null with one rank
  comm::Communicator& comm;
  c10::Device device;
  const TrainSettings& settings;
};

struct StepResult {
  bool nonfinite = false;  // the loss was not finite on this rank (checked on the CPU only)
  int64_t images = 0;      // of all ranks
};

// The step's micro-batches come from `loader`; their statistics go to `stats`.
StepResult train_step(const StepParts& parts, data::BatchLoader& loader, StepStats& stats, PhaseTimer& timer,
                      const model::Progress& where);

}  // namespace aim
