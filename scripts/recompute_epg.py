#!/usr/bin/env python3
"""Recompute the Energy Pointing Game independently of aimrun (numpy only).

EPG per sample: resize the attribution map to the ground truth's size (bilinear with
half-pixel centres, i.e. align_corners=False), take its positive part, and divide the
energy inside the ground-truth region by the total energy; 0 when the total is <= 1e-12.
In result files a sample without ground truth (empty region) has EPG NaN (no value).

  recompute_epg.py RESULT.h5            check every stored map of a run's result file
                                        against the per-sample EPG aimrun recorded
  recompute_epg.py --maps IN.h5 OUT.h5  EPG of IN's `maps` [B,h,w] against `regions`
                                        [B,H,W], written to OUT's `epg` [B]
"""
import argparse
import sys

import h5py
import numpy as np


def resize_bilinear(m, out_h, out_w):
    """Bilinear resize of a 2-d array with half-pixel centres (PyTorch align_corners=False)."""
    in_h, in_w = m.shape

    def axis(out_n, in_n):
        scale = in_n / out_n
        src = (np.arange(out_n) + 0.5) * scale - 0.5
        src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(int)
        i0 = np.minimum(i0, in_n - 1)
        i1 = np.minimum(i0 + 1, in_n - 1)
        frac = src - i0
        return i0, i1, frac

    y0, y1, fy = axis(out_h, in_h)
    x0, x1, fx = axis(out_w, in_w)
    m = m.astype(np.float64)
    top = m[y0][:, x0] * (1 - fx) + m[y0][:, x1] * fx
    bottom = m[y1][:, x0] * (1 - fx) + m[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def epg(maps, regions, eps=1e-12):
    out = np.zeros(len(maps))
    for i, (m, r) in enumerate(zip(maps, regions)):
        a = np.maximum(resize_bilinear(np.asarray(m, dtype=np.float64), *r.shape), 0.0)
        total = a.sum()
        out[i] = (a * (r != 0)).sum() / total if total > eps else 0.0
    return out


def check_result(path):
    worst = 0.0
    with h5py.File(path, "r") as f:
        for split in f["eval"]:
            g = f["eval"][split]
            if "maps" not in g or "region" not in g["maps"]:
                continue
            maps = g["maps"]
            index = maps["index"][:]
            regions = maps["region"][:]
            for name in maps:
                if name in ("index", "images", "region"):
                    continue
                mine = epg(maps[name][:].astype(np.float64), regions)
                mine[~(regions != 0).reshape(len(regions), -1).any(1)] = np.nan  # no ground truth
                stored = g["samples"]["epg_" + name][:][index]
                same_nan = np.isnan(mine) & np.isnan(stored)
                diff = float(np.where(same_nan, 0.0, np.abs(mine - stored)).max()) if len(index) else 0.0
                diff = np.inf if np.isnan(diff) else diff
                worst = max(worst, diff)
                print(f"{split} {name}: {len(index)} samples, mean EPG {np.nanmean(mine):.6f} "
                      f"(stored {np.nanmean(stored):.6f}), max |difference| {diff:.2e}")
    return worst


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+")
    p.add_argument("--maps", action="store_true", help="compute EPG of IN.h5 into OUT.h5")
    p.add_argument("--tolerance", type=float, default=1e-5)
    a = p.parse_args()
    if a.maps:
        src, dst = a.paths
        with h5py.File(src, "r") as f:
            values = epg(f["maps"][:], f["regions"][:])
        with h5py.File(dst, "w") as f:
            f["epg"] = values
        return 0
    worst = max(check_result(path) for path in a.paths)
    print(f"max |difference| over all maps: {worst:.2e}")
    return 0 if worst <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
