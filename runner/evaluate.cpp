#include "runner/evaluate.h"

#include <torch/torch.h>

#include <cmath>

#include "aim/attribution.h"
#include "aim/metrics.h"
#include "core/stop_signal.h"
#include "data/loader.h"
#include "runner/device.h"

namespace aim {

namespace {

template <class T>
std::vector<T> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// Each map scaled to max |value| = 1 and rounded to float16: the EPG computed from it is
// exactly the one anyone recomputes from the maps stored in the result file.
torch::Tensor normalise_map(const torch::Tensor& map) {
  auto m = map.detach().to(torch::kFloat);
  auto peak = m.abs().flatten(1).amax(1).clamp_min(1e-30).view({-1, 1, 1});
  return (m / peak).to(torch::kHalf).to(torch::kFloat);
}

// Per-sample arrays of a whole split, filled by the rank that evaluates each sample.
struct SampleArrays {
  std::vector<std::string> names;
  std::vector<torch::Tensor> values;
  torch::Tensor& add(const std::string& name, int64_t n) {
    names.push_back(name);
    values.push_back(torch::zeros({n}, torch::kFloat));
    return values.back();
  }
  torch::Tensor& at(const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return values[i];
    throw std::logic_error("no per-sample array " + name);
  }
};

// The first samples of `kept` that fit in `budget` bytes (images, ground truth and maps as
// stored): at 224x224 a sample takes about 300 KB, at 64x64 about 25 KB.
results::KeptMaps within_budget(results::KeptMaps kept, int64_t budget) {
  const int64_t k = int64_t(kept.index.size());
  if (k == 0) return kept;
  int64_t per_sample = int64_t(kept.images.size() + kept.regions.size()) / k;
  for (const auto& [name, m] : kept.maps) per_sample += int64_t(m.half.size()) * 2 / k;
  const int64_t fit = std::min<int64_t>(k, budget / std::max<int64_t>(1, per_sample));
  if (fit == k) return kept;
  const size_t pixels = size_t(kept.height * kept.width);
  kept.index.resize(size_t(fit));
  kept.images.resize(size_t(fit) * 3 * pixels);
  if (!kept.regions.empty()) kept.regions.resize(size_t(fit) * pixels);
  for (auto& [name, m] : kept.maps) m.half.resize(size_t(fit * m.h * m.w));
  return kept;
}

results::KeptMaps keep_maps(model::Model& model, const data::Dataset& ds, const EvalOptions& o,
                            const std::vector<std::unique_ptr<model::Attribution>>& attributions, bool need_grad) {
  results::KeptMaps kept;
  const int64_t k = std::min<int64_t>(o.keep_maps, ds.size());
  if (k <= 0) return kept;
  const auto& info = ds.info();
  for (int64_t i = 0; i < k; ++i) kept.index.push_back(i);
  auto batch = ds.get_batch(kept.index, std::nullopt).to(device_of(model));
  auto e = model::explain_batch(model, batch.images, o.explain_true_class ? batch.labels : torch::Tensor(), need_grad);
  kept.height = batch.images.size(2);
  kept.width = batch.images.size(3);
  auto mean = torch::tensor(info.mean).view({1, 3, 1, 1}), std = torch::tensor(info.std).view({1, 3, 1, 1});
  auto rgb = (batch.images.cpu() * std + mean).mul(255.0).round().clamp(0, 255).to(torch::kUInt8);
  kept.images = to_vector<uint8_t>(rgb);
  if (batch.regions.defined()) kept.regions = to_vector<uint8_t>(batch.regions.ne(0).to(torch::kUInt8).cpu());
  for (const auto& a : attributions) {
    auto map = normalise_map(a->explain(e)).to(torch::kHalf).cpu().contiguous();
    results::KeptMaps::Map m;
    m.h = map.size(1);
    m.w = map.size(2);
    const auto* bits = reinterpret_cast<const uint16_t*>(map.data_ptr<at::Half>());
    m.half.assign(bits, bits + map.numel());
    kept.maps[a->name()] = std::move(m);
  }
  return within_budget(std::move(kept), o.keep_maps_bytes);
}

}  // namespace

void fill_group_metrics(results::SplitResult& r, int64_t num_groups) {
  r.n = int64_t(r.label.size());
  r.correct = 0;
  for (size_t i = 0; i < r.label.size(); ++i) r.correct += r.label[i] == r.pred[i];
  r.accuracy = r.n ? double(r.correct) / double(r.n) : NAN;
  r.group_correct.assign(num_groups, 0);
  r.group_count.assign(num_groups, 0);
  for (size_t i = 0; i < r.label.size(); ++i) {
    int64_t g = r.group[i];
    if (g < 0 || g >= num_groups) continue;
    r.group_count[g]++;
    r.group_correct[g] += r.label[i] == r.pred[i];
  }
  r.worst_group_accuracy = NAN;
  for (int64_t g = 0; g < num_groups; ++g) {
    if (!r.group_count[g]) continue;  // an empty group has no accuracy, it is not 0
    double acc = double(r.group_correct[g]) / double(r.group_count[g]);
    if (std::isnan(r.worst_group_accuracy) || acc < r.worst_group_accuracy) r.worst_group_accuracy = acc;
  }
}

void fill_group_epg(results::SplitResult& r, int64_t num_groups) {
  for (const auto& [name, values] : r.per_sample) {
    if (name.rfind("epg_", 0) != 0) continue;
    std::vector<double> sum(size_t(num_groups), 0.0);
    std::vector<int64_t> count(size_t(num_groups), 0);
    for (size_t i = 0; i < values.size() && i < r.group.size(); ++i) {
      const int64_t g = r.group[i];
      if (g < 0 || g >= num_groups || std::isnan(values[i])) continue;
      sum[size_t(g)] += double(values[i]);
      count[size_t(g)]++;
    }
    auto& means = r.group_means[name];
    means.assign(size_t(num_groups), NAN);
    double worst = NAN;
    for (size_t g = 0; g < means.size(); ++g) {
      if (!count[g]) continue;  // no annotated sample: no EPG, not 0
      means[g] = sum[g] / double(count[g]);
      if (std::isnan(worst) || means[g] < worst) worst = means[g];
    }
    r.scalars["worst_group_" + name] = worst;
  }
}

at::Tensor mask_agreement(model::Model& model, const at::Tensor& images, const at::Tensor& merged) {
  torch::NoGradGuard no_grad;
  auto flipped = model.forward(images.flip({3})).merged_mask.flip({3});
  auto iou_flip = model::mask_iou(flipped, merged);
  // Shift by one cell of the finest mask (its stride in pixels), compare where both see the
  // same content (the column that wrapped around is left out).
  const int64_t w = merged.size(3), stride = std::max<int64_t>(1, images.size(3) / w);
  auto shifted = model.forward(images.roll({stride}, {3})).merged_mask.roll({-1}, {3});
  auto iou_shift = model::mask_iou(shifted.narrow(3, 0, w - 1), merged.narrow(3, 0, w - 1));
  return (iou_flip + iou_shift) / 2;
}

namespace {

// The per-sample arrays of one split, in 64 bits where a sum must be exact (labels,
// predictions, groups, the loss) and float32 for the per-sample metrics.
struct SplitArrays {
  torch::Tensor labels, preds, groups, losses;
  SampleArrays metrics;
};

SplitArrays split_arrays(const model::Model& model,
                         const std::vector<std::unique_ptr<model::Attribution>>& attributions, int64_t n,
                         const EvalOptions& options) {
  SplitArrays a{torch::zeros({n}, torch::kLong),
                torch::zeros({n}, torch::kLong),
                torch::zeros({n}, torch::kLong),
                torch::zeros({n}, torch::kDouble),
                {}};
  a.metrics.add("confidence", n);  // softmax probability of the prediction
  for (const auto& at : attributions) a.metrics.add("epg_" + at->name(), n);
  if (model.has_masks()) {
    a.metrics.add("mask_area", n);
    for (int s : model.mask_stages()) a.metrics.add("mask_area_stage_" + std::to_string(s), n);
    if (options.mask_confidence) {
      a.metrics.add(results::kMaskMargin, n);
      a.metrics.add(results::kMaskAgreement, n);
      a.metrics.add(results::kMaskConfidence, n);
    }
  }
  return a;
}

// One batch's samples written into the split's arrays (at their indices).
void evaluate_batch(model::Model& model, const data::Batch& cpu_batch, SplitArrays& a,
                    const std::vector<std::unique_ptr<model::Attribution>>& attributions, bool need_grad,
                    const EvalOptions& options) {
  auto batch = std::make_optional(cpu_batch.to(device_of(model)));
  auto targets = options.explain_true_class ? batch->labels : torch::Tensor();
  auto e = model::explain_batch(model, batch->images, targets, need_grad);
  torch::NoGradGuard no_grad;
  auto logits = e.out.logits.detach();
  auto idx = batch->indices;  // on the CPU, like the per-sample arrays
  auto put = [&](torch::Tensor& dst, const torch::Tensor& v) { dst.index_put_({idx}, v.to(dst.dtype()).cpu()); };
  put(a.labels, cpu_batch.labels);
  put(a.groups, cpu_batch.groups);
  put(a.preds, logits.argmax(1));
  auto ce = torch::nn::functional::cross_entropy(
      logits, batch->labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  put(a.losses, ce);
  put(a.metrics.at("confidence"), torch::softmax(logits, 1).amax(1));
  // A sample without ground truth (an ImageNet image without a box file, a bird missing
  // from the CUB copy) has no EPG: NaN, left out of the split's mean, rather than a 0
  // that would pull the mean down.
  const auto annotated = batch->regions.ne(0).flatten(1).any(1);
  for (const auto& at : attributions) {
    auto epg = model::energy_pointing_game(normalise_map(at->explain(e)), batch->regions);
    put(a.metrics.at("epg_" + at->name()), torch::where(annotated, epg, torch::full_like(epg, NAN)));
  }
  if (!model.has_masks()) return;
  const auto& out = e.out;
  put(a.metrics.at("mask_area"), out.merged_mask.mean({1, 2, 3}));
  for (size_t k = 0; k < out.masks.size(); ++k)
    put(a.metrics.at("mask_area_stage_" + std::to_string(out.mask_stages[k])), out.masks[k].mean({1, 2, 3}));
  if (!options.mask_confidence) return;
  auto margin = model::mask_margin(out.mask_logits);
  auto agreement = mask_agreement(model, batch->images, out.merged_mask.detach());
  put(a.metrics.at(results::kMaskMargin), margin);
  put(a.metrics.at(results::kMaskAgreement), agreement);
  put(a.metrics.at(results::kMaskConfidence), margin * agreement);
}

// The split's result from its complete (summed over ranks) arrays: every metric computed
// once, in 64 bits.
results::SplitResult split_result(const data::SplitInfo& info, const SplitArrays& a, int64_t n) {
  results::SplitResult r;
  r.split = info.split;
  r.label = to_vector<int64_t>(a.labels);
  r.pred = to_vector<int64_t>(a.preds);
  r.group = to_vector<int64_t>(a.groups);
  r.group_names = info.group_names;
  fill_group_metrics(r, info.num_groups());
  if (info.group_names.empty()) {
    r.group_correct.clear();
    r.group_count.clear();
  }
  r.loss = n ? a.losses.sum().item<double>() / double(n) : NAN;
  const auto& m = a.metrics;
  for (size_t k = 0; k < m.names.size(); ++k) {
    r.per_sample[m.names[k]] = to_vector<float>(m.values[k]);
    if (m.names[k] == "confidence") continue;
    // Summed in float64, divided once, over the samples that have a value (EPG: those with
    // ground truth).
    auto v = m.values[k].to(torch::kDouble);
    auto valid = v.isnan().logical_not();
    const int64_t count = valid.sum().item<int64_t>();
    r.scalars[m.names[k]] =
        count ? torch::where(valid, v, torch::zeros_like(v)).sum().item<double>() / double(count) : NAN;
  }
  if (!info.group_names.empty()) fill_group_epg(r, info.num_groups());
  return r;
}

}  // namespace

results::SplitResult evaluate_split(model::Model& model, std::shared_ptr<const data::Dataset> dataset,
                                    comm::Communicator& comm, const EvalOptions& options) {
  const bool was_training = model.is_training();
  model.eval();
  const auto& info = dataset->info();
  const int64_t n = dataset->size();
  const bool has_regions = !info.region_kind.empty();
  auto attributions = model::make_attributions(has_regions ? options.attributions : std::vector<std::string>{}, model);
  bool need_grad = false;
  for (const auto& a : attributions) need_grad = need_grad || a->needs_gradients();
  SplitArrays arrays = split_arrays(model, attributions, n, options);
  data::BatchLoader loader(dataset, data::eval_batches(n, options.batch_size, comm.rank(), comm.world_size()),
                           std::nullopt, options.workers, options.prefetch);
  while (auto cpu_batch = loader.next()) {
    evaluate_batch(model, *cpu_batch, arrays, attributions, need_grad, options);
    note_progress();  // a batch ended (core/stop_signal.h: a stop's grace, the memory watch)
  }
  for (auto* t : {&arrays.labels, &arrays.preds, &arrays.groups, &arrays.losses}) comm.allreduce_sum(*t);
  for (auto& a : arrays.metrics.values) comm.allreduce_sum(a);
  auto r = split_result(info, arrays, n);
  if (comm.rank() == 0) r.kept = keep_maps(model, *dataset, options, attributions, need_grad);
  model.train(was_training);
  return r;
}

}  // namespace aim
