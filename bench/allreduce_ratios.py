#!/usr/bin/python3
"""Repeats bench/allreduce_bench (2 ranks) for several models, interleaved, and prints the
median and the range of its ratios (raw MPI_Allreduce / the gradient path beyond backward)
for the fixed 25 MiB buckets and the model-derived ones; with --old, also for another
build's allreduce_bench (e.g. the commit before), run in the same rounds.

  /usr/bin/python3 bench/allreduce_ratios.py [--repeat 5] [--old /path/to/old/allreduce_bench]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = [("small_cnn", ["--width", "64"]), ("resnet18", []), ("resnet50", [])]


def load():
    return open("/proc/loadavg").read().split()[0]


def run(binary, model, extra, iters):
    cmd = ["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none"] + \
          (["--allow-run-as-root"] if os.geteuid() == 0 else []) + \
          [binary, "--backbone", model, "--iters", str(iters)] + extra
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    out = {}
    for m in re.finditer(r"^(fixed|model) buckets \(\s*([\d.]+) MiB last,\s*(\d+) buckets\).*= ([\d.]+)$", proc.stdout, re.M):
        out[m.group(1)] = (float(m.group(4)), f"{m.group(3)} buckets" + (f", last {float(m.group(2)):g} MiB" if m.group(1) == "model" else ""))
    m = re.search(r"in (\d+) buckets.*\n(?:.*\n)*?ratio raw / \(gradient path - backward\) = ([\d.]+)", proc.stdout)
    if m and not out:
        out["old"] = (float(m.group(2)), f"{m.group(1)} buckets")
    if not out:
        sys.exit(f"no ratio in the output of {' '.join(cmd)}:\n{proc.stdout}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "allreduce_bench"))
    p.add_argument("--old", help="another build's allreduce_bench, run in the same rounds")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--only", help="one model: small_cnn, resnet18 or resnet50")
    a = p.parse_args()
    models = [m for m in MODELS if not a.only or m[0] == a.only]
    ratios, layout = {}, {}
    loads = [load()]
    for _ in range(a.repeat):
        for model, extra in models:
            for binary in [a.bench] + ([a.old] if a.old else []):
                for kind, (ratio, desc) in run(binary, model, extra, a.iters).items():
                    # an --old build that prints the same rows as this one is kept apart
                    key = (model, kind if binary == a.bench or kind == "old" else "old " + kind)
                    ratios.setdefault(key, []).append(ratio)
                    layout[key] = desc
    loads.append(load())
    print(f"{a.repeat} interleaved rounds of {a.iters} steps each; load average (1 min) {loads[0]} before, "
          f"{loads[1]} after; 2 ranks")
    print()
    print("| model | buckets | ratio, median | range |")
    print("|---|---|---|---|")
    for (model, kind), values in ratios.items():
        name = {"fixed": "25 MiB cap, first 1 MiB", "model": "and a last one from the model", "old": "before (--old)",
                "old fixed": "before (--old), 25 MiB cap, first 1 MiB",
                "old model": "before (--old), and a last one from the model"}[kind]
        print(f"| {model} | {name}: {layout[(model, kind)]} | {statistics.median(values):.2f} | "
              f"{min(values):.2f}-{max(values):.2f} |")


if __name__ == "__main__":
    main()
