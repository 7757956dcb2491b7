#pragma once
// Assembles batches on worker threads into a bounded queue, handed out in order. Each
// batch's augmentation is drawn from (augment_seed, batch number), so the result does not
// depend on which thread built it or how many workers there are.
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"

namespace aim::data {

class BatchLoader {
 public:
  // workers == 0: batches are built on the calling thread in next().
  // first_batch: the number of the first batch (when resuming mid-epoch), so that its
  // augmentation is the one the uninterrupted run drew.
  BatchLoader(std::shared_ptr<const Dataset> dataset, BatchIndices batches,
              std::optional<uint64_t> augment_seed, int workers, int prefetch, size_t first_batch = 0,
              bool pin_memory = false);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch in order, or nullopt at the end. Rethrows a worker's exception.
  std::optional<Batch> next();
  size_t num_batches() const { return batches_.size(); }
  // Seconds next() spent waiting for a batch (the trainer reports it as data time).
  double wait_seconds() const { return wait_seconds_; }

 private:
  Batch build(size_t i) const;
  void work();

  std::shared_ptr<const Dataset> dataset_;
  BatchIndices batches_;
  std::optional<uint64_t> augment_seed_;
  size_t prefetch_;
  size_t first_batch_;
  bool pin_memory_;  // page-locked batches, for asynchronous copies to a GPU
  size_t next_to_build_ = 0, next_to_hand_out_ = 0;
  std::map<size_t, Batch> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  double wait_seconds_ = 0;
};

}  // namespace aim::data
