#!/usr/bin/python3
"""Bit-for-bit comparison of two folders of runs (e.g. the quickstart before and after a change):
every dataset under /eval and /curves of each run of the first folder (each subfolder holding a
result.h5; other files and folders are passed over) against the run of the same name in the
second, timings aside. A run missing or unreadable in the second folder is a difference.

  /usr/bin/python3 scripts/compare_runs.py BEFORE/runs AFTER/runs

Exit 0: every array identical; 1: a difference; 2: a usage error.
"""
import argparse
import os
import sys

import h5py

TIMING = ('seconds', 'images_per_s')
GROUPS = ('eval', 'curves')


def runs_in(root):
    """The names of the subfolders of `root` that hold a result.h5, sorted."""
    return sorted(n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, 'result.h5')))


def arrays(f):
    """{'eval/...': array} of every dataset under /eval and /curves, timings aside."""
    out = {}
    for top in GROUPS:
        if top not in f:
            continue
        names = []
        f[top].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        out.update({top + '/' + n: f[top][n][()] for n in names if not any(t in n for t in TIMING)})
    return out


def read(path):
    """arrays() of the file at `path`, or the reason it cannot be read."""
    try:
        with h5py.File(path, 'r') as f:
            return arrays(f), None
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        return None, f'{path}: {"missing" if not os.path.exists(path) else "unreadable"} ({e})'


def identical(x, y):
    if getattr(x, 'shape', None) != getattr(y, 'shape', None) or getattr(x, 'dtype', None) != getattr(y, 'dtype', None):
        return False
    if getattr(x, 'dtype', None) == object:
        return x.tolist() == y.tolist()
    return x.tobytes() == y.tobytes() if hasattr(x, 'tobytes') else x == y


def compare_run(a_root, b_root, run):
    """(arrays compared, arrays identical, the differences' lines) of one run."""
    a, why = read(os.path.join(a_root, run, 'result.h5'))
    if why:
        return 0, 0, [f'DIFFERS {run}: {why}']
    b, why = read(os.path.join(b_root, run, 'result.h5'))
    if why:
        return len(a), 0, [f'DIFFERS {run}: {why}']
    lines = [f'DIFFERS {run} {name}' + ('' if name in b else ' (missing in the second folder)')
             for name in sorted(a) if name not in b or not identical(a[name], b[name])]
    return len(a), len(a) - len(lines), lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('first', help='a folder of runs (each a subfolder with result.h5): the reference')
    parser.add_argument('second', help='the folder of the same runs to compare with it')
    args = parser.parse_args(argv)
    for root in (args.first, args.second):
        if not os.path.isdir(root):
            parser.error(f'{root}: not a folder')
    runs = runs_in(args.first)
    if not runs:
        parser.error(f'{args.first}: no runs (no subfolder holds a result.h5)')
    total = same = differing = 0
    for run in runs:
        n, k, lines = compare_run(args.first, args.second, run)
        total, same, differing = total + n, same + k, differing + bool(lines)
        for line in lines:
            print(line)
    extra = sorted(set(runs_in(args.second)) - set(runs))
    print(f'{same} of {total} arrays bit-identical over {len(runs)} runs compared; {differing} runs differ' +
          (f'; {len(extra)} runs only in the second folder, not compared' if extra else ''))
    return 0 if differing == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
