#!/usr/bin/python3
"""The scaling model of data-parallel training, fitted to this machine's measurements
(bench/scaling_bench, JSON lines in bench/results/scaling.jsonl) and projected to GPU
clusters with published bus bandwidths (docs/performance.md, "Scaling").

Model (weak scaling: the batch per rank fixed):
  step(N)      = compute(N) + exposed(N)
  allreduce    = n_buckets * 2(N-1) * alpha + 2(N-1)/N * bytes / B      (ring allreduce)
  exposed(N)   = (1 - h) * allreduce                                     (h: the fraction hidden behind backward)
  efficiency   = compute(1) / step(N)
Here: alpha and B are fitted (weighted least squares, relative error) to the allreduce sweep
at 2 and more ranks; h is fitted to the measured step times with and without communication.
On the GPU projection the overlap is the pipeline of n equal buckets filled during backward:
  exposed = max(allreduce / n, allreduce - backward * (1 - 1/n)),  backward = 2/3 of the step
and, for comparison, no overlap at all (exposed = allreduce).

  /usr/bin/python3 bench/scaling_model.py [bench/results/scaling.jsonl]
"""
import json
import math
import sys

import numpy as np


def ring(n, bytes_, buckets, alpha, bw, per_node=None, alpha_net=None):
    """Seconds of `buckets` ring allreduces of `bytes_` in all over n ranks. With per_node
    and alpha_net, the ring's hops between nodes (one per node) cost alpha_net and the
    others alpha."""
    if n <= 1:
        return 0.0
    hops = n - 1
    latency = hops * alpha
    if per_node and n > per_node:
        nodes = n // per_node
        latency = (hops - nodes) * alpha + nodes * alpha_net
    return buckets * 2 * latency + 2 * (n - 1) / n * bytes_ / bw


def fit_allreduce(lines):
    """alpha (s per hop) and B (bytes/s) from every (ranks, bytes, seconds) of the sweeps."""
    rows, t = [], []
    for line in lines:
        n = line["ranks"]
        for bytes_, seconds in line["allreduce"]:
            rows.append([2 * (n - 1), 2 * (n - 1) / n * bytes_])
            t.append(seconds)
    a, t = np.array(rows), np.array(t)
    w = 1 / t  # relative error: each point counts alike, small messages too
    (alpha, inv_bw), *_ = np.linalg.lstsq(a * w[:, None], t * w, rcond=None)
    return alpha, 1 / inv_bw, a, t


def fit_hidden(steps, alpha, bw):
    """h from step_sync - step_local = (1 - h) * allreduce, least squares over N >= 2."""
    xs, ys = [], []
    for s in steps:
        if s["ranks"] < 2:
            continue
        xs.append(ring(s["ranks"], s["grad_bytes"], s["buckets"], alpha, bw))
        ys.append(s["step_sync_s"] - s["step_local_s"])
    xs, ys = np.array(xs), np.array(ys)
    return 1 - float(xs @ ys / (xs @ xs))


def measured(lines):
    alpha, bw, a, t = fit_allreduce([l for l in lines if l["ranks"] > 1])
    print(f"allreduce fit: alpha = {alpha * 1e6:.1f} us per hop, B = {bw / 1e9:.2f} GB/s "
          f"({len(t)} points; predicted / measured for each below)")
    print()
    print("| ranks | bytes | measured ms | model ms | model / measured |")
    print("|---|---|---|---|---|")
    for line in lines:
        for bytes_, seconds in line["allreduce"]:
            model = ring(line["ranks"], bytes_, 1, alpha, bw)
            print(f"| {line['ranks']} | {bytes_} | {1e3 * seconds:.3f} | {1e3 * model:.3f} | {model / seconds:.2f} |")
    h = fit_hidden(lines, alpha, bw)
    print()
    print(f"hidden fraction fitted to the step times: h = {h:.2f} (negative: communicating costs the step more "
          "than the allreduce alone takes)")
    for l in lines:
        measured_ar = dict((b, t) for b, t in l["allreduce"]).get(l["grad_bytes"])
        if measured_ar:
            extra = l["step_sync_s"] - l["step_local_s"]
            print(f"  {l['ranks']} ranks: step with sync - without = {1e3 * extra:.1f} ms; the gradients' allreduce "
                  f"alone, measured: {1e3 * measured_ar:.1f} ms, so hidden {1 - extra / measured_ar:.2f}; "
                  f"finish_step waited {1e3 * l['wait_s']:.1f} ms")
    print()
    base = {}
    for l in lines:
        if l["ranks"] == 1:
            base[(l["backbone"], l["size"], l["batch"])] = l["step_local_s"]
    print("| model | ranks | buckets | compute ms (no sync) | step ms, measured | step ms, model | model / measured "
          "| efficiency, measured | efficiency, model |")
    print("|---|---|---|---|---|---|---|---|---|")
    for l in sorted(lines, key=lambda l: (l["backbone"], l["size"], l["batch"], l["ranks"])):
        key = (l["backbone"], l["size"], l["batch"])
        comp = l["step_local_s"]
        model = comp + (1 - h) * ring(l["ranks"], l["grad_bytes"], l["buckets"], alpha, bw)
        one = base.get(key, comp)
        name = f"{l['backbone']}{'-' + str(l['width']) if l['backbone'] == 'small_cnn' else ''} {l['size']}px b{l['batch']}"
        print(f"| {name} | {l['ranks']} | {l['buckets']} | {1e3 * comp:.1f} | {1e3 * l['step_sync_s']:.1f} | "
              f"{1e3 * model:.1f} | {model / l['step_sync_s']:.2f} | {100 * one / l['step_sync_s']:.0f}% | "
              f"{100 * one / model:.0f}% |")
    return alpha, bw, h


# Published or measured inputs of the projection (docs/performance.md lists the sources).
MODELS = {
    # name: parameters, per-GPU step seconds (batch per GPU / images per second per GPU)
    "ResNet-50, bf16, b256 (H100: 3351 img/s)": (25.557e6, 256 / 3351),
    "ResNet-50, TF32, b64 (H100: 1597 img/s)": (25.557e6, 64 / 1597),
    "ConvNeXt-T, bf16, b256 (1.09x ResNet-50)": (28.589e6, 1.09 * 256 / 3351),
}
# The fabric for N GPUs: bus bandwidth (bytes/s), latency per ring hop inside a node and
# between nodes (s).
def fabric(n):
    if n <= 8:
        return "NVLink (8 x H100 SXM)", 470e9
    return "NVLink + InfiniBand NDR (8 x 400 Gb/s per node)", 331e9


ALPHA_NVLINK, ALPHA_IB = 1e-6, 5e-6


def project():
    print()
    print("| model | GPUs | fabric | bus GB/s | gradients | buckets | allreduce ms | step ms | "
          "efficiency, pipelined overlap | efficiency, no overlap |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (params, step) in MODELS.items():
        for n in (8, 64, 512):
            fab, bw = fabric(n)
            for grad_name, elem in (("fp32", 4), ("bf16", 2)):
                bytes_ = params * elem
                buckets = 1 + math.ceil(max(0.0, bytes_ / 2**20 - 1) / 25)  # aimrun's default caps: 1 MiB, then 25
                ar = ring(n, bytes_, buckets, ALPHA_NVLINK, bw, 8, ALPHA_IB)
                backward = 2 / 3 * step
                exposed = max(ar / buckets, ar - backward * (1 - 1 / buckets))
                print(f"| {name} | {n} | {fab} | {bw / 1e9:.0f} | {grad_name} | {buckets} | {1e3 * ar:.2f} | "
                      f"{1e3 * step:.1f} | {100 * step / (step + exposed):.1f}% | {100 * step / (step + ar):.1f}% |")
    # The check against Horovod's published 512-GPU run: 128 servers of 4 Pascal GPUs, one
    # 25 Gbit/s RoCE link each (bus bandwidth at most 3.1 GB/s), ResNet-101 (44.5 M
    # parameters, fp32), batch 64 per GPU at 103.6 img/s per GPU (Horovod's own 16-GPU
    # example output, 1656.82 img/s).
    step = 64 / 103.6
    bytes_ = 44.5e6 * 4
    print()
    print("Horovod's 512-GPU benchmark through the same model (reported: 90% for ResNet-101):")
    for eff_link in (1.0, 0.8):
        bw = 3.125e9 * eff_link
        ar = ring(512, bytes_, 1, ALPHA_NVLINK, bw, 4, ALPHA_IB)
        backward = 2 / 3 * step
        print(f"  bus bandwidth {bw / 1e9:.2f} GB/s: allreduce {1e3 * ar:.0f} ms, step {1e3 * step:.0f} ms; "
              f"efficiency {100 * step / (step + ar):.0f}% without overlap, "
              f"{100 * step / (step + max(0.0, ar - backward)):.0f}% with all of backward overlapped")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/scaling.jsonl"
    lines = [json.loads(l) for l in open(path) if l.strip()]
    measured(lines)
    project()


if __name__ == "__main__":
    main()
