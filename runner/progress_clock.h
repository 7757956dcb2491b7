#pragma once
// When rank 0 prints a progress line, and the ETA it prints: the pace of this session
// (since start or resume), not of the run, so a resumed run does not count the steps it
// skipped.
#include <chrono>
#include <cstdint>

namespace aim {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class ProgressClock {
 public:
  ProgressClock(double every_s, int64_t total_steps) : every_s_(every_s), total_steps_(total_steps) {}
  void start_session(int64_t step) {
    session_start_ = last_ = Clock::now();
    session_first_step_ = step;
  }
  bool due() const { return every_s_ > 0 && seconds_since(last_) >= every_s_; }
  void mark() { last_ = Clock::now(); }
  // Seconds to the last step at this session's pace so far (-1: not known yet).
  double eta_seconds(int64_t step) const {
    const int64_t done = step - session_first_step_;
    if (done <= 0) return -1;
    return seconds_since(session_start_) / double(done) * double(total_steps_ - step);
  }

 private:
  double every_s_;
  int64_t total_steps_;
  Clock::time_point session_start_, last_;
  int64_t session_first_step_ = 0;
};

}  // namespace aim
