#!/usr/bin/python3
"""Two Chrome traces of the autograd profiler side by side, per operator: how often it ran
and its total (inclusive) time. For the same model and steps, an operator slower in one
trace than in the other is where to look; every operator slower by the same factor points
outside the kernels (memory, threads).

  build/bench/step_bench --backbone small_cnn --size 64 --batch 128 --iters 10 --trace cpp.json
  /usr/bin/python3 bench/reference_train.py --model small_cnn --size 64 --batch 128 --steps 10 \\
      --warmup 3 --threads 2 --trace py.json
  /usr/bin/python3 bench/compare_traces.py cpp.json py.json
"""
import argparse
import collections
import json


def per_operator(path):
    with open(path) as f:
        events = json.load(f)
    if isinstance(events, dict):
        events = events.get("traceEvents", [])
    ops = collections.defaultdict(lambda: [0, 0.0])
    for e in events:
        if e.get("ph") == "X":
            ops[e["name"]][0] += 1
            ops[e["name"]][1] += float(e["dur"]) / 1000  # microseconds -> ms
    return ops


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    a, b = per_operator(args.a), per_operator(args.b)
    zero = [0, 0.0]
    names = sorted(set(a) | set(b), key=lambda n: -max(a.get(n, zero)[1], b.get(n, zero)[1]))
    print(f"{'operator':52} {'calls A':>8} {'ms A':>9} {'calls B':>8} {'ms B':>9} {'A/B':>6}")
    for n in names[:args.top]:
        (ca, ta), (cb, tb) = a.get(n, zero), b.get(n, zero)
        ratio = f"{ta / tb:6.2f}" if tb > 0 else "     -"
        print(f"{n[:52]:52} {ca:8d} {ta:9.1f} {cb:8d} {tb:9.1f} {ratio}")


if __name__ == "__main__":
    main()
