#include "runner/epoch_stats.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace aim {

const std::vector<std::string>& EpochLayout::phases() {
  static const std::vector<std::string> names = {"data", "forward", "backward", "comm_wait", "optimizer"};
  return names;
}

EpochSums EpochSums::zeros(const EpochLayout& layout) {
  EpochSums s;
  for (const auto& p : layout.loss_parts) s.parts[p] = 0;
  for (const auto& p : EpochLayout::phases()) s.seconds[p] = 0;
  s.area_sum.assign(layout.mask_stages, 0);
  s.area_sumsq.assign(layout.mask_stages, 0);
  s.area_hist.assign(layout.mask_stages, std::vector<int64_t>(size_t(layout.bins), 0));
  return s;
}

bool EpochSums::matches(const EpochLayout& layout) const {
  auto z = zeros(layout);
  auto same_keys = [](const auto& a, const auto& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](auto& x, auto& y) { return x.first == y.first; });
  };
  if (!same_keys(parts, z.parts) || !same_keys(seconds, z.seconds)) return false;
  if (area_sum.size() != layout.mask_stages || area_sumsq.size() != layout.mask_stages) return false;
  if (area_hist.size() != layout.mask_stages) return false;
  for (const auto& h : area_hist)
    if (h.size() != size_t(layout.bins)) return false;
  return true;
}

EpochLayout epoch_layout(const model::Model& model, int64_t bins) {
  EpochLayout l;
  l.loss_parts = model.loss_parts();
  std::sort(l.loss_parts.begin(), l.loss_parts.end());
  l.mask_stages = model.mask_stages().size();
  l.bins = bins;
  return l;
}

EpochSums conform(const EpochSums& sums, const EpochLayout& layout) {
  EpochSums out = EpochSums::zeros(layout);
  out.loss = sums.loss;
  out.correct = sums.correct;
  out.seen = sums.seen;
  auto copy_map = [](const auto& from, auto& to, const char* what) {
    for (const auto& [k, v] : from) {
      if (!to.count(k)) throw Error(std::string("epoch statistics: unknown ") + what + " '" + k + "'");
      to[k] = v;
    }
  };
  copy_map(sums.parts, out.parts, "loss part");
  copy_map(sums.seconds, out.seconds, "step phase");
  if (!sums.area_sum.empty()) {
    if (sums.area_sum.size() != layout.mask_stages || sums.area_sumsq.size() != layout.mask_stages ||
        sums.area_hist.size() != layout.mask_stages)
      throw Error("epoch statistics: " + std::to_string(sums.area_sum.size()) + " masked stages, the method has " +
                  std::to_string(layout.mask_stages));
    out.area_sum = sums.area_sum;
    out.area_sumsq = sums.area_sumsq;
    for (size_t s = 0; s < layout.mask_stages; ++s) {
      if (sums.area_hist[s].size() != size_t(layout.bins))
        throw Error("epoch statistics: mask histogram of " + std::to_string(sums.area_hist[s].size()) + " bins, expected " +
                    std::to_string(layout.bins));
      out.area_hist[s] = sums.area_hist[s];
    }
  }
  return out;
}

EpochSums reduce_sums(const EpochSums& s, const EpochLayout& layout, comm::Communicator& comm) {
  if (!s.matches(layout)) throw Error("epoch statistics do not match their layout (a bug): refusing to reduce them");
  if (comm.world_size() == 1) return s;
  EpochSums out = s;
  std::vector<double> d = {s.loss};
  for (const auto& [k, v] : s.parts) d.push_back(v);
  for (const auto& [k, v] : s.seconds) d.push_back(v);
  d.insert(d.end(), s.area_sum.begin(), s.area_sum.end());
  d.insert(d.end(), s.area_sumsq.begin(), s.area_sumsq.end());
  std::vector<int64_t> i = {s.correct, s.seen};
  for (const auto& h : s.area_hist) i.insert(i.end(), h.begin(), h.end());
  auto dt = torch::tensor(d, torch::kDouble), it = torch::tensor(i, torch::kLong);
  comm.allreduce_sum(dt);
  comm.allreduce_sum(it);
  auto dp = dt.data_ptr<double>();
  auto ip = it.data_ptr<int64_t>();
  size_t k = 0;
  out.loss = dp[k++];
  for (auto& [name, v] : out.parts) v = dp[k++];
  for (auto& [name, v] : out.seconds) v = dp[k++] / comm.world_size();  // time is per rank: the mean
  for (auto& v : out.area_sum) v = dp[k++];
  for (auto& v : out.area_sumsq) v = dp[k++];
  k = 0;
  out.correct = ip[k++];
  out.seen = ip[k++];
  for (auto& h : out.area_hist)
    for (auto& v : h) v = ip[k++];
  return out;
}

void StepStats::add(const model::ModelOutput& out, const model::LossTerms& terms, const at::Tensor& labels) {
  torch::NoGradGuard no_grad;
  const double n = double(labels.size(0));
  auto acc = [](at::Tensor& sum, const at::Tensor& v) { sum = sum.defined() ? sum + v : v.clone(); };
  acc(loss_, terms.total.detach().to(torch::kDouble) * n);
  for (const auto& [k, v] : terms.parts) {
    if (!std::count(layout_.loss_parts.begin(), layout_.loss_parts.end(), k))
      throw Error("the method's loss has a part '" + k + "' that its loss_parts() does not declare (a bug)");
    acc(parts_[k], v.to(torch::kDouble) * n);
  }
  acc(correct_, out.logits.argmax(1).eq(labels).sum());
  seen_ += int64_t(n);
  if (out.masks.size() != layout_.mask_stages)
    throw Error("the method output " + std::to_string(out.masks.size()) + " masks, its mask_stages() declares " +
                std::to_string(layout_.mask_stages) + " (a bug)");
  area_sum_.resize(layout_.mask_stages);
  area_sumsq_.resize(layout_.mask_stages);
  hist_.resize(layout_.mask_stages);
  for (size_t s = 0; s < out.masks.size(); ++s) {
    // A non-finite loss makes NaN masks: they count in no bin (the trainer stops the run).
    auto area = out.masks[s].detach().mean({1, 2, 3}).to(torch::kDouble).nan_to_num(-1.0);
    acc(area_sum_[s], area.sum());
    acc(area_sumsq_[s], area.pow(2).sum());
    auto bin = (area * double(layout_.bins)).floor().clamp(0, double(layout_.bins - 1)).to(torch::kLong);
    bin = bin.masked_select(area.ge(0));
    acc(hist_[s], torch::bincount(bin, {}, layout_.bins));
  }
}

void StepStats::flush(EpochSums& sums) {
  if (seen_ == 0) return;
  sums.loss += loss_.item<double>();
  for (auto& [k, v] : parts_) sums.parts[k] += v.item<double>();
  sums.correct += correct_.item<int64_t>();
  sums.seen += seen_;
  for (size_t s = 0; s < area_sum_.size(); ++s) {
    sums.area_sum[s] += area_sum_[s].item<double>();
    sums.area_sumsq[s] += area_sumsq_[s].item<double>();
    auto h = hist_[s].cpu();
    for (int64_t k = 0; k < layout_.bins; ++k) sums.area_hist[s][size_t(k)] += h[k].item<int64_t>();
  }
  *this = StepStats(layout_);
}

}  // namespace aim
