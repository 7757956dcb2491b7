#include "runner/evaluate.h"

#include <torch/torch.h>

#include <cmath>

#include "data/loader.h"

namespace aim {

namespace {
template <class T>
std::vector<T> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
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

results::SplitResult evaluate_split(model::Model& model, std::shared_ptr<const data::Dataset> dataset,
                                    comm::Communicator& comm, const EvalOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto& info = dataset->info();
  const int64_t n = dataset->size();

  // Per-sample arrays over the whole split; each rank fills only its own samples.
  auto labels = torch::zeros({n}, torch::kLong), preds = torch::zeros({n}, torch::kLong);
  auto groups = torch::zeros({n}, torch::kLong);
  auto losses = torch::zeros({n}, torch::kDouble);
  // Mask areas: the merged mask's, then each stage's (known up front, so that every rank
  // joins the same collectives even if it saw no batch).
  std::vector<std::string> area_names;
  if (model.has_masks()) {
    area_names.push_back("mask_area");
    for (int s : model.mask_stages()) area_names.push_back("mask_area_stage_" + std::to_string(s));
  }
  std::vector<torch::Tensor> areas;
  for (size_t k = 0; k < area_names.size(); ++k) areas.push_back(torch::zeros({n}, torch::kFloat));

  data::BatchLoader loader(dataset, data::eval_batches(n, options.batch_size, comm.rank(), comm.world_size()),
                           std::nullopt, options.workers, options.prefetch);
  while (auto batch = loader.next()) {
    auto out = model.forward(batch->images);
    auto idx = batch->indices;
    labels.index_put_({idx}, batch->labels);
    groups.index_put_({idx}, batch->groups);
    preds.index_put_({idx}, out.logits.argmax(1));
    auto ce = torch::nn::functional::cross_entropy(
        out.logits, batch->labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    losses.index_put_({idx}, ce.to(torch::kDouble));
    if (!areas.empty()) {
      areas[0].index_put_({idx}, out.merged_mask.mean({1, 2, 3}).to(torch::kFloat));
      for (size_t k = 0; k < out.masks.size(); ++k)
        areas[k + 1].index_put_({idx}, out.masks[k].mean({1, 2, 3}).to(torch::kFloat));
    }
  }
  for (auto* t : {&labels, &preds, &groups, &losses}) comm.allreduce_sum(*t);
  for (auto& a : areas) comm.allreduce_sum(a);

  results::SplitResult r;
  r.split = info.split;
  r.label = to_vector<int64_t>(labels);
  r.pred = to_vector<int64_t>(preds);
  r.group = to_vector<int64_t>(groups);
  r.group_names = info.group_names;
  fill_group_metrics(r, info.num_groups());
  if (info.group_names.empty()) {
    r.group_correct.clear();
    r.group_count.clear();
  }
  r.loss = n ? losses.sum().item<double>() / double(n) : NAN;
  for (size_t k = 0; k < areas.size(); ++k) {
    r.per_sample[area_names[k]] = to_vector<float>(areas[k]);
    r.scalars[area_names[k]] = areas[k].to(torch::kDouble).mean().item<double>();
  }
  model.train(was_training);
  return r;
}

}  // namespace aim
