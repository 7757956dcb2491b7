"""Timing one command for the bench scripts (bench/sweep_scale.py, bench/search_scale.py)."""
import collections
import resource
import subprocess
import sys
import time

Timing = collections.namedtuple("Timing", "seconds cpu output")


def timed(cmd, repeat=1, ok=(0,), who="bench"):
    """The fastest of `repeat` runs of `cmd`, after one untimed run (warm cache): its seconds,
    its CPU seconds (user + system; on a shared machine they say more than the wall clock) and
    its output (stdout, then stderr). An exit status not in `ok` ends the script, naming the
    command and the end of its stderr."""
    best = None
    for i in range(repeat + 1):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.monotonic() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in ok:
            sys.exit(f"{who}: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if i > 0 and (best is None or dt < best.seconds):
            best = Timing(dt, cpu, proc.stdout + proc.stderr)
    return best
