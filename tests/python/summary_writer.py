"""A stand-in for aimrun's summary.json writer (issue 33), in Python: the tests (and
bench/sweep_copies.py --python-summaries) make summaries of existing result.h5 files with it
until every aimrun writes them. Format version 1: PREFIX + BODY + "}\\n" where PREFIX is
`{"format": "aimrun-run-summary", "version": 1, "crc32": "<crc32 of BODY, 8 hex>", "body": `.
"""
import json
import os
import zlib

import h5py
import numpy as np


def _plain(v):
    """An HDF5 attribute as JSON would carry it: str, int or float."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, str):
        return v
    return np.asarray(v).item()


def make_summary_bytes(run_dir, run_id=None, result_stat=None, result_crc=None):
    """summary.json (format version 1) of a run folder, built from its result.h5 with h5py
    exactly as aimrun's writer specifies it: PREFIX + BODY + "}\n" (docs/results-python.md)."""
    path = os.path.join(run_dir, "result.h5")
    with h5py.File(path, "r") as f:
        text, numbers = {}, {}
        for k in f.attrs:
            v = f.attrs[k]
            if isinstance(v, (str, bytes)):
                if k not in ("run_id", "status", "config_yaml", "content_crc32"):  # as aimrun writes it
                    text[k] = _plain(v)
            elif k != "schema_version" and np.asarray(v).ndim == 0 and np.issubdtype(np.asarray(v).dtype, np.number):
                numbers[k] = _plain(v)
        splits = []
        for split in f["eval"]:
            g = f["eval"][split]
            a = g.attrs
            fixed = ("n", "correct", "accuracy", "loss", "worst_group_accuracy")
            entry = {"split": split, **{k: _plain(a[k]) for k in fixed},
                     "scalars": {k: _plain(a[k]) for k in a if k not in fixed},
                     "group_names": [], "group_correct": [], "group_count": [], "group_means": {},
                     "least_confident": {}}
            if "groups" in g:
                entry["group_names"] = [str(x) for x in g["groups/name"].asstr()[()]]
                entry["group_correct"] = [int(x) for x in g["groups/correct"][()]]
                entry["group_count"] = [int(x) for x in g["groups/count"][()]]
                entry["group_means"] = {k: [float(x) for x in g["groups"][k][()]]
                                        for k in g["groups"] if k.startswith("epg_")}
            splits.append(entry)
        body = {"run_id": run_id or _plain(f.attrs["run_id"]),
                "result": {},
                "schema_version": int(f.attrs["schema_version"]), "status": _plain(f.attrs["status"]),
                "text": text, "numbers": numbers, "config_yaml": _plain(f.attrs["config_yaml"]),
                "config": {k: _plain(f["config"].attrs[k]) for k in f["config"].attrs},
                "splits": splits, "skipped": {}}
    st = result_stat or os.stat(path)
    if result_crc is None:
        with open(path, "rb") as fh:
            result_crc = zlib.crc32(fh.read())
    body["result"] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "crc32": f"{result_crc:08x}"}
    raw = json.dumps(body).encode()
    return (b'{"format": "aimrun-run-summary", "version": 1, "crc32": "%08x", "body": ' % zlib.crc32(raw)
            + raw + b"}\n")


def write_summary(run_dir, **kw):
    data = make_summary_bytes(run_dir, **kw)
    with open(os.path.join(run_dir, "summary.json"), "wb") as fh:
        fh.write(data)
    return data

