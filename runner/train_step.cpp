#include "runner/train_step.h"

#include <torch/torch.h>

#include <cmath>
#include <optional>

#include "core/error.h"
#include "data/loader.h"
#include "runner/comm/gradient_sync.h"
#include "runner/device.h"
#include "runner/model_sync.h"
#include "runner/optim.h"

namespace aim {

StepResult train_step(const StepParts& p, data::BatchLoader& loader, StepStats& stats, PhaseTimer& timer,
                      const model::Progress& where) {
  const auto& t = p.settings;
  const bool pin = p.device.is_cuda() && t.pin_memory;
  const int64_t accum = t.accumulate_steps;
  // With several ranks the gradients are views into the buckets, which begin_step()
  // releases until the step's first gradient is copied in (libtorch's zero_grad() would
  // try to detach the views and fail). With one, gradients are released rather than zeroed.
  if (p.sync)
    p.sync->begin_step();
  else
    release_gradients(p.optimizer);
  StepResult result;
  for (int64_t micro = 0; micro < accum; ++micro) {
    auto cpu_batch = loader.next();
    if (!cpu_batch)
      throw Error("internal: the loader ended before the step's micro-batch " + std::to_string(micro + 1));
    auto b = std::make_optional(cpu_batch->to(p.device, /*non_blocking=*/pin));
    if (t.channels_last) b->images = b->images.contiguous(at::MemoryFormat::ChannelsLast);
    timer.lap("data");
    broadcast_buffers(p.model, p.comm);
    model::ModelOutput out;
    model::LossTerms terms;
    {
      AutocastScope autocast(p.device, t.bf16);
      out = p.model.forward(b->images);
      terms = p.model.loss(out, b->labels, where);
    }
    timer.lap("forward");
    // Gradients accumulate over the micro-batches (each loss / accum: the mean over the
    // global batch); only the last backward launches the allreduces.
    if (p.sync) p.sync->accumulate_only(micro + 1 < accum);
    if (accum > 1)
      (terms.total / double(accum)).backward();
    else
      terms.total.backward();
    timer.lap("backward");
    stats.add(out, terms, b->labels);
    // On the CPU the loss is checked every step; on a GPU (where reading it would stall
    // the pipeline) it is checked at the progress lines (Trainer::train_epoch) and the end
    // of the epoch.
    if (t.stop_on_nan && !p.device.is_cuda())
      result.nonfinite = result.nonfinite || !std::isfinite(terms.total.item<double>());
    result.images += b->size() * p.comm.world_size();
  }
  if (p.sync) p.sync->finish_step();
  timer.lap("comm_wait");
  p.optimizer.step();
  timer.lap("optimizer");
  return result;
}

}  // namespace aim
