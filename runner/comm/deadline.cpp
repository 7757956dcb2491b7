#include "runner/comm/deadline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "core/exit_codes.h"
#include "core/strings.h"

namespace aim::comm {

Deadline::Deadline(double seconds, int rank, std::string what, std::string setting)
    : seconds_(seconds), rank_(rank), what_(std::move(what)), setting_(std::move(setting)) {
  if (seconds_ > 0) watcher_ = std::thread([this] { watch(); });
}

Deadline::~Deadline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void Deadline::now_in(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  what_ = std::move(what);
}

void Deadline::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (cv_.wait_for(lock, std::chrono::duration<double>(seconds_), [this] { return done_; })) return;
  spdlog::error("rank {} waited {} in {} ({}): another rank is stuck, dead or never started; ending the job", rank_,
                format_duration(seconds_), what_, setting_);
  spdlog::default_logger()->flush();
  std::_Exit(kExitError);
}

}  // namespace aim::comm
