#include "data/loader.h"

#include <chrono>

#include "core/hash.h"

namespace aim::data {

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> dataset, BatchIndices batches,
                         std::optional<uint64_t> augment_seed, int workers, int prefetch, size_t first_batch,
                         bool pin_memory)
    : dataset_(std::move(dataset)),
      batches_(std::move(batches)),
      augment_seed_(augment_seed),
      prefetch_(size_t(std::max(1, prefetch))),
      first_batch_(first_batch),
      pin_memory_(pin_memory) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Batch BatchLoader::build(size_t i) const {
  std::optional<uint64_t> seed;
  if (augment_seed_) seed = mix_seed(*augment_seed_, uint64_t(first_batch_ + i));
  Batch b = dataset_->get_batch(batches_[i], seed);
  return pin_memory_ ? b.pinned() : b;
}

void BatchLoader::work() {
  while (true) {
    size_t i;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Bounded: never run more than `prefetch` batches ahead of the consumer.
      cv_.wait(lock, [&] {
        return stopping_ || error_ || next_to_build_ >= batches_.size() ||
               next_to_build_ < next_to_hand_out_ + prefetch_;
      });
      if (stopping_ || error_ || next_to_build_ >= batches_.size()) return;
      i = next_to_build_++;
    }
    try {
      Batch b = build(i);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(i, std::move(b));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  if (next_to_hand_out_ >= batches_.size()) return std::nullopt;
  auto t0 = std::chrono::steady_clock::now();
  if (threads_.empty()) {
    Batch b = build(next_to_hand_out_++);
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return b;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_to_hand_out_); });
  if (error_) std::rethrow_exception(error_);
  Batch b = std::move(ready_.at(next_to_hand_out_));
  ready_.erase(next_to_hand_out_++);
  lock.unlock();
  cv_.notify_all();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return b;
}

}  // namespace aim::data
