"""A deterministic fuzz corpus of damaged result files, made from one real result.h5.

    make_corpus(source, out_dir, seed=..., per_class=...) -> {path: fuzz class}

Classes (each file is named <class>_<n>.h5):
  bitflip   1 to 32 random bit flips, half of the files only in the first 64 KiB (the
            superblock, object headers, B-trees and heaps live there in a small file)
  truncate  the file cut at a random length
  swap      two blocks of 64 B to 4 KiB swapped
  huge      a dataset's declared shape made enormous (the 8-byte dimension in its object
            header replaced with 400M or 2^40), optionally its maximum shape too
  garbage   a well-formed HDF5 file whose identity_yaml / config_yaml / status / run_id or
            a metric attribute holds the wrong text or type
The same seed gives the same bytes, on every machine.
"""
import random
import struct

import h5py
import numpy as np

CLASSES = ("bitflip", "truncate", "swap", "huge", "garbage")


def _bitflip(data, rng):
    out = bytearray(data)
    limit = len(out) if rng.random() < 0.5 else min(len(out), 65536)
    for _ in range(rng.randint(1, 32)):
        pos = rng.randrange(limit)
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(data, rng):
    return data[:rng.randrange(1, len(data))]


def _swap(data, rng):
    out = bytearray(data)
    size = rng.randint(64, 4096)
    a, b = sorted(rng.sample(range(0, len(out) - size), 2))
    if b - a < size:
        b = min(len(out) - size, a + size)
    out[a:a + size], out[b:b + size] = data[b:b + size], data[a:a + size]
    return bytes(out)


def _dataset_headers(source):
    """(header address, shape) of every dataset with a non-empty shape."""
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.shape and obj.shape[0] > 0:
            found.append((h5py.h5o.get_info(obj.id).addr, obj.shape))

    with h5py.File(source, "r") as f:
        f.visititems(visit)
    return sorted(found)


def _huge(data, rng, headers):
    out = bytearray(data)
    for _ in range(20):  # a header whose dimension bytes can be found
        addr, shape = rng.choice(headers)
        dim = rng.randrange(len(shape))
        needle = struct.pack("<Q", shape[dim])
        window = bytes(out[addr:addr + 1024])
        hits = [i for i in range(len(window) - 7) if window[i:i + 8] == needle]
        if not hits:
            continue
        value = struct.pack("<Q", rng.choice((400_000_000, 1 << 40, 50_000_000)))
        chosen = hits if rng.random() < 0.5 else hits[:1]  # shape and max shape, or shape alone
        for i in chosen:
            out[addr + i:addr + i + 8] = value
        return bytes(out)
    return _bitflip(data, rng)


GARBAGE = (
    ("identity_yaml", "{[: unbalanced ]]] : :\n\t- - ?"),
    ("identity_yaml", "key: [1, 2\n  nope: }"),
    ("config_yaml", "a: b: c: d\n- x"),
    ("status", "complete "),
    ("run_id", ""),
    ("schema_version", "one"),
    ("status", 1),
    ("run_id", 7),
)


def _garbage(path, rng):
    with h5py.File(path, "a") as f:
        kind = rng.randrange(len(GARBAGE) + 2)
        if kind < len(GARBAGE):
            name, value = GARBAGE[kind]
            if name in f.attrs:
                del f.attrs[name]
            f.attrs[name] = value
        elif kind == len(GARBAGE):
            g = f["eval"][sorted(f["eval"].keys())[0]]
            del g.attrs["accuracy"]
            g.attrs["accuracy"] = "very high"
        else:
            g = f["eval"][sorted(f["eval"].keys())[0]]["samples"]
            del g["label"]
            g["label"] = np.zeros(3, dtype=np.int64)  # fewer samples than the split's n


def make_corpus(source, out_dir, seed=20261201, per_class=44):
    """Writes per_class files of every class into out_dir; returns {path: class}."""
    import os
    rng = random.Random(seed)
    with open(source, "rb") as fh:
        data = fh.read()
    headers = _dataset_headers(source)
    corpus = {}
    for cls in CLASSES:
        for i in range(per_class):
            path = os.path.join(out_dir, f"{cls}_{i:03d}.h5")
            if cls == "garbage":
                with open(path, "wb") as fh:
                    fh.write(data)
                _garbage(path, rng)
            else:
                mutated = {"bitflip": lambda: _bitflip(data, rng), "truncate": lambda: _truncate(data, rng),
                           "swap": lambda: _swap(data, rng), "huge": lambda: _huge(data, rng, headers)}[cls]()
                with open(path, "wb") as fh:
                    fh.write(mutated)
            corpus[path] = cls
    return corpus
