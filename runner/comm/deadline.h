#pragma once
// Waits for the other ranks that no collective watchdog sees: MPI_Init, the start-up before
// the watchdog is armed (agreeing on the config, NCCL's set-up) and MPI_Finalize. In each,
// a rank that is stopped, frozen or never started leaves the others waiting forever inside
// the MPI library (Open MPI's MPI_Init and MPI_Finalize both wait for every rank).
//
// A Deadline ends this process, with a message naming the rank, what it waited in and for
// how long, unless it is destroyed within `seconds`: exit 1 (std::_Exit: nothing more can
// run safely while the main thread is inside MPI). The launcher then ends the other ranks
// (mpirun on any rank's non-zero exit; srun with --kill-on-bad-exit, as aimrun's Slurm
// scripts run it).
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace aim::comm {

class Deadline {
 public:
  // seconds <= 0: no deadline. `setting`: the key that sets `seconds`, for the message.
  Deadline(double seconds, int rank, std::string what, std::string setting);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // What this rank waits in from now on (named in the message).
  void now_in(std::string what);

 private:
  void watch();

  double seconds_;
  int rank_;
  std::string what_, setting_;
  bool done_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread watcher_;
};

}  // namespace aim::comm
