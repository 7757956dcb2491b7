#!/usr/bin/python3
"""Bit-for-bit comparison of two folders of runs (e.g. the quickstart before and after a change):
every dataset under /eval and /curves of each run id in the first folder, timings aside.

  /usr/bin/python3 scripts/compare_runs.py BEFORE/runs AFTER/runs
"""
import sys, h5py, numpy as np, os
a_root, b_root = sys.argv[1], sys.argv[2]
timing = ('seconds', 'images_per_s')
total = same = 0
for run in sorted(os.listdir(a_root)):
    fa, fb = (h5py.File(os.path.join(r, run, 'result.h5'), 'r') for r in (a_root, b_root))
    for top in ('eval', 'curves'):
        names = []
        fa[top].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for n in names:
            if any(t in n for t in timing): continue
            x, y = fa[top][n][()], fb[top][n][()]
            total += 1
            eq = x.shape == y.shape and x.dtype == y.dtype and (x.tolist() == y.tolist() if x.dtype == object else x.tobytes() == y.tobytes())
            same += eq
            if not eq: print('DIFFERS', run, top + '/' + n)
print(f'{same} of {total} arrays bit-identical over {len(os.listdir(a_root))} runs')
sys.exit(0 if same == total else 1)
