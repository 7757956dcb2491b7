#!/usr/bin/python3
"""What planning and watching a search costs as it grows: a successive-halving search
(`sweep.search`, docs/sweeps.md) of N = 10, 100, 1000, 5000 candidates (one group; train.lr a
list of N values; rungs 1, 2, 4; eta 3) whose first two rungs have run: every candidate
has its rung-1 file, the survivors of rung 1 their rung-2 file (written here, with random
validation scores, ranked as aimrun ranks them), so `sweep plan` and `sweep status` read N
rung files, decide two rungs and list the runs of the third. `aimrun report OUT --search SPEC`
(OUT: the output_dir, its N run folders, each with a placeholder config.yaml) does the same,
then leaves the candidates the search stopped out of its table (it exits 3: the third rung's
runs are not trained). Prints the seconds, the CPU seconds, the seconds per candidate and the
growth factor between sizes (time(10N) / time(N): 10 is linear), and checks that the
survivors plan and status list, and the number of candidates the report leaves out, are
those ranked here.

  /usr/bin/python3 bench/search_scale.py [--aimrun build/runner/aimrun] [--sizes 10,100,1000,5000]
                                         [--repeat 2] [--work DIR] [--keep]
"""
import argparse
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

from bench_timing import timed


def write_spec(work, n):
    out = os.path.join(work, f"out{n}")
    spec = os.path.join(work, f"search{n}.yaml")
    with open(spec, "w") as f:
        f.write(f"output_dir: {out}\ndataset: {{train_size: 3000, val_size: 200, test_size: 400}}\n"
                f"model: {{width: 8}}\ntrain: {{epochs: 4, batch_size: 64}}\n"
                f"sweep:\n  name: search{n}\n  search:\n    axes:\n"
                f"      train.lr: [{', '.join(f'{(i + 1) * 1e-5:.5f}' for i in range(n))}]\n"
                f"    rungs: [1, 2, 4]\n    eta: 3\n    metric: val acc\n")
    return spec, out


def write_rung(out, run_id, epoch, score):
    d = os.path.join(out, "runs", run_id)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.yaml"), "w") as f:  # a run folder to `report` (not read: not done)
        f.write(f"# fabricated by bench/search_scale.py: the candidate {run_id}\n")
    with open(os.path.join(d, f"rung-{epoch}.yaml"), "w") as f:
        f.write(f"# aimrun rung result: the run's validation at a training budget (docs/sweeps.md, Search)\n"
                f"run_id: {run_id}\nepoch: {epoch}\nepochs: 4\nsplit: val\nseconds: 10.0\n"
                f"metrics:\n  val acc: {score!r}\n")


def ranked(ids, scores):
    """aimrun's order: higher first, ties by the smaller run id."""
    return sorted(ids, key=lambda i: (-scores[i], i))


def fill(aimrun, spec, out, seed):
    plan = subprocess.run([aimrun, "sweep", "plan", spec], capture_output=True, text=True, check=True).stdout
    ids = re.findall(r"^\d+\s+([0-9a-f]{12})\s", plan, re.M)
    rng = random.Random(seed)
    s1 = {i: rng.random() for i in ids}
    for i in ids:
        write_rung(out, i, 1, s1[i])
    keep1 = ranked(ids, s1)[:math.ceil(len(ids) / 3)]
    s2 = {i: rng.random() for i in keep1}
    for i in keep1:
        write_rung(out, i, 2, s2[i])
    keep2 = ranked(keep1, s2)[:math.ceil(len(keep1) / 3)]
    return ids, keep2


def check(name, n, text, third):
    """plan and status list the third rung's runs (to epoch 4); the report leaves every other
    candidate out of its table and lists the third rung's as not complete."""
    if name == "report --search":
        m = re.search(r"not in the table: (\d+) candidate\(s\) the search stopped at a rung", text)
        left_out = int(m.group(1)) if m else 0
        if left_out != n - len(third):
            sys.exit(f"search_scale: the report of {n} leaves out {left_out} candidates, {n - len(third)} expected")
        return
    listed = set(re.findall(r"^\d+\s+([0-9a-f]{12})\s.*to epoch 4", text, re.M))
    if listed != set(third):
        sys.exit(f"search_scale: {name} of {n} lists {len(listed)} runs to epoch 4, "
                 f"{len(third)} expected (ranked here)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--aimrun", default=os.path.join(os.path.dirname(here), "build", "runner", "aimrun"))
    ap.add_argument("--sizes", default="10,100,1000,5000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="search-scale-")
    sizes = [int(s) for s in a.sizes.split(",")]
    print(f"load {open('/proc/loadavg').read().split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'command':<16} {'candidates':>10} {'seconds':>8} {'CPU s':>7} {'ms/cand.':>9} {'growth':>7}")
    last = {}
    for n in sizes:
        spec, out = write_spec(work, n)
        ids, third = fill(a.aimrun, spec, out, n)
        if len(ids) != n:
            sys.exit(f"search_scale: {len(ids)} candidates planned for {n} values")
        commands = {"sweep plan": [a.aimrun, "sweep", "plan", spec],
                    "sweep status": [a.aimrun, "sweep", "status", spec],
                    "report --search": [a.aimrun, "report", out, "--search", spec]}
        for name, cmd in commands.items():
            secs, cpu, text = timed(cmd, a.repeat, ok=(0, 3) if name == "report --search" else (0,),
                                    who="search_scale")
            check(name, n, text, third)
            growth = f"{secs / last[name][1]:.1f}x" if name in last else ""
            print(f"{name:<16} {n:>10} {secs:>8.2f} {cpu:>7.2f} {1000 * secs / n:>9.2f} {growth:>7}")
            last[name] = (n, secs)
    if not a.keep and not a.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
