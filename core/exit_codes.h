#pragma once
// The exit codes of aimrun, defined once: the commands return them, the sweep executors and
// the session ledger read them back, and the generated Slurm job script compares against
// them (runner/sweep/slurm_script.cpp writes these numbers into its bash).
namespace aim {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;          // a failure (aim::Error, aim::DataError, anything else)
inline constexpr int kExitConfig = 2;         // bad configuration or usage (aim::ConfigError)
inline constexpr int kExitPartial = 3;        // a report, collect or check that left something out
inline constexpr int kExitBusy = 4;           // train: another process holds the run's lock (left to it)
inline constexpr int kExitStopped = 75;       // EX_TEMPFAIL: stopped by a signal with a checkpoint (requeue)
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT: `sweep status --watch` ended by Ctrl-C

}  // namespace aim
