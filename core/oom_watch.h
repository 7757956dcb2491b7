#pragma once
// A process the kernel's OOM killer ends at its cgroup's memory limit gets SIGKILL: it can
// print nothing, and a bare `aimrun train` would end with the shell's "Killed" alone. So
// `aimrun train`, where a cgroup memory limit is in force, starts a watcher first: a tiny
// child process (forked before MPI, it only reads a pipe) that waits for the training
// process to end; when it ended without saying it ended by itself and the cgroup's
// OOM-kill count rose meanwhile, the watcher writes to stderr which limit was reached and
// what to do (docs/reliability.md, "Resource limits"). The training process keeps its PID,
// so signals and tests that stop or kill it by PID reach it as before.
namespace aim {

// Starts the watcher; nothing without a cgroup memory limit, or when it cannot be started
// (a warning says so). Once per process, before threads that fork() could copy mid-work are
// started by aimrun (the watcher calls only async-signal-safe functions).
void start_oom_watch();

// The process ends by itself (a return from main, _exit after an error, a stop): the watcher
// exits without a word. Async-signal-safe.
void end_oom_watch();

}  // namespace aim
