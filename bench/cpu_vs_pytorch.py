#!/usr/bin/python3
"""aimrun against the plain PyTorch loop a user would otherwise write, side by side in one
invocation, on this machine's CPUs; plus FLOPs per image and utilisation of the measured
peak.

For each case (model, image size, method, ranks, per-rank batch) it runs
  - `aimrun train` on the synthetic dataset (noise images from a pool, like the reference),
    two epochs of --steps steps; the second epoch's images/s from result.h5 is the figure
    (the first warms up). 2 ranks: `mpirun -np 2`, one thread each.
  - bench/reference_train.py with the same model, batch, optimiser and data, --steps after
    as many warm-up steps. 2 ranks: DistributedDataParallel over gloo, one thread each.
  - the same Python loop with glibc malloc set as aimrun sets it (GLIBC_TUNABLES: freed
    memory kept for reuse), to show how much of the difference that setting is.
and prints a markdown table: images/s of each, the ratio, peak memory (rank 0's resident
set while training: VmHWM), and utilisation = images/s x
training FLOPs per image (`aimrun model`, counted from the executed convolutions and
matmuls, 3x forward) / peak FLOP/s (the faster of a large float32 matmul and a large
convolution in torch on the same threads). Batches are assembled on the training thread
in both (aimrun: dataset.workers 0), as a 2-core machine has no core to spare for a loader.

  /usr/bin/python3 bench/cpu_vs_pytorch.py [--aimrun build/runner/aimrun] [--quick]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# model, size, method, ranks, per-rank batch, steps per epoch
CASES = [
    ("small_cnn", 64, "vanilla", 1, 128, 40),
    ("small_cnn", 64, "aim", 1, 128, 40),
    ("small_cnn", 64, "vanilla", 1, 16, 100),   # small batch: per-step overhead dominates
    ("small_cnn", 64, "aim", 1, 16, 100),
    ("small_cnn", 64, "vanilla", 2, 64, 40),
    ("small_cnn", 64, "aim", 2, 64, 40),
    ("small_cnn", 224, "vanilla", 1, 32, 20),
    ("small_cnn", 224, "aim", 1, 32, 20),
    ("resnet18", 64, "vanilla", 1, 64, 20),
    ("resnet18", 64, "aim", 1, 64, 20),
    ("resnet18", 64, "vanilla", 2, 32, 20),
    ("resnet18", 64, "aim", 2, 32, 20),
    ("resnet18", 224, "vanilla", 1, 16, 8),
    ("resnet18", 224, "aim", 1, 16, 8),
    ("resnet50", 224, "vanilla", 1, 8, 4),  # slow here: one case, few steps
]

PHASES = ("data", "forward", "backward", "comm_wait", "optimizer")

CONFIG = """
name: bench
dataset: {{name: synthetic, image_size: {size}, num_classes: 10, train_size: {train}, val_size: {batch},
          pool: 64, hflip: false, workers: 0}}
model: {{backbone: {model}, width: 16}}
method: {{name: {method}, stages: 2, target: 0.25}}
train: {{epochs: 2, batch_size: {batch}, optimizer: sgd, lr: 0.05, warmup_epochs: 0, eval_every: 0,
        checkpoint_every: 10, log_every: 1000}}
eval: {{batch_size: {batch}, attributions: [gradcam], keep_maps: 0, pictures: 0}}
"""


# What aimrun does at start (core/allocator.cpp), as glibc tunables for another process.
KEEP_FREED_MEMORY = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:glibc.malloc.top_pad=67108864"


def rate(images_per_s):
    """Images/s as printed: whole numbers, one decimal below 10 (ResNet-50 at 224x224 here)."""
    return f"{images_per_s:.1f}" if images_per_s < 10 else f"{images_per_s:.0f}"


def run(cmd, env=None):
    """Runs cmd; returns (stdout, stderr, exit code)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return proc.stdout, proc.stderr, proc.returncode


def peak_gflops(threads):
    """The machine's measured peak on these threads: the faster of a large float32 matmul
    (BLAS: OpenBLAS in Debian's torch) and a large 3x3 convolution (oneDNN, which is what
    the convolutions of training run on). Returns (peak, matmul, conv) in GFLOP/s."""
    torch.set_num_threads(threads)

    def best_of(fn, flops, repeat=5):
        fn()
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return flops / min(times) / 1e9

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    matmul = best_of(lambda: a @ b, 2 * 2048 ** 3)
    x, w = torch.randn(16, 256, 28, 28), torch.randn(256, 256, 3, 3)
    with torch.no_grad():
        conv = best_of(lambda: torch.nn.functional.conv2d(x, w, padding=1), 2 * 16 * 256 * 256 * 9 * 28 * 28)
    return max(matmul, conv), matmul, conv


def training_gflops(aimrun, config, size):
    out = subprocess.run([aimrun, "model", config, "--size", str(size), str(size), "--classes", "10"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"training \(3x\)\s+([\d.]+)", out).group(1))


def run_aimrun(aimrun, tmp, model, size, method, ranks, batch, steps, threads, overrides=()):
    config = os.path.join(tmp, f"{model}-{size}-{method}-{ranks}-{batch}.yaml")
    with open(config, "w") as fh:
        fh.write(CONFIG.format(size=size, train=steps * batch * ranks, batch=batch, model=model, method=method))
    run_dir = f"{config[:-5]}-{time.monotonic_ns()}"  # a fresh run each time (a done run would be skipped)
    cmd = [aimrun, "train", config, f"threads={max(1, threads // ranks)}", *overrides, "--run-dir", run_dir]
    if ranks > 1:
        cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none"] + \
              (["--allow-run-as-root"] if os.geteuid() == 0 else []) + cmd
    _, stderr, code = run(cmd)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    with h5py.File(os.path.join(run_dir, "result.h5")) as f:
        c = f["curves"]
        # Rank 0's time per step in each phase, second epoch, in ms.
        phases = {k: 1000 * float(c[f"{k}_seconds"][-1]) / steps for k in PHASES}
        phases["step"] = 1000 * float(c["epoch_seconds"][-1]) / steps
        phases["rss"] = float(f.attrs["peak_memory_train_mib"])
        return float(c["images_per_s"][-1]), config, phases


def run_python(model, size, method, ranks, batch, steps, threads, keep_freed_memory=False):
    cmd = [sys.executable, os.path.join(HERE, "reference_train.py"), "--model", model, "--method", method,
           "--size", str(size), "--classes", "10", "--batch", str(batch), "--steps", str(steps),
           "--warmup", str(steps), "--threads", str(threads), "--ranks", str(ranks)]
    env = dict(os.environ, GLIBC_TUNABLES=KEEP_FREED_MEMORY) if keep_freed_memory else None
    out, err, code = run(cmd, env)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return float(re.search(r"([\d.]+) images/s", out).group(1)), float(re.search(r"peak memory ([\d.]+) MiB", out).group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aimrun", default=os.path.join(ROOT, "build", "runner", "aimrun"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--quick", action="store_true", help="only the small CNN at 64x64")
    p.add_argument("--repeat", type=int, default=2, help="interleaved runs of each, the best counts")
    p.add_argument("--only", metavar="MODEL:SIZE", help="only these cases, e.g. resnet18:224")
    p.add_argument("--channels-last-ab", action="store_true",
                   help="instead: aimrun alone with train.channels_last false and true, interleaved")
    a = p.parse_args()
    cases = [c for c in CASES if not a.quick or (c[0] == "small_cnn" and c[1] == 64)]
    if a.only:
        cases = [c for c in cases if f"{c[0]}:{c[1]}" == a.only]
        if not cases:
            sys.exit(f"--only {a.only}: no such case (MODEL:SIZE, e.g. resnet18:224)")
    if a.channels_last_ab:
        return channels_last_ab(a, cases)
    # The peak is measured before and after the cases and the higher counts: on a shared VM
    # one measurement can land in a slow minute, which would inflate every utilisation.
    peaks = [peak_gflops(a.threads)]
    rows, split = [], []
    with tempfile.TemporaryDirectory(prefix="aimrun-bench-") as tmp:
        os.environ["AIMRUN_CACHE"] = tmp
        for model, size, method, ranks, batch, steps in cases:
            # Interleaved repeats, best of each: a shared VM's noise only ever slows a run down.
            ours, ref, ref_kept = 0.0, 0.0, 0.0
            for _ in range(a.repeat):
                o, config, ph = run_aimrun(a.aimrun, tmp, model, size, method, ranks, batch, steps, a.threads)
                if o > ours:
                    ours, phases = o, ph
                r, r_rss = run_python(model, size, method, ranks, batch, steps, a.threads)
                if r > ref:
                    ref, ref_rss = r, r_rss
                ref_kept = max(ref_kept, run_python(model, size, method, ranks, batch, steps, a.threads, True)[0])
            flops = training_gflops(a.aimrun, config, size)
            print(f"{model} {size} {method} {ranks}x{batch}: aimrun {ours:.0f} img/s, python {ref:.0f} "
                  f"({ours / ref:.2f})", file=sys.stderr, flush=True)
            rows.append((model, size, method, ranks, batch, ours, ref, ref_kept, flops, phases["rss"], ref_rss))
            split.append((f"{model} {size} {method} {ranks}x{batch}", phases))
    peaks.append(peak_gflops(a.threads))
    peak, matmul, conv = max(peaks)
    print(f"best of {a.repeat} interleaved runs each")
    print(f"peak: {peak:.1f} GFLOP/s on {a.threads} threads, torch {torch.__version__} (float32: 2048^3 matmul "
          f"{matmul:.1f}, 3x3 convolution 256->256 channels at 28x28, batch 16: {conv:.1f}; the higher of "
          f"{peaks[0][0]:.1f} before and {peaks[1][0]:.1f} after the cases)")
    print()
    print("| model | size | method | ranks x batch | aimrun img/s | python img/s | aimrun/python | "
          "python, malloc as aimrun | train GFLOP/img | aimrun util. | peak RSS MiB aimrun / python |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model, size, method, ranks, batch, ours, ref, ref_kept, flops, rss, ref_rss in rows:
        print(f"| {model} | {size} | {method} | {ranks} x {batch} | {rate(ours)} | {rate(ref)} | {ours / ref:.2f} | "
              f"{rate(ref_kept)} ({ours / ref_kept:.2f}) | {flops:.3f} | {100 * ours * flops / peak:.0f}% | "
              f"{rss:.0f} / {ref_rss:.0f} |")
    print()
    print("aimrun time per step (rank 0, second epoch, ms): data = waiting for the loader, comm_wait = waiting "
          "for gradient allreduces after backward")
    print()
    print("| case | step | " + " | ".join(PHASES) + " |")
    print("|---|---|" + "---|" * len(PHASES))
    for name, ph in split:
        print(f"| {name} | {ph['step']:.1f} | " + " | ".join(f"{ph[k]:.1f}" for k in PHASES) + " |")


def channels_last_ab(a, cases):
    """aimrun's images/s with train.channels_last false and true, interleaved, best of each."""
    print(f"aimrun, train.channels_last false / true, best of {a.repeat} interleaved runs each; load average "
          f"(1 min) {os.getloadavg()[0]:.2f} at the start")
    print()
    print("| model | size | method | ranks x batch | channels_last false img/s | true img/s | true / false | all runs |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="aimrun-bench-") as tmp:
        os.environ["AIMRUN_CACHE"] = tmp
        for model, size, method, ranks, batch, steps in cases:
            runs = {"false": [], "true": []}
            for _ in range(a.repeat):
                for value in runs:
                    runs[value].append(run_aimrun(a.aimrun, tmp, model, size, method, ranks, batch, steps, a.threads,
                                                  [f"train.channels_last={value}"])[0])
            off, on = max(runs["false"]), max(runs["true"])
            all_runs = "; ".join(f"{k}: " + ", ".join(f"{v:.1f}" for v in vals) for k, vals in runs.items())
            print(f"| {model} | {size} | {method} | {ranks} x {batch} | {off:.1f} | {on:.1f} | {on / off:.2f} | "
                  f"{all_runs} |", flush=True)
    print(f"\nload average (1 min) {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
