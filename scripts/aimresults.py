#!/usr/bin/python3
"""aimrun result files (HDF5, docs/hdf5-schema.md) into pandas DataFrames.

One row per run and evaluated split: the run's resolved configuration as flat columns
(`dataset.name`, `method.name`, `seed`, ...), the split's metrics (`accuracy`,
`worst_group_accuracy`, `epg.<method>`, `mask_area`, ...) and where the file is.

As a library (docs/results-python.md):

    import aimresults
    df = aimresults.load("outputs/quickstart")            # every run under the folder
    df[df.split == "test"].groupby("method.name")["accuracy"].agg(["mean", "std", "count"])
    samples = aimresults.load_samples(df.path[0], "test")  # per-sample arrays of one run
    curves = aimresults.load_curves(df.path[0])            # per-epoch training curves

As a command:

    /usr/bin/python3 scripts/aimresults.py DIR [--csv OUT] [--split test]

Files that cannot be used (truncated, corrupt, not ours, from a newer aimrun, runs not
finished yet) are skipped and reported: `load` appends them to its `problems` list (or
emits a Python warning per file when none is given); the command prints them on stderr
and exits with 3, like `aimrun report`.

A run folder's valid summary.json (aimrun writes it after result.h5; `aimrun summarize DIR`
for older runs) is read instead of its result.h5 for the table: the same rows, no child
process; a missing or invalid one falls back to result.h5 with one warning per call
(docs/results-python.md, "summary.json").

Runs are found the way `aimrun report` finds them: run folders (a `config.yaml` or a
`result.h5`) and any other non-hidden `.h5` file, following symbolic links (a sweep folder
`outputs/<sweep>/<run-id>` is a link to `outputs/runs/<run-id>`) but counting every real
folder and file once, and a run id only once.
"""
import argparse
import dataclasses
import fcntl
import json
import os
import pickle
import re
import resource
import select
import signal
import struct
import sys
import tempfile
import warnings
import zlib

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _aimstats():
    """The report's statistics (aimstats.py, docs/report.md), imported when first needed: it
    imports scipy.stats, 0.6 s that the plain run table does not need."""
    import aimstats
    return aimstats

# The newest result-file layout this module reads (root attribute `schema_version`).
CURRENT_SCHEMA_VERSION = 2  # 2: gradcam on the decision map, explain/select, group EPG (docs/hdf5-schema.md)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where one schema version keeps things. A new schema version that moves or renames
    something gets its own entry in LAYOUTS; the readers below only go through this."""
    curves: str = "curves"                  # per-epoch series, one dataset each
    eval_curves: str = "curves/eval"        # <split>/{epoch,accuracy,worst_group_accuracy,loss}
    mask_curves: str = "curves/masks"       # stage_<l>/{active_mean,active_std,target}
    evaluation: str = "eval"                # <split> groups with the final metrics as attributes
    samples: str = "samples"                # per-sample arrays, inside a split group
    groups: str = "groups"                  # per-group counts, inside a split group
    config: str = "config"                  # one attribute per configuration key
    epg_prefix: str = "epg_"                # split attribute / sample array prefix of the EPG


# 2: the same paths; gradcam means the decision map, gradcam_backbone the old map (docs/hdf5-schema.md).
LAYOUTS = {1: Layout(), 2: Layout()}

# Root attributes not copied into the summary table as they are (the other root attributes
# are run metadata and become columns, unless /config has the same key).
# content_crc32 is the file's own check (content_crc32() below), not a property of the run.
ROOT_NOT_COLUMNS = ("config_yaml", "identity_yaml", "schema_version", "status", "run_id", "content_crc32")

# Split attributes with a fixed column (the others, e.g. mask_area, keep their own name).
SPLIT_COLUMNS = ("accuracy", "worst_group_accuracy", "loss", "n", "correct")


class ResultFileError(Exception):
    """A file that cannot be used; `kind` says why (see Problem)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass
class Problem:
    """A file or run folder that was skipped.

    kind: `truncated`, `corrupt` (not readable as HDF5), `foreign` (HDF5 without our
    schema), `newer-schema`, `incomplete` (file lacks parts or status != complete),
    `pending`, `running`, `failed` (run folders without a result yet), `broken-link`,
    `duplicate` (the same run id again), `evaluation` (an `aimrun evaluate` file, not
    counted unless asked for), `unreadable` (result.h5 and its summary.json disagree),
    `left-out` (a run `aimrun collect` could not put in a collection: its /problems),
    `damaged` (its content_crc32 or a derived scalar disagrees with its content).
    """
    path: str
    kind: str
    message: str

    def __str__(self):
        return f"{self.path}: {self.kind}: {self.message}"


# --------------------------------------------------------------------------- opening

# A reader may use this much address space beyond what the process has when it starts
# reading one file, and this long: a damaged file that claims more is refused.
ISOLATION_MEMORY = 1536 << 20
ISOLATION_SECONDS = 120


def _h5file(path):
    """h5py.File read-only, without HDF5's file locks (they fail on NFS without lockd and on
    Lustre without flock; reading needs none). HDF5_USE_FILE_LOCKING, when set, wins."""
    if "HDF5_USE_FILE_LOCKING" in os.environ:
        return h5py.File(path, "r")
    try:
        return h5py.File(path, "r", locking=False)
    except (TypeError, ValueError):  # h5py < 3.5 or HDF5 < 1.10.7: no per-file setting
        return h5py.File(path, "r")


def _open_linked(f, name):
    """f[name], where name may be an external link (`aimrun collect --link`): its file is
    opened without HDF5's file locks too, unless HDF5_USE_FILE_LOCKING is set."""
    if "HDF5_USE_FILE_LOCKING" in os.environ:
        return f[name]
    try:
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
        fapl.set_file_locking(False, True)
        lapl = h5py.h5p.create(h5py.h5p.LINK_ACCESS)
        lapl.set_elink_fapl(fapl)
    except (AttributeError, ValueError):  # h5py or HDF5 without per-file locking
        return f[name]
    try:
        return h5py.Group(h5py.h5o.open(f.id, name.encode(), lapl=lapl))
    except KeyError:
        raise
    except Exception as err:
        raise KeyError(str(err)) from None


def _child(write_fd, fn, args):
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = _address_space() + ISOLATION_MEMORY
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)  # lower only: a limit the caller set stays
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        try:
            with warnings.catch_warnings(record=True) as caught:  # handed to the caller
                warnings.simplefilter("always", UncheckedResultWarning)
                value = fn(*args)
            result = ("ok", value, [str(w.message) for w in caught if w.category is UncheckedResultWarning])
        except ResultFileError as err:
            result = ("error", err.kind, str(err))
        except MemoryError:
            result = ("error", "corrupt", "needs more memory than the file could hold (damaged sizes)")
        except Exception as err:  # any other failure of a damaged file
            result = ("error", "corrupt", f"unreadable ({type(err).__name__}: {err})")
        data = pickle.dumps(result)
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view):]
        os._exit(0)
    except BaseException:
        os._exit(1)


def _address_space():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _isolated(fn, *args):
    """fn(*args) in a forked child: the HDF5 library can crash (segfault) or try to allocate
    what a damaged file only claims to hold; then the caller survives and gets a
    ResultFileError (kind `corrupt`) instead. Returns what fn returned."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, fn, args)
    os.close(write_fd)
    chunks, finished = [], False
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], ISOLATION_SECONDS)
            if not ready:
                break
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if not finished:
        raise ResultFileError("corrupt", f"reading it took longer than {ISOLATION_SECONDS} s (stopped)")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        raise ResultFileError("corrupt", f"reading it crashed the HDF5 library (signal {sig}, "
                                         f"{signal.Signals(sig).name})")
    if not chunks:
        raise ResultFileError("corrupt", "the reader process ended without an answer")
    result = pickle.loads(b"".join(chunks))
    if result[0] == "error":
        raise ResultFileError(result[1], result[2])
    for message in result[2]:
        warnings.warn(message, UncheckedResultWarning, stacklevel=3)
    return result[1]


def _checked_read(ds, length=None):
    """A dataset's values, refused when its declared shape is not what the schema says
    (`length` along the first axis) or more than the file could hold: raw data takes at
    least 1/1100 of its size in the file (deflate's best ratio is about 1:1030)."""
    _check_shape(ds, length)
    return ds[()]


def _check_shape(ds, length=None):
    """_checked_read without the reading."""
    if not isinstance(ds, h5py.Dataset):
        raise ResultFileError("corrupt", f"{ds.name} is not a dataset")
    if length is not None and (len(ds.shape) < 1 or ds.shape[0] != length):
        raise ResultFileError("corrupt", f"{ds.name}: shape {ds.shape}, expected {length} rows")
    declared = int(np.prod(ds.shape, dtype=np.float64)) * ds.dtype.itemsize if ds.shape else ds.dtype.itemsize
    stored = ds.id.get_storage_size()
    if declared > 4096 and (declared > 1100 * stored or stored > os.path.getsize(ds.file.filename)):
        raise ResultFileError("corrupt", f"{ds.name}: declares {declared} bytes, more than its {stored} "
                                         "stored bytes can hold")


def _attr(attrs, name, default=None):
    """One attribute by name (never by iterating over a damaged attribute table)."""
    if name not in attrs:
        return default
    return attrs[name]


def _classify_open_error(err):
    text = str(err)
    if "truncated" in text:
        return "truncated"
    return "corrupt"


COLLECTION_SEPARATOR = ":/runs/"


class _RunInCollection:
    """A run inside a collection (`aimrun collect`): the group /runs/<id>, which has the
    layout of a whole result file; closing it closes the collection."""

    def __init__(self, file, group):
        self._file, self._group = file, group

    def __getattr__(self, name):
        return getattr(self._group, name)

    def __getitem__(self, key):
        return self._group[key]

    def __contains__(self, key):
        return key in self._group

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def close(self):
        self._file.close()


def _is_collection(path):
    try:
        with _h5file(path) as f:
            return "aimrun_collection" in f.attrs
    except OSError:
        return False


def is_collection(path):
    """True for a file written by `aimrun collect`."""
    try:
        return _isolated(_is_collection, path)
    except ResultFileError:
        return False


def _collection_runs(path):
    with _h5file(path) as f:
        return [f"{path}{COLLECTION_SEPARATOR}{run_id}" for run_id in sorted(f["runs"].keys())]


def collection_runs(path):
    """The runs of a collection, as paths `<file>:/runs/<run-id>` that every reader accepts."""
    return _isolated(_collection_runs, path)


def _expand(path):
    """A .h5 file as the result paths it holds: itself, or a collection's runs."""
    return _collection_runs(path) if _is_collection(path) else [path]


def _collection_left_out(path):
    """What `aimrun collect` left out of a collection (its /problems: `<state>: <path> (why)`)."""
    with _h5file(path) as f:
        if "aimrun_collection" not in f.attrs or "problems" not in f:
            return []
        ds = f["problems"]
        _check_shape(ds)
        return [_text(v) for v in ds[()]]


def _expand_with_left_out(path):
    """_expand, and a Problem (kind `left-out`) for every run the collection left out."""
    left_out = [Problem(f"{path}:/problems", "left-out", f"not in the collection: {p}")
                for p in _collection_left_out(path)] if _is_collection(path) else []
    return _expand(path), left_out


def open_result(path):
    """Opens a result file (or a run of a collection, `<file>:/runs/<id>`) read-only and
    checks its schema; returns (h5py.File or group, Layout).

    Raises ResultFileError for files that are unreadable, not ours, or newer than this module.
    """
    file_path, sep, run_id = path.partition(COLLECTION_SEPARATOR)
    try:
        f = _h5file(file_path)
    except OSError as err:
        raise ResultFileError(_classify_open_error(err), f"cannot open as HDF5 ({err})") from None
    if sep:
        try:
            f = _RunInCollection(f, _open_linked(f, "runs/" + run_id))
        except (KeyError, OSError) as err:
            f.close()
            raise ResultFileError("broken-link", f"run {run_id} of the collection is missing or its linked "
                                                 f"file is gone ({err})") from None
    try:
        version = f.attrs.get("schema_version")
        if version is None:
            raise ResultFileError("foreign", "not an aimrun result file (no schema_version attribute)")
        try:
            version = int(np.asarray(version).item())
        except (TypeError, ValueError):
            raise ResultFileError("foreign", f"schema_version {version!r} is not a number") from None
        if version > CURRENT_SCHEMA_VERSION:
            raise ResultFileError(
                "newer-schema",
                f"schema_version {version} was written by a newer aimrun; this aimresults.py reads "
                f"versions up to {CURRENT_SCHEMA_VERSION} (update scripts/aimresults.py)")
        if version not in LAYOUTS:
            raise ResultFileError("foreign", f"unknown schema_version {version}")
        status = _text(f.attrs.get("status", ""))
        if status != "complete":
            raise ResultFileError("incomplete", f"status is {status or 'missing'!r}, not 'complete'")
        if not check_content(f, path):
            warnings.warn(f"{path}: written before checksums (no {CONTENT_DIGEST_ATTR}): read without its "
                          "content check (its accuracies checked against their counts)",
                          UncheckedResultWarning, stacklevel=2)
            _check_accuracies(f, path)
        return f, LAYOUTS[version]
    except BaseException:
        f.close()
        raise


# ------------------------------------------------------------------ the content check

CONTENT_DIGEST_ATTR = "content_crc32"


class UncheckedResultWarning(UserWarning):
    """A result file written before content checksums (no content_crc32): read unchecked."""


def _sorted_names(names):
    return sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))


def _layout(tid, kind):
    """How the file lays a number or a string out (core/h5_content.cpp, layout)."""
    values = []
    if kind in "fiu":
        values += [tid.get_order(), tid.get_precision(), tid.get_offset(), *tid.get_pad()]
    if kind == "f":
        values += [*tid.get_fields(), tid.get_ebias(), tid.get_norm(), tid.get_inpad()]
    if kind == "s":
        values += [tid.get_cset(), 1 if tid.is_variable_str() else 0]
    return b"".join(struct.pack("<I", v & 0xFFFFFFFF) for v in values)


def _encode_value(feed, dtype, shape, read, tid):
    """One attribute's or dataset's value in the canonical stream: kind, element size, the
    type's layout, rank, dims (little-endian), then the elements (numbers as stored, strings
    as length + bytes)."""
    shape = () if shape is None else tuple(shape)
    if h5py.check_string_dtype(dtype) is not None:
        kind = "s"
    elif dtype.kind in "fiu":
        kind = dtype.kind
    else:
        kind = "o"
    feed(kind.encode() + struct.pack("<I", dtype.itemsize if kind in "fiu" else 0) + _layout(tid, kind)
         + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape))
    if kind == "o" or int(np.prod(shape, dtype=np.float64)) == 0:
        return
    data = read()
    if kind != "s":
        feed(np.ascontiguousarray(data).tobytes())
        return
    items = list(data.ravel()) if isinstance(data, np.ndarray) else [data]
    for item in items:
        raw = item if isinstance(item, bytes) else str(item).encode("utf-8", "surrogateescape")
        feed(struct.pack("<Q", len(raw)) + raw)


def content_crc32(group):
    """zlib's CRC-32 of everything under `group` (a result file, or a collection's
    /runs/<id>) except its own content_crc32 attribute, as aimrun computes it
    (core/h5_content.cpp; docs/hdf5-schema.md, "The content check")."""
    crc = [0]

    def feed(data):
        crc[0] = zlib.crc32(data, crc[0])

    def record(tag, name):
        feed(tag + name.encode("utf-8", "surrogateescape") + b"\0")

    def attributes(obj, path, root):
        for name in _sorted_names(obj.attrs.keys()):
            if root and name == CONTENT_DIGEST_ATTR:
                continue
            aid = obj.attrs.get_id(name)
            record(b"A", f"{path}@{name}")

            def read(aid=aid, name=name):
                if h5py.check_string_dtype(aid.dtype) is not None:
                    return obj.attrs[name]
                out = np.empty(aid.shape, dtype=aid.dtype)
                aid.read(out)
                return out
            _encode_value(feed, aid.dtype, aid.shape, read, aid.get_type())

    def walk(g, path, root, depth):
        if depth > 32:
            raise ResultFileError("damaged", f"{path}: groups nested more than 32 deep")
        attributes(g, path, root)
        for name in _sorted_names(g.keys()):
            child = f"{path}/{name}"
            obj = g.get(name)
            if isinstance(obj, h5py.Group):
                record(b"G", child)
                walk(obj, child, False, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                record(b"D", child)
                _check_shape(obj)
                _encode_value(feed, obj.dtype, obj.shape, lambda obj=obj: obj[()], obj.id.get_type())
                attributes(obj, child, False)
            elif obj is None:
                raise ResultFileError("damaged", f"{child}: cannot open")
            else:
                record(b"O", child)

    walk(group, "", True, 0)
    return crc[0]


def _repair_hint(path):
    if os.path.basename(path) == "result.h5":
        d = os.path.dirname(path) or "."
        return f"`aimrun train {d}/config.yaml --run-dir {d}` writes it anew"
    return "collect it again from its run folders (`aimrun collect`), or train the run again"


def check_content(f, path):
    """Raises ResultFileError (kind `damaged`) when the result file (or collection run) `f`
    records a content_crc32 its content does not match. Returns False for a file written
    before content checksums (nothing to check), True when checked."""
    group = f._group if isinstance(f, _RunInCollection) else f
    if CONTENT_DIGEST_ATTR not in group.attrs:
        return False
    recorded = _text(group.attrs[CONTENT_DIGEST_ATTR])
    try:
        actual = f"{content_crc32(group):08x}"
    except (OSError, KeyError, ValueError, TypeError, UnicodeError) as err:
        raise ResultFileError("damaged", f"content check failed (unreadable content: {err}): damaged result "
                                         f"file; {_repair_hint(path)}") from None
    if actual != recorded:
        raise ResultFileError("damaged", f"content check failed ({CONTENT_DIGEST_ATTR} is {recorded}, the "
                                         f"content's CRC-32 is {actual}): damaged result file; "
                                         f"{_repair_hint(path)}")
    return True


def _check_accuracies(f, path):
    """A file without content_crc32: each split's accuracy must be its correct/n, as the
    evaluation computed it (bit for bit). Missing parts are left to the readers' own checks."""
    evaluation = f.get("eval")
    if not isinstance(evaluation, h5py.Group):
        return
    for split in _sorted_names(evaluation.keys()):
        attrs = evaluation[split].attrs
        try:
            n, correct, accuracy = (np.asarray(attrs[k]).item() for k in ("n", "correct", "accuracy"))
            expected = correct / n if n else float("nan")
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OSError):
            continue
        if not isinstance(accuracy, float) or not (expected == accuracy or (np.isnan(expected) and np.isnan(accuracy))):
            raise ResultFileError("damaged", f"/eval/{split}: accuracy {accuracy!r} is not correct/n = "
                                             f"{correct}/{n}: damaged result file; {_repair_hint(path)}")


def result_path(run):
    """The result file of `run`: a result.h5 path, another .h5 path, or a run folder."""
    run = os.fspath(run)
    return os.path.join(run, "result.h5") if os.path.isdir(run) else run


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _scalar(value):
    """An HDF5 attribute as a plain Python value (numbers stay numbers)."""
    if isinstance(value, (bytes, str)):
        return _text(value)
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()


def _config_value(value):
    """A /config attribute: numbers as numbers, `true`/`false` as bool, `~` as None;
    lists stay as their YAML text (`[0.4, 0.65]`)."""
    value = _scalar(value)
    if isinstance(value, str):
        return {"true": True, "false": False, "~": None}.get(value, value)
    return value


_KEY_LINE = re.compile(r"^( *)([^\s:#][^:\n]*):(.*)$", re.M)
_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def identity_keys(identity_yaml):
    """The flattened key names of a run's identity YAML (block style, 2-space indent)."""
    keys, stack = [], []
    if _LINE_BREAKS.search(identity_yaml):  # line breaks other than \n: one line at a time
        matches = (re.match(r"^( *)([^\s:#][^:]*):(.*)$", line) for line in identity_yaml.splitlines())
    else:  # the same matches in one pass (the common case: 1000 runs in 0.1 s instead of 0.4 s)
        matches = _KEY_LINE.finditer(identity_yaml)
    for m in matches:
        if not m:
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2).strip()]
        if m.group(3).strip():
            keys.append(".".join(stack))
    return keys


# --------------------------------------------------------------------------- one run

def read_summary(path):
    """The summary rows of one result file, one dict per evaluated split (read in a child
    process: a damaged file cannot crash the caller)."""
    return _isolated(_read_summary, path)


def _read_summary(path):
    f, layout = open_result(path)
    with f:
        try:
            return _summary_rows(f, layout, path)
        except (KeyError, ValueError) as err:
            raise ResultFileError("incomplete", f"missing or malformed part ({err})") from None
        except OSError as err:
            raise ResultFileError("corrupt", f"unreadable data ({err})") from None


def _summary_rows(f, layout, path):
    attrs = f.attrs
    config_attrs = f[layout.config].attrs
    config = {k: _config_value(config_attrs[k]) for k in list(config_attrs.keys())}
    if not isinstance(attrs["run_id"], (str, bytes)):
        raise ValueError(f"run_id {attrs['run_id']!r} is not a string")
    base = {
        "run_id": _text(attrs["run_id"]),
        "path": path,
        "status": _text(attrs["status"]),
        "schema_version": int(attrs["schema_version"]),
    }
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}", base["run_id"]):
        raise ValueError(f"run_id {base['run_id']!r} is not a run id")
    for name in list(attrs.keys()):
        if name not in ROOT_NOT_COLUMNS and name not in config:
            base[name] = _scalar(attrs[name])
    base["identity_keys"] = " ".join(identity_keys(_text(_attr(attrs, "identity_yaml", ""))))
    rows = []
    evaluation = f[layout.evaluation]
    for split in sorted(evaluation.keys()):
        group = evaluation[split]
        row = dict(base, split=split)
        row.update(_split_metrics(group, layout))
        samples = group[layout.samples]
        for name in list(samples.keys()):  # every per-sample array: n entries (shapes only)
            _check_shape(samples[name], row["n"])
        row.update(config)
        rows.append(row)
    if not rows:
        raise KeyError(f"no evaluated split under /{layout.evaluation}")
    return rows


def _split_metrics(group, layout):
    attrs = group.attrs
    metrics = {name: _scalar(attrs[name]) for name in SPLIT_COLUMNS}
    for name in ("accuracy", "worst_group_accuracy", "loss", "n", "correct"):
        if not isinstance(metrics[name], (int, float)):
            raise ValueError(f"{group.name}: {name} is {metrics[name]!r}, not a number")
    for name in list(attrs.keys()):
        if name in SPLIT_COLUMNS:
            continue
        metrics[_metric_name(name, layout)] = _scalar(attrs[name])
    return metrics


def _metric_name(name, layout):
    """`epg_gradcam` -> `epg.gradcam`; other names unchanged."""
    if name.startswith(layout.epg_prefix):
        return "epg." + name[len(layout.epg_prefix):]
    return name


def _load_samples(run, split="test"):
    """Per-sample arrays of one run's split, one row per sample in dataset order: index,
    label, pred, correct, group, group_name, confidence, epg.<method>, mask_area, ..."""
    path = result_path(run)
    f, layout = open_result(path)
    with f:
        group = f[f"{layout.evaluation}/{split}"]
        samples = group[layout.samples]
        n = int(np.asarray(group.attrs["n"]).item())
        columns = {"index": np.arange(n)}
        for name in ("label", "pred", "group"):
            columns[name] = _checked_read(samples[name], n)
        columns["correct"] = columns["pred"] == columns["label"]
        if layout.groups in group:
            names = np.asarray(group[layout.groups]["name"].asstr()[()], dtype=object)
            columns["group_name"] = names[columns["group"]]
        for name in sorted(samples.keys()):
            data = samples[name]
            if name not in columns and isinstance(data, h5py.Dataset):
                columns[_metric_name(name, layout)] = _checked_read(data, n)
    return pd.DataFrame(columns)


def _load_groups(run, split="test"):
    """Per-group counts of one run's split: name, count, correct, accuracy."""
    path = result_path(run)
    f, layout = open_result(path)
    with f:
        g = f[f"{layout.evaluation}/{split}/{layout.groups}"]
        names = g["name"].asstr()[()]
        return pd.DataFrame({"name": names, "count": _checked_read(g["count"], len(names)),
                             "correct": _checked_read(g["correct"], len(names)),
                             "accuracy": _checked_read(g["accuracy"], len(names))})


def _load_curves(run):
    """Per-epoch curves of one run, one row per epoch: epoch, train_loss, loss_<part>,
    train_accuracy, lr, ..., and the evaluations during training as <split>_accuracy,
    <split>_worst_group_accuracy, <split>_loss (NaN in epochs without an evaluation)."""
    path = result_path(run)
    f, layout = open_result(path)
    with f:
        curves = f[layout.curves]
        epochs = curves["epoch"].shape[0] if "epoch" in curves else None
        table = pd.DataFrame({name: _checked_read(curves[name], epochs) for name in curves.keys()
                              if isinstance(curves[name], h5py.Dataset)})
        if "epoch" not in table:
            table["epoch"] = pd.Series(dtype="int64")
        for split, g in sorted(f[layout.eval_curves].items()) if layout.eval_curves in f else []:
            rows = g["epoch"].shape[0]
            ev = pd.DataFrame({f"{split}_{k}" if k != "epoch" else "epoch": _checked_read(g[k], rows) for k in g})
            table = table.merge(ev, on="epoch", how="left")
    return table[["epoch"] + [c for c in table.columns if c != "epoch"]]


def _load_mask_curves(run):
    """Mask statistics of a masking run, one row per stage and epoch: stage, epoch,
    active_mean, active_std, target (the annealed target area). Empty for vanilla runs."""
    path = result_path(run)
    f, layout = open_result(path)
    columns = ["stage", "epoch", "active_mean", "active_std", "target"]
    with f:
        if layout.mask_curves not in f:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("stage", "epoch") else "float64")
                                 for c in columns})
        epochs = _checked_read(f[layout.curves]["epoch"])
        parts = []
        masks = f[layout.mask_curves]
        for name in masks.keys():
            g = masks[name]
            parts.append(pd.DataFrame({
                "stage": int(name.rsplit("_", 1)[1]), "epoch": epochs,
                "active_mean": _checked_read(g["active_mean"], len(epochs)),
                "active_std": _checked_read(g["active_std"], len(epochs)),
                "target": _checked_read(g["target"], len(epochs))}))
    return pd.concat(parts, ignore_index=True).sort_values(["stage", "epoch"], ignore_index=True)


def load_samples(run, split="test"):
    """Per-sample arrays of one run's split, one row per sample in dataset order: index,
    label, pred, correct, group, group_name, confidence, epg.<method>, mask_area, ...
    (Every load_* reads in a child process: a damaged file raises ResultFileError.)"""
    return _isolated(_load_samples, run, split)


def load_groups(run, split="test"):
    """Per-group counts of one run's split: name, count, correct, accuracy."""
    return _isolated(_load_groups, run, split)


def load_curves(run):
    """Per-epoch curves of one run, one row per epoch: epoch, train_loss, loss_<part>,
    train_accuracy, lr, ..., and the evaluations during training as <split>_accuracy,
    <split>_worst_group_accuracy, <split>_loss (NaN in epochs without an evaluation)."""
    return _isolated(_load_curves, run)


def load_mask_curves(run):
    """Mask statistics of a masking run, one row per stage and epoch: stage, epoch,
    active_mean, active_std, target (the annealed target area). Empty for vanilla runs."""
    return _isolated(_load_mask_curves, run)


def _load_maps(run, split="test", count=4):
    """The first `count` kept maps of one run's split (eval.keep_maps): a dict of numpy
    arrays, `index` [K] (positions in the split), `images` [K,3,H,W] uint8, `region` [K,H,W]
    and one [K,h,w] array per attribution method and mask (`mask`, `mask_stage_<l>`, `gradcam`,
    ...). Empty when the run kept none."""
    path = result_path(run)
    f, layout = open_result(path)
    with f:
        group = f[f"{layout.evaluation}/{split}"]
        if "maps" not in group:
            return {}
        maps = group["maps"]
        k = min(count, maps["index"].shape[0]) if "index" in maps else 0
        return {name: np.asarray(maps[name][:k]) for name in maps.keys()
                if isinstance(maps[name], h5py.Dataset) and maps[name].shape[:1] == maps["index"].shape}


def load_maps(run, split="test", count=4):
    """The first `count` kept maps of one run's split as numpy arrays (see _load_maps); read
    in a child process like every load_*."""
    return _isolated(_load_maps, run, split, count)


# --------------------------------------------------------------------------- summary.json

# A run folder's summary.json (written by aimrun right after result.h5, or by `aimrun
# summarize DIR` for older runs) holds what the run table needs from result.h5: a valid one
# is read instead of result.h5 (no child process, no HDF5). Its bytes are PREFIX + BODY +
# "}\n", PREFIX naming the format, its version and zlib.crc32 of BODY (docs/results-python.md).
SUMMARY_NAME = "summary.json"
SUMMARY_VERSION = 1
_SUMMARY_PREFIX = re.compile(rb'\{"format": "aimrun-run-summary", "version": ([0-9]+), '
                             rb'"crc32": "([0-9a-f]{8})", "body": ')


class SummaryFallbackWarning(UserWarning):
    """Runs read from result.h5 because their summary.json is missing or invalid."""


class _BadSummary(Exception):
    """A summary.json that must not be trusted; the message is the cause."""


class _ResultMismatch(_BadSummary):
    """A whole summary.json (its checksum holds) bound to another result.h5: result.h5 was
    damaged or replaced after the run finished, so neither is read as the run's (as aimrun:
    the run is unreadable, docs/hdf5-schema.md)."""


def _crc32_of_file(path):
    crc = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                return crc
            crc = zlib.crc32(chunk, crc)


def _summary_body(run_dir, result_file):
    """The checked body of run_dir/summary.json, bound to `result_file`. Returns None when
    there is none; raises _BadSummary naming the cause when it fails any check."""
    try:
        with open(os.path.join(run_dir, SUMMARY_NAME), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _BadSummary(f"unreadable ({err.strerror})") from None
    m = _SUMMARY_PREFIX.match(data)
    if not m:
        raise _BadSummary("not a summary (its first bytes are not the summary header)")
    if int(m.group(1)) != SUMMARY_VERSION:
        raise _BadSummary(f"summary format version {int(m.group(1))}; this aimresults.py reads "
                          f"version {SUMMARY_VERSION}")
    if not data.endswith(b"}\n"):
        raise _BadSummary("truncated (no closing brace)")
    body_bytes = data[m.end():-2]
    if zlib.crc32(body_bytes) != int(m.group(2), 16):
        raise _BadSummary("crc mismatch (the body is not what was written)")
    try:
        body = json.loads(body_bytes)
    except ValueError as err:
        raise _BadSummary(f"body is not JSON ({err})") from None
    if not isinstance(body, dict):
        raise _BadSummary("body is not a JSON object")
    folder_id = os.path.basename(os.path.realpath(run_dir))
    # A folder named by a run id holds that run; one of another name (train --run-dir) the
    # run its summary and result.h5, bound together, say.
    if _RUN_ID.fullmatch(folder_id) and body.get("run_id") != folder_id:
        raise _BadSummary(f"run_id {body.get('run_id')!r} is not the folder's run id {folder_id!r}")
    if not os.path.isfile(os.path.join(run_dir, "config.yaml")):
        raise _BadSummary("the run folder has no config.yaml")
    try:
        bound = body["result"]
        size, mtime_ns, crc = int(bound["size"]), int(bound["mtime_ns"]), str(bound["crc32"])
    except (KeyError, TypeError, ValueError):
        raise _BadSummary("malformed body (no result size, mtime_ns and crc32)") from None
    try:
        st = os.stat(result_file)
    except OSError as err:
        raise _BadSummary(f"result.h5 cannot be read ({err.strerror})") from None
    if st.st_size != size:
        raise _ResultMismatch(f"result.h5 changed after the summary (size {st.st_size}, the summary's {size})")
    if st.st_mtime_ns != mtime_ns:
        try:
            same = f"{_crc32_of_file(result_file):08x}" == crc
        except OSError as err:
            raise _BadSummary(f"result.h5 cannot be read ({err.strerror})") from None
        if not same:
            raise _ResultMismatch("result.h5 changed after the summary (other bytes, other mtime)")
    return body


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _summary_file_rows(body, path):
    """The rows _summary_rows gives for the result file `path`, from its summary's body."""
    try:
        return _summary_file_rows_unchecked(body, path)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise _BadSummary(f"malformed body ({type(err).__name__}: {err})") from None


def _summary_file_rows_unchecked(body, path):
    version = body["schema_version"]
    if not _is_number(version) or int(version) not in LAYOUTS or int(version) > CURRENT_SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r} is not one this module reads")
    layout = LAYOUTS[int(version)]
    if body["status"] != "complete":
        raise ValueError(f"status {body['status']!r}")
    config = {}
    for k in sorted(body["config"]):  # HDF5 lists attributes by name, as h5py iterates them
        v = body["config"][k]
        if not (_is_number(v) or isinstance(v, str)):
            raise ValueError(f"config {k} is {v!r}")
        config[k] = _config_value(v)
    text, numbers = body["text"], body["numbers"]
    if any(not isinstance(v, str) for v in text.values()) or any(not _is_number(v) for v in numbers.values()):
        raise ValueError("text or numbers hold other types")
    run_id = body["run_id"]
    if not isinstance(run_id, str) or not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}", run_id):
        raise ValueError(f"run_id {run_id!r} is not a run id")
    base = {"run_id": run_id, "path": path, "status": "complete", "schema_version": int(version)}
    root = dict(text, **numbers)
    for name in sorted(root):
        if name not in ROOT_NOT_COLUMNS and name not in config:
            base[name] = root[name]
    base["identity_keys"] = " ".join(identity_keys(text.get("identity_yaml", "")))
    rows = []
    for split in sorted(body["splits"], key=lambda s: s["split"]):
        if not isinstance(split["split"], str):
            raise ValueError("a split without a name")
        row = dict(base, split=split["split"])
        metrics = {name: split[name] for name in SPLIT_COLUMNS}
        for name in SPLIT_COLUMNS:
            if not _is_number(metrics[name]):
                raise ValueError(f"{split['split']}: {name} is {metrics[name]!r}, not a number")
        scalars = split["scalars"]
        for name in sorted(scalars):
            if name in SPLIT_COLUMNS:
                continue
            if not (_is_number(scalars[name]) or isinstance(scalars[name], str)):
                raise ValueError(f"{split['split']}: {name} is {scalars[name]!r}")
            metrics[_metric_name(name, layout)] = scalars[name]
        row.update(metrics)
        row.update(config)
        rows.append(row)
    if not rows:
        raise ValueError("no evaluated split")
    return rows


def summary_rows(run):
    """The run-table rows of one run folder (or its result.h5) from its summary.json, as
    read_summary gives them from result.h5; None when the folder has no valid summary."""
    path = result_path(run)
    try:
        body = _summary_body(os.path.dirname(path) or ".", path)
        return None if body is None else _summary_file_rows(body, path)
    except _BadSummary:
        return None


def _summary_or_cause(path):
    """(rows, None) from a valid summary of result file `path`, or (None, cause): cause is
    None for a folder without summary.json, else why the summary was refused."""
    try:
        body = _summary_body(os.path.dirname(path) or ".", path)
        if body is None:
            return None, None
        return _summary_file_rows(body, path), None
    except _BadSummary as err:
        return None, err


def _fallback_message(fallbacks, folder):
    """One warning for every run read from result.h5 for want of a valid summary."""
    damaged = [(p, cause) for p, cause in fallbacks if cause is not None]
    missing = len(fallbacks) - len(damaged)
    parts = []
    if damaged:
        shown = "; ".join(f"{os.path.dirname(p)}: {cause}" for p, cause in damaged[:20])
        more = f"; and {len(damaged) - 20} more" if len(damaged) > 20 else ""
        parts.append(f"{len(damaged)} damaged: {shown}{more}")
    if missing:
        parts.append(f"{missing} missing, written before summaries")
    n = len(fallbacks)
    return (f"{n} run{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} no valid summary.json "
            f"({'; '.join(parts)}): read from result.h5 (slower); `aimrun summarize {folder}` writes them")


# --------------------------------------------------------------------------- folders

def _lock_held(lock_path):
    """True when another process holds the run's .lock (it is training right now)."""
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _unfinished_run(run_dir):
    """A Problem describing a run folder that has no result.h5 yet, in aimrun's order
    (results/run_folder.h): the lock before FAILED, as a run trained again after a failure
    holds the lock while its old FAILED is still there."""
    if _lock_held(os.path.join(run_dir, ".lock")):
        return Problem(run_dir, "running", "being trained now")
    failed = os.path.join(run_dir, "FAILED")
    if os.path.exists(failed):
        with open(failed, errors="replace") as fh:
            first = (fh.read().strip().splitlines() or ["(empty FAILED file)"])[0]
        return Problem(run_dir, "failed", first)
    if os.path.exists(os.path.join(run_dir, "checkpoint.pt")):
        return Problem(run_dir, "pending", "incomplete (has a checkpoint)")
    return Problem(run_dir, "pending", "not started")


_RUN_ID = re.compile(r"[0-9a-f]{12}")


def _other_runs_result(path, first):
    """Why a run folder's result.h5 is another run's ("" when it is its own): a folder named
    by a run id (<out>/runs/<id>, a sweep's link to it) holds that run's result only, as
    aimrun's results/run_folder.h decides."""
    if os.path.basename(path) != "result.h5":
        return ""
    run_dir = os.path.dirname(path)
    folder_id = os.path.basename(os.path.realpath(run_dir))
    if not _RUN_ID.fullmatch(folder_id) or first.get("run_id") == folder_id:
        return ""
    return (f"result.h5 holds the result of run {first.get('run_id')}, not of run {folder_id} (another run's "
            f"file was put in {run_dir}); `aimrun train {run_dir}/config.yaml --run-dir {run_dir}` writes it anew")


def find_results(folder):
    """Walks `folder` (following links, each real folder once) for result files.

    Returns (paths, problems): the result files to read, in sorted walk order, and the run
    folders without a result (pending, running, failed) and broken links.
    """
    paths, problems, _, _ = _find_results(folder)
    return paths, problems


def _find_results(folder):
    """find_results, and what the run folders' summary.json files gave: (paths, problems,
    {path: rows} of the result.h5 files with a valid summary, [(path, cause)] of the others:
    cause None when there is no summary.json). A result.h5 with a valid summary is not
    opened at all."""
    folder = os.fspath(folder)
    summaries, fallbacks = {}, []
    if not os.path.isdir(folder):
        if os.path.isfile(folder):
            try:
                expanded, left_out = _isolated(_expand_with_left_out, folder)
                return expanded, left_out, summaries, fallbacks
            except ResultFileError:
                return [folder], [], summaries, fallbacks
        return [], [Problem(folder, "missing", "no such folder")], summaries, fallbacks
    paths, problems = [], []
    seen_dirs, seen_files = set(), set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames.sort()
        if "result.h5" in filenames:
            candidates = ["result.h5"]
        elif "config.yaml" in filenames:
            problems.append(_unfinished_run(dirpath))
            candidates = []
        else:
            candidates = []
        candidates += [n for n in sorted(filenames)
                       if n.endswith(".h5") and n != "result.h5" and not n.startswith(".")]
        for name in candidates:
            path = os.path.join(dirpath, name)
            if not os.path.exists(path):
                problems.append(Problem(path, "broken-link", "link target does not exist"))
                continue
            if os.path.realpath(path) not in seen_files:
                seen_files.add(os.path.realpath(path))
                if name == "result.h5" and ("config.yaml" in filenames or SUMMARY_NAME in filenames):
                    rows, cause = _summary_or_cause(path)
                    if rows is not None:
                        summaries[path] = rows
                        paths.append(path)
                        continue
                    if isinstance(cause, _ResultMismatch):
                        problems.append(Problem(path, "unreadable", (
                            f"result.h5 and summary.json disagree: one was damaged or replaced after "
                            f"the run finished ({cause}); `aimrun train {dirpath}/config.yaml --run-dir "
                            f"{dirpath}` writes both anew")))
                        continue
                    fallbacks.append((path, str(cause) if cause is not None else None))
                try:
                    expanded, left_out = _isolated(_expand_with_left_out, path)
                    paths.extend(expanded)
                    problems.extend(left_out)
                except ResultFileError:
                    paths.append(path)  # read_summary names it with the reason
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) and not os.path.exists(path) and not name.endswith(".h5"):
                problems.append(Problem(path, "broken-link", "link target does not exist"))
    return paths, problems, summaries, fallbacks


def load(folder, problems=None, include_evaluations=False):
    """Every usable run under `folder` as a DataFrame, one row per run and evaluated split.

    Columns: run_id, path, split, status, schema_version, accuracy, worst_group_accuracy,
    loss, n, correct, epg.<method>, mask_* (masking runs), the other root attributes (method,
    dataset, backbone, aimrun_version, host, train_seconds, ...), identity_keys (the keys
    that define the run, space-separated) and every configuration key (`dataset.name`,
    `method.name`, `seed`, `train.lr`, ...).

    Skipped files and run folders are appended to `problems` (a list) when given, otherwise
    each becomes a Python warning. `aimrun evaluate` files (attribute evaluated_from) re-
    evaluate a run that is already counted; they are skipped unless include_evaluations.

    A run folder's valid summary.json is read instead of its result.h5 (the same rows, much
    faster); runs without one, or whose summary fails a check (damaged, of another run, older
    than result.h5), are read from result.h5 as before and named in one
    SummaryFallbackWarning per call.
    """
    paths, found, summaries, fallbacks = _find_results(folder)
    if fallbacks:
        warnings.warn(_fallback_message(fallbacks, os.fspath(folder)), SummaryFallbackWarning, stacklevel=2)
    rows, seen_runs = [], {}
    for path in paths:
        try:
            file_rows = summaries[path] if path in summaries else read_summary(path)
        except ResultFileError as err:
            found.append(Problem(path, err.kind, str(err)))
            continue
        first = file_rows[0]
        other = _other_runs_result(path, first)
        if other:
            found.append(Problem(path, "unreadable", other))
            continue
        if "evaluated_from" in first and not include_evaluations:
            found.append(Problem(path, "evaluation",
                                 f"re-evaluation of run {first['run_id']}, not counted "
                                 "(load(..., include_evaluations=True) to add it)"))
            continue
        key = (first["run_id"], "evaluated_from" in first)
        if key in seen_runs:
            found.append(Problem(path, "duplicate",
                                 f"run {first['run_id']} already read from {seen_runs[key]}"))
            continue
        seen_runs[key] = path
        rows.extend(file_rows)
    _report(found, problems)
    return _flag_nonfinite(_order_columns(pd.DataFrame(rows)))


class NonFiniteRunWarning(UserWarning):
    """Runs whose weights or training loss went NaN or inf (trained with
    train.stop_on_nan: false): their numbers are not those of a trained model."""


def _flag_nonfinite(df):
    """Column `nonfinite` (bool): the run's result records weight values that are NaN or inf
    (`nonfinite_weights`) or epochs whose training loss was (`nonfinite_loss_epochs`); files
    written before aimrun recorded them read as finite. One NonFiniteRunWarning names them."""
    if df.empty:
        return df
    counts = [df[c].fillna(0) if c in df.columns else pd.Series(0, index=df.index)
              for c in ("nonfinite_weights", "nonfinite_loss_epochs")]
    df["nonfinite"] = (counts[0] > 0) | (counts[1] > 0)
    flagged = sorted(df.loc[df["nonfinite"], "run_id"].unique())
    if flagged:
        warnings.warn(f"{len(flagged)} runs went non-finite (weights or training loss NaN or inf, "
                      f"trained with train.stop_on_nan: false; column `nonfinite`): "
                      + ", ".join(flagged), NonFiniteRunWarning, stacklevel=3)
    return df


def _report(found, problems):
    """Hands the skipped files to the caller's list, or else warns once, listing them all."""
    if problems is not None:
        problems.extend(found)
    elif found:
        warnings.warn(f"skipped {len(found)} files or run folders ({summarize(found)}):\n  "
                      + "\n  ".join(map(str, found)), stacklevel=3)


def summarize(problems):
    """`13 pending, 1 running, 1 truncated`: how many problems of each kind."""
    counts = {}
    for p in problems:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _order_columns(df):
    """Run and metric columns first, then metadata, then the configuration keys."""
    if df.empty:
        return df
    first = ["run_id", "split", "method.name", "seed", "accuracy", "worst_group_accuracy"]
    first += sorted(c for c in df.columns if c.startswith("epg."))
    first += [c for c in ("mask_area", "n", "correct", "loss", "status", "schema_version", "path")
              if c in df.columns]
    first = [c for c in first if c in df.columns]
    rest = [c for c in df.columns if c not in first]
    config = sorted(c for c in rest if "." in c or c in ("name", "device", "threads", "output_dir",
                                                          "log_level"))
    other = [c for c in rest if c not in config]
    return df[first + other + config]


def varying_keys(df, ignore=("seed",)):
    """Identity keys whose values differ between runs (only runs whose identity includes
    the key count, as in `aimrun report`): the settings that tell run groups apart."""
    out = []
    if "identity_keys" not in df:
        return out
    sets = {ks: set(ks.split()) for ks in df["identity_keys"].unique()}  # few distinct lists
    keys = sorted(set().union(*sets.values())) if sets else []
    for key in keys:
        if key in ignore or key not in df.columns:
            continue
        has = df["identity_keys"].isin([ks for ks, s in sets.items() if key in s])
        if df.loc[has, key].astype(str).nunique() > 1:
            out.append(key)
    return out


def group_labels(df, keys=None):
    """A readable label per row from the varying keys, e.g. `aim, correlation=0.95`."""
    keys = varying_keys(df) if keys is None else keys

    def label(row):
        has = row.get("identity_keys", "").split()
        parts = []
        for k in keys:
            if k not in has:
                continue
            parts.append(str(row[k]) if k == "method.name" else f"{k.rsplit('.', 1)[-1]}={row[k]}")
        return ", ".join(parts) or str(row.get("method.name", "all"))

    return df.apply(label, axis=1) if not df.empty else pd.Series(dtype=str)


def collect(df, loader):
    """`loader` (load_curves, load_mask_curves, ...) for every run in `df`, concatenated,
    with run_id, method.name, seed and group (group_labels) in front."""
    runs = df.drop_duplicates("run_id").copy()
    runs["group"] = group_labels(runs)
    parts = []
    for _, run in runs.iterrows():
        table = loader(run["path"])
        if table.empty:
            continue
        for col in ("group", "seed", "method.name", "run_id"):
            table.insert(0, col, run.get(col))
        parts.append(table)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def where(df, conditions):
    """`aimrun report --where`: the rows whose config has every key=value (a dict, or
    "key=value" strings); numbers compare as numbers; an unknown key raises KeyError."""
    return _aimstats().where(df, conditions)


def compare(df, baseline="vanilla", metrics=None, group_by=None, split="test"):
    """`aimrun report`'s differences from the baseline as a DataFrame, one row per group
    and metric (in points): the group's settings, method, baseline, metric, difference,
    ci_low, ci_high (95%, t distribution), p, n, n_baseline, test (paired by seed, or welch),
    df. Groups as in `aimrun report` (or by `group_by`, a list of keys)."""
    return _aimstats().compare(df, baseline, metrics, group_by, varying_keys(df), split)


def summarize_groups(df, group_by=None, split="test"):
    """Mean, std and count per group of the report's metrics (in the DataFrame's units)."""
    df = df[df.split == split]
    keys = _aimstats().group_keys(df, group_by, varying_keys(df))
    labels = _aimstats()._group_values(df, keys).fillna("-")
    metrics = _aimstats().metric_columns(df)
    return df[metrics].groupby([labels[k] for k in keys]).agg(["mean", "std", "count"])


# --------------------------------------------------------------------------- command

def _summary_table(df):
    keys = [k for k in varying_keys(df) if k != "method.name"]
    cols = ["run_id", "split", "method.name", "seed"] + keys + ["accuracy", "worst_group_accuracy"]
    cols += sorted(c for c in df.columns if c.startswith("epg.")) + ["mask_area", "n"]
    if "nonfinite" in df.columns and df["nonfinite"].any():
        cols.append("nonfinite")
    return df[[c for c in cols if c in df.columns]]


def write_atomically(path, data):
    """`data` (str or bytes) into `path`: a temporary name in its folder, fsync, rename; on
    any error the temporary file is removed and OSError names `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    except OSError as e:
        raise OSError(e.errno, e.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise OSError(e.errno, e.strerror, path) from None
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="results folder (e.g. outputs/quickstart or outputs)")
    parser.add_argument("--csv", help="write the whole table (every column) to this CSV file")
    parser.add_argument("--split", help="only this split (e.g. test)")
    parser.add_argument("--include-evaluations", action="store_true",
                        help="also count `aimrun evaluate` files")
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                        help="only runs whose config has this value (repeatable), as aimrun report")
    parser.add_argument("--group-by", metavar="KEY,...",
                        help="print mean/std/count per group of these keys instead of one line per run")
    parser.add_argument("--baseline", metavar="METHOD",
                        help="also print each method's differences from this method (aimrun report's)")
    args = parser.parse_args(argv)
    if args.csv:  # a path that cannot be written is an error before any run is read
        folder = os.path.dirname(os.path.abspath(args.csv))
        why = ("is a folder (a file name is expected)" if os.path.isdir(args.csv)
               else f"the folder {folder} does not exist" if not os.path.isdir(folder) else None)
        if why:
            print(f"aimresults: --csv {args.csv}: {why}", file=sys.stderr)
            return 2
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SummaryFallbackWarning)
        warnings.simplefilter("always", NonFiniteRunWarning)
        df = load(args.folder, problems, include_evaluations=args.include_evaluations)
    for w in caught:
        if issubclass(w.category, (SummaryFallbackWarning, NonFiniteRunWarning)):
            print(f"aimresults: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    group_by = [k.strip() for k in args.group_by.split(",") if k.strip()] if args.group_by else None
    try:
        if args.where and not df.empty:
            df = where(df, args.where)
        if group_by and not df.empty:
            _aimstats().group_keys(df, group_by)
    except (KeyError, ValueError) as err:
        print(f"aimresults: {err.args[0]}", file=sys.stderr)
        return 2
    if args.split and not df.empty:
        df = df[df.split == args.split]
    if df.empty:
        print(f"no complete runs under {args.folder}" + (" match --where" if args.where else ""))
    else:
        with pd.option_context("display.max_rows", 500, "display.width", 200,
                               "display.float_format", "{:.4f}".format):
            if group_by:
                print(summarize_groups(df, group_by, args.split or "test").to_string())
            else:
                print(_summary_table(df).to_string(index=False))
            if args.baseline:
                print()
                print(compare(df, args.baseline, group_by=group_by, split=args.split or "test")
                      .to_string(index=False))
        print(f"\n{df.run_id.nunique()} runs, {len(df)} rows, {len(df.columns)} columns")
    if args.csv:
        try:  # a full disk: the file named, nothing half-written, no traceback
            write_atomically(args.csv, df.to_csv(index=False))
        except OSError as err:
            print(f"aimresults.py: {err.filename}: {err.strerror}", file=sys.stderr)
            return 1
        print(f"wrote {args.csv}")
    for p in problems:
        print(f"skipped {p}", file=sys.stderr)
    if problems:
        print(f"skipped {len(problems)} ({summarize(problems)})", file=sys.stderr)
    return 3 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
