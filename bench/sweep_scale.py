#!/usr/bin/python3
"""What reading and submitting a sweep costs as it grows: folders of N = 10, 100, 1000 copies of
real runs (each with its own run id and seed, with valid summaries: bench/sweep_copies.py), timed for report (md),
report --format csv, report --html, aimresults.py (the run table), collect, collect --link; and
`sweep plan` / `sweep status` / `sweep run` (--jobs 1 and 2) of sweeps of N = 10, 100, 1000, 5000
runs, all of them done; and
`report` of 1000 runs of which 50 have a damaged (flipped) or missing summary.json. Prints
the seconds, the seconds per run and the growth factor between sizes (time(10N) / time(N): 10 is
linear).

  /usr/bin/python3 bench/sweep_scale.py SRC [--aimrun build/runner/aimrun] [--sizes 10,100,1000]
                                            [--status-sizes 10,100,1000,5000] [--work DIR] [--skip html]
                                            [--damaged 1000,50]

SRC: a folder of complete runs (e.g. outputs/quickstart); the copies go to --work (default a
folder under /tmp, removed at the end unless --keep). Warm file cache: every command runs once
before it is timed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench_timing import timed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def source_runs(src):
    runs = []
    for dirpath, _, files in os.walk(src):
        if "result.h5" in files and "config.yaml" in files:
            runs.append(dirpath)
    if not runs:
        sys.exit(f"sweep_scale: no complete runs under {src}")
    return sorted(runs)


def make_folder(src, dst, n):
    """n copies of the runs under src, each its own run id and seed, with summaries as aimrun
    writes them (bench/sweep_copies.py --patch-summaries)."""
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "sweep_copies.py"), src, dst, str(n), "--patch-summaries"],
                   check=True, capture_output=True)


def read_commands(aimrun, folder, work, skip):
    py = "/usr/bin/python3"
    cmds = {
        "report (md)": [aimrun, "report", folder],
        "report --format csv": [aimrun, "report", folder, "--format", "csv"],
        "report --html": [aimrun, "report", folder, "--html", os.path.join(work, "page.html")],
        "aimresults.py (run table)": [py, os.path.join(ROOT, "scripts", "aimresults.py"), folder,
                                      "--csv", os.path.join(work, "table.csv")],
        "collect": [aimrun, "collect", folder, os.path.join(work, "all.h5")],
        "collect --link": [aimrun, "collect", folder, os.path.join(work, "linked.h5"), "--link"],
    }
    return {k: v for k, v in cmds.items() if not any(s in k for s in skip)}


def status_sweep(work, n, runs):
    """A sweep of n seeds whose runs are all done: hard links to one real result.h5 and its
    summary (a summary is bound to result.h5's bytes and mtime, which a link shares)."""
    out = os.path.join(work, f"status{n}")
    spec = os.path.join(work, f"status{n}.yaml")
    with open(spec, "w") as f:
        f.write(f"output_dir: {out}\ndataset: {{train_size: 3000, val_size: 200, test_size: 400}}\n"
                f"model: {{width: 8}}\ntrain: {{epochs: 1, batch_size: 64}}\n"
                f"sweep:\n  name: s{n}\n  grid:\n    seed: {list(range(n))}\n")
    return spec, out


def fill_status_sweep(aimrun, spec, out, src):
    """Every run of the sweep done: a hard link to one real result.h5 (a link shares its
    bytes and mtime), and that run's summary made each run's own (bench/sweep_copies.py)."""
    sys.path.insert(0, HERE)
    import sweep_copies  # noqa: E402
    plan = subprocess.run([aimrun, "sweep", "plan", spec], capture_output=True, text=True, check=True).stdout
    ids = re.findall(r"^\s*\d+\s+([0-9a-f]{12})\s", plan, re.M)
    body = sweep_copies.source_summary(src)
    for i, run_id in enumerate(ids):
        d = os.path.join(out, "runs", run_id)
        os.makedirs(d)
        os.link(os.path.join(src, "result.h5"), os.path.join(d, "result.h5"))
        shutil.copyfile(os.path.join(src, "config.yaml"), os.path.join(d, "config.yaml"))
        sweep_copies.write_patched_summary(d, body, run_id, i)
    return len(ids)


def damage_summaries(folder, k):
    """k runs of the folder (every n/k-th) with a damaged summary: half flipped (4 bytes
    inverted: its checksum fails), half missing (as a run written before summaries). The
    report rebuilds each from its result.h5 (a full read in a child process) with a warning."""
    sys.path.insert(0, HERE)
    import sweep_copies  # noqa: E402
    runs = sorted(os.listdir(os.path.join(folder, "runs")))
    chosen = runs[::max(1, len(runs) // k)][:k]
    for i, run_id in enumerate(chosen):
        summary = os.path.join(folder, "runs", run_id, "summary.json")
        if i % 2 == 0:
            sweep_copies.flip(summary, 4, 0.6)
        else:
            os.unlink(summary)
    return len(chosen)


def damaged_report(aimrun, src, work, n, k, repeat):
    """`report` (md) of n runs of which k have a damaged or missing summary, against the same
    folder before the damage: seconds of each, and how many runs its warning says were read
    from result.h5."""
    folder = os.path.join(work, f"damaged{n}")
    make_folder(src, folder, n)
    cmd = [aimrun, "report", folder]
    clean = timed(cmd, repeat, ok=(0, 3), who="sweep_scale")
    damaged = damage_summaries(folder, k)
    t = timed(cmd, repeat, ok=(0, 3), who="sweep_scale")
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    m = re.search(r"(\d+) complete runs were read from result.h5", err)
    named = int(m.group(1)) if m else 0
    shutil.rmtree(folder)
    return {"runs": n, "damaged": damaged, "clean_s": clean.seconds, "damaged_s": t.seconds,
            "clean_cpu_s": clean.cpu, "damaged_cpu_s": t.cpu, "runs_warned_of": named}


def table(title, rows, sizes):
    print(f"\n{title}\n")
    head = "| what | " + " | ".join(f"{n} runs: s (ms/run)" for n in sizes) + " | growth per 10x |"
    print(head)
    print("|" + "---|" * (len(sizes) + 2))
    for name, times in rows.items():
        cells = [f"{times[n]:.2f} ({1000 * times[n] / n:.1f})" for n in sizes]
        growth = [times[b] / times[a] for a, b in zip(sizes, sizes[1:]) if times[a] > 0]
        print(f"| {name} | " + " | ".join(cells) + " | " + ", ".join(f"{g:.1f}" for g in growth) + " |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src")
    p.add_argument("--aimrun", default=os.path.join(ROOT, "build", "runner", "aimrun"))
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--status-sizes", default="10,100,1000,5000")
    p.add_argument("--work")
    p.add_argument("--skip", default="", help="comma-separated words: commands containing one are not run")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--damaged", default="1000,50", metavar="N,K",
                   help="report of N runs of which K have a damaged or missing summary ('' to skip)")
    a = p.parse_args()
    aimrun = os.path.abspath(a.aimrun)
    runs = source_runs(a.src)
    work = a.work or tempfile.mkdtemp(prefix="sweep_scale-")
    os.makedirs(work, exist_ok=True)
    skip = [s for s in a.skip.split(",") if s]
    sizes = [int(s) for s in a.sizes.split(",") if s]
    status_sizes = [int(s) for s in a.status_sizes.split(",") if s]
    print(f"machine: {os.cpu_count()} cores, load {open('/proc/loadavg').read().split()[0]}; "
          f"{len(runs)} source runs under {a.src}; aimrun {aimrun}")
    try:
        reads, cpu = {}, {}
        for n in sizes:
            folder = os.path.join(work, f"runs{n}")
            t0 = time.monotonic()
            make_folder(a.src, folder, n)
            print(f"  {n} copies made in {time.monotonic() - t0:.1f} s", flush=True)
            for name, cmd in read_commands(aimrun, folder, work, skip).items():
                t = timed(cmd, a.repeat, ok=(0, 3), who="sweep_scale")
                reads.setdefault(name, {})[n], cpu.setdefault(name, {})[n] = t.seconds, t.cpu
                print(f"  {n:5d} runs: {name}: {t.seconds:.2f} s ({t.cpu:.2f} s of CPU)", flush=True)
            if not a.keep:
                shutil.rmtree(folder)
        sweeps = {}
        for n in status_sizes:
            spec, out = status_sweep(work, n, runs)
            fill_status_sweep(aimrun, spec, out, runs[0])
            for name, cmd in (("sweep plan", [aimrun, "sweep", "plan", spec]),
                              ("sweep status", [aimrun, "sweep", "status", spec]),
                              # every run done: what deciding to skip each run costs, one after
                              # another and through the --jobs pool
                              ("sweep run --jobs 1", [aimrun, "sweep", "run", spec, "--jobs", "1"]),
                              ("sweep run --jobs 2", [aimrun, "sweep", "run", spec, "--jobs", "2"])):
                t = timed(cmd, a.repeat, ok=(0, 3), who="sweep_scale")
                sweeps.setdefault(name, {})[n], cpu.setdefault(name, {})[n] = t.seconds, t.cpu
                print(f"  {n:5d} runs: {name}: {t.seconds:.2f} s ({t.cpu:.2f} s of CPU; load "
                      f"{open('/proc/loadavg').read().split()[0]})", flush=True)
            if not a.keep:
                shutil.rmtree(out)
        damaged = None
        if a.damaged:
            n, k = (int(x) for x in a.damaged.split(","))
            damaged = damaged_report(aimrun, a.src, work, n, k, a.repeat)
            print(f"  report of {n} runs, {damaged['damaged']} with a damaged or missing summary: "
                  f"{damaged['damaged_s']:.2f} s, {damaged['damaged_cpu_s']:.2f} s of CPU (the same folder before the "
                  f"damage: {damaged['clean_s']:.2f} s, {damaged['clean_cpu_s']:.2f} s of CPU); "
                  f"its warning counts {damaged['runs_warned_of']} runs read from result.h5", flush=True)
        table("Reading a folder of runs (seconds; ms per run)", reads, sizes)
        table("A sweep's plan and status, every run done (seconds; ms per run)", sweeps, status_sizes)
        print(json.dumps({"reads": reads, "sweeps": sweeps, "cpu": cpu, "damaged_report": damaged}))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
