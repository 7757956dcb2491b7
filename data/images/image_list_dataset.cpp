#include "data/images/image_list_dataset.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/hash.h"
#include "data/images/packed_cache.h"

namespace aim::data {

namespace fs = std::filesystem;

namespace {

int thread_count(int requested) {
  return requested > 0 ? requested : std::max(1, int(std::thread::hardware_concurrency()));
}

// "<n> files are missing, e.g. a, b, c": the first few are enough to see the pattern
// (a wrong root, a partial download).
std::string describe_missing(const std::vector<std::string>& missing) {
  std::string msg = missing.front() + ": file is missing";
  if (missing.size() > 1) {
    msg += " (and " + std::to_string(missing.size() - 1) + " more, e.g.";
    for (size_t i = 1; i < std::min<size_t>(missing.size(), 4); ++i) msg += " " + missing[i];
    msg += ")";
  }
  return msg;
}

}  // namespace

namespace image_list {

// A cheap stat pass: a missing file is reported now, not after an hour of training (or,
// with skip_corrupt, its sample is left out and named in `skipped`).
std::vector<Sample> present_samples(std::vector<Sample> samples, bool with_region, bool skip_corrupt,
                                    const std::string& where, std::vector<std::string>& skipped) {
  std::vector<std::string> missing;
  std::vector<Sample> present;
  for (auto& s : samples) {
    std::error_code ec;
    bool ok = fs::is_regular_file(s.path, ec);
    if (!ok) missing.push_back(s.path);
    if (ok && with_region && !s.mask_path.empty() && !fs::is_regular_file(s.mask_path, ec)) {
      missing.push_back(s.mask_path);
      ok = false;
    }
    if (ok) present.push_back(std::move(s));
  }
  if (missing.empty()) return present;
  if (!skip_corrupt) throw DataError(where + ": " + describe_missing(missing));
  spdlog::warn("{}: skipping {} samples whose files are missing: {}", where, missing.size(), describe_missing(missing));
  for (auto& m : missing) skipped.push_back(m);
  return present;
}

// Every sample decoded once, in parallel, so that a corrupt file is dropped here and never
// met in the middle of an epoch: bad[i] set for each that cannot be.
void decode_all(const std::vector<Sample>& samples, bool with_region, int threads, const std::string& where,
                std::vector<char>& bad) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  std::vector<std::string> why(samples.size());
  for (int t = 0; t < std::min<int>(thread_count(threads), int(samples.size())); ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < samples.size();) {
        try {
          decode_sample(samples[i], with_region);
        } catch (const DataError& e) {
          bad[i] = 1;
          why[i] = e.what();
        }
      }
    });
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < samples.size(); ++i)
    if (bad[i]) spdlog::warn("{}: skipping {}", where, why[i]);
}

// The packed cache of the samples (built when missing): bad[i] set for each it could not
// decode.
std::unique_ptr<PackedCache> packed_cache(const ImageListOptions& options, const SplitInfo& info,
                                          const std::vector<Sample>& samples, bool with_region,
                                          std::vector<char>& bad) {
  PackOptions po;
  po.shorter_side = options.transforms.resize;
  po.with_region = with_region;
  po.skip_corrupt = options.skip_corrupt;
  po.threads = options.threads;
  po.wait_seconds = options.cache_wait_seconds;
  const auto path = packed_cache_path(options.cache_dir, info.dataset, info.split, samples, po);
  auto cache = std::make_unique<PackedCache>(PackedCache::open_or_build(path, samples, po));
  for (size_t i = 0; i < samples.size(); ++i)
    if (!cache->readable(i)) bad[i] = 1;
  return cache;
}

}  // namespace image_list

ImageListDataset::ImageListDataset(SplitInfo info, std::vector<Sample> samples, const ImageListOptions& options)
    : info_(std::move(info)), options_(options) {
  const bool with_region = !info_.region_kind.empty();
  const std::string where = info_.dataset + " " + info_.split;
  samples = image_list::present_samples(std::move(samples), with_region, options.skip_corrupt, where, info_.skipped);
  std::vector<char> bad(samples.size(), 0);
  if (options.packed_cache)
    cache_ = image_list::packed_cache(options, info_, samples, with_region, bad);
  else if (options.skip_corrupt)
    image_list::decode_all(samples, with_region, options.threads, where, bad);
  std::vector<std::string> failures;
  for (size_t i = 0; i < samples.size(); ++i)
    if (bad[i]) failures.push_back(samples[i].path);
  if (!failures.empty()) {
    spdlog::warn("{}: skipped {} images that cannot be decoded (listed in the result file)", where, failures.size());
    for (auto& f : failures) info_.skipped.push_back(f);
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    if (bad[i]) continue;
    cache_entry_.push_back(i);
    samples_.push_back(std::move(samples[i]));
  }
  if (samples_.empty()) throw DataError(where + ": no usable samples");
  std::vector<int64_t> labels, groups;
  for (const auto& s : samples_) {
    labels.push_back(s.label);
    groups.push_back(s.group);
  }
  labels_ = torch::tensor(labels, torch::kLong);
  groups_ = torch::tensor(groups, torch::kLong);
  const auto& n = options_.norm;
  info_.mean = n.mean;
  info_.std = n.std;
  mean_ = torch::tensor(n.mean).view({1, 3, 1, 1});
  inv_std_ = 1.0 / torch::tensor(n.std).view({1, 3, 1, 1});
  info_.height = info_.width = options_.transforms.image_size;
}

ImageListDataset::~ImageListDataset() = default;

DecodedSample ImageListDataset::source(int64_t i) const {
  if (cache_) {
    const size_t e = cache_entry_[size_t(i)];
    return {cache_->image(e), cache_->region(e)};
  }
  return decode_sample(samples_[size_t(i)], !info_.region_kind.empty());
}

Batch ImageListDataset::get_batch(const std::vector<int64_t>& indices, std::optional<uint64_t> augment_seed) const {
  const int64_t b = int64_t(indices.size()), out_side = options_.transforms.image_size;
  const bool with_region = !info_.region_kind.empty();
  auto images = torch::empty({b, out_side, out_side, 3}, torch::kUInt8);
  at::Tensor regions = with_region ? torch::zeros({b, out_side, out_side}, torch::kUInt8) : at::Tensor();
  const bool train = augment_seed && options_.augment;
  for (int64_t k = 0; k < b; ++k) {
    const int64_t i = indices[size_t(k)];
    TORCH_CHECK(i >= 0 && i < size(), "sample index out of range");
    DecodedSample src = source(i);
    Geometry g;
    if (train) {
      // One generator per position: the batch is the same whichever thread builds it.
      Rng rng(mix_seed(*augment_seed, uint64_t(k)));
      g = train_geometry(src.rgb.rows, src.rgb.cols, options_.transforms, rng);
    } else {
      g = eval_geometry(src.rgb.rows, src.rgb.cols, options_.transforms);
    }
    const int n = static_cast<int>(out_side);
    cv::Mat img_out{n, n, CV_8UC3, images[k].data_ptr<uint8_t>()};
    cv::Mat reg_out = with_region ? cv::Mat{n, n, CV_8UC1, regions[k].data_ptr<uint8_t>()} : cv::Mat();
    cv::Mat img_tmp, reg_tmp;
    apply_geometry(src.rgb, src.region, g, out_side, img_tmp, reg_tmp);
    img_tmp.copyTo(img_out);
    if (with_region && !reg_tmp.empty()) reg_tmp.copyTo(reg_out);
  }
  Batch out;
  out.indices = torch::tensor(indices, torch::kLong);
  out.labels = labels_.index_select(0, out.indices);
  out.groups = groups_.index_select(0, out.indices);
  out.images = images.permute({0, 3, 1, 2}).to(torch::kFloat).mul_(1.0 / 255.0).sub_(mean_).mul_(inv_std_).contiguous();
  out.regions = regions;
  return out;
}

}  // namespace aim::data
