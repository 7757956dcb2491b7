#!/usr/bin/python3
"""Big folders of runs for the tests and benchmarks of issue 33: N copies of real runs.

    /usr/bin/python3 bench/sweep_copies.py SRC DST N [--damaged K] [--aimrun PATH] [--seed S]

Every complete run folder under SRC (a folder with config.yaml and result.h5, e.g. a small
real sweep) is copied round-robin into DST/runs/<new-id>/ until there are N copies. Each copy
is its own run: a new seed (100 + its number, so every group gets distinct seeds) and a new
run id (12 hex digits from a hash of its source and number), written into result.h5's
run_id, seed, config_yaml and identity_yaml attributes, /config's seed and config.yaml.
Large files that need no edit (checkpoint.pt, pictures/*.png) are hard links to the source
(copies where links cannot be made), so 1000 copies take seconds and little disk.

--damaged K damages K of the copies (chosen with --seed), one kind after another:
truncated (result.h5 cut to a third), flipped (64 bytes of result.h5 inverted),
missing-result (result.h5 deleted: a pending run), empty-result, summary-flipped and
summary-truncated (the summary.json aimrun summarize wrote; without summaries these two
flip result.h5 instead).

--aimrun PATH: when that aimrun has the `summarize` command, it is run on DST after the
copies are made (and before the summary damage), so the copies have valid summary.json
files; otherwise they have none (as runs written before summaries). --patch-summaries gives
each copy its source's summary.json as aimrun wrote it, with the copy's run id, seed and
result.h5 (size, mtime, crc32): the same summaries in a second instead of minutes.
--python-summaries
writes them with the tests' stand-in writer (tests/python/summary_writer.py) instead, for an
aimrun without `summarize`.

Writes DST/sweep_copies.json: every copy's run id, folder, source, seed and damage.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import zlib

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import aimresults  # noqa: E402  (the content check, recorded anew after an edit)

RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
DAMAGES = ["truncated", "flipped", "missing-result", "empty-result", "summary-flipped", "summary-truncated"]
SKIP = {".lock", "summary.json"}  # a lock of its own; summaries are written again for the copy


def source_runs(src):
    """The complete run folders under src, sorted (links followed, each real folder once)."""
    out, seen = [], set()
    for dirpath, dirnames, filenames in os.walk(src, followlinks=True):
        dirnames.sort()
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        if "result.h5" in filenames and "config.yaml" in filenames:
            dirnames[:] = []
            try:  # only runs aimrun finished (a damaged source would make damaged copies)
                with h5py.File(os.path.join(real, "result.h5"), "r") as f:
                    if _text(f.attrs.get("status", "")) != "complete":
                        continue
            except OSError:
                continue
            out.append(real)
    return out


def link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_tree(src, dst):
    """src's files into dst: hard links, except config.yaml and result.h5 (real copies, edited
    next) and the files in SKIP."""
    os.makedirs(dst)
    for entry in os.scandir(src):
        if entry.name in SKIP or entry.name.startswith(".result.h5"):
            continue
        target = os.path.join(dst, entry.name)
        if entry.is_dir(follow_symlinks=True):
            copy_tree(entry.path, target)
        elif entry.name in ("config.yaml", "result.h5"):
            shutil.copyfile(entry.path, target)
        else:
            link_or_copy(entry.path, target)


def set_seed_line(text, seed):
    """The YAML text with its top-level `seed:` set (added when absent)."""
    new, n = re.subn(r"(?m)^seed:.*$", f"seed: {seed}", text)
    return new if n else text.rstrip("\n") + f"\nseed: {seed}\n"


def _text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def edit_copy(folder, run_id, seed):
    """A copied run folder made into run `run_id` with `seed`."""
    config = os.path.join(folder, "config.yaml")
    with open(config, encoding="utf-8") as fh:
        text = fh.read()
    with open(config, "w", encoding="utf-8") as fh:
        fh.write(set_seed_line(text, seed))
    with h5py.File(os.path.join(folder, "result.h5"), "r+") as f:
        f.attrs["run_id"] = run_id
        if "seed" in f.attrs:
            f.attrs["seed"] = np.float64(seed)
        for name in ("config_yaml", "identity_yaml"):
            if name in f.attrs:
                f.attrs[name] = set_seed_line(_text(f.attrs[name]), seed)
        if "config" in f and "seed" in f["config"].attrs:
            f["config"].attrs["seed"] = np.int64(seed)
        # The edits change the file's content: its own check is recorded anew, as aimrun
        # would have written it for this run (a file written before checksums has none).
        if aimresults.CONTENT_DIGEST_ATTR in f.attrs:
            f.attrs[aimresults.CONTENT_DIGEST_ATTR] = f"{aimresults.content_crc32(f):08x}"


SUMMARY_PREFIX = re.compile(rb'\{"format": "aimrun-run-summary", "version": 1, "crc32": "([0-9a-f]{8})", "body": ')


def source_summary(folder):
    """The body of a run folder's summary.json when its header and crc32 are right, else None."""
    try:
        with open(os.path.join(folder, "summary.json"), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    m = SUMMARY_PREFIX.match(data)
    if not m or not data.endswith(b"}\n") or zlib.crc32(data[m.end():-2]) != int(m.group(1), 16):
        return None
    return json.loads(data[m.end():-2])


def write_patched_summary(folder, body, run_id, seed):
    """The source's summary (as aimrun wrote it) made the copy's: its run id and seed, bound
    to the copy's result.h5 (size, mtime, crc32), written to a temporary name and renamed."""
    body = json.loads(json.dumps(body))
    body["run_id"] = run_id
    if "seed" in body.get("numbers", {}):
        body["numbers"]["seed"] = float(seed)
    if "seed" in body.get("config", {}):
        body["config"]["seed"] = int(seed)
    if "identity_yaml" in body.get("text", {}):
        body["text"]["identity_yaml"] = set_seed_line(body["text"]["identity_yaml"], seed)
    if "config_yaml" in body:
        body["config_yaml"] = set_seed_line(body["config_yaml"], seed)
    result = os.path.join(folder, "result.h5")
    st = os.stat(result)
    with open(result, "rb") as fh:
        crc = zlib.crc32(fh.read())
    body["result"] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "crc32": f"{crc:08x}"}
    raw = json.dumps(body).encode()
    data = (b'{"format": "aimrun-run-summary", "version": 1, "crc32": "%08x", "body": ' % zlib.crc32(raw)
            + raw + b"}\n")
    tmp = os.path.join(folder, ".summary.json.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, "summary.json"))


def flip(path, count=64, at=0.5):
    size = os.path.getsize(path)
    start = max(0, min(size - count, int(size * at)))
    with open(path, "r+b") as fh:
        fh.seek(start)
        data = bytes(b ^ 0xFF for b in fh.read(count))
        fh.seek(start)
        fh.write(data)


def truncate(path, fraction=1 / 3):
    with open(path, "r+b") as fh:
        fh.truncate(int(os.path.getsize(path) * fraction))


def damage_result(folder, kind):
    result = os.path.join(folder, "result.h5")
    if kind == "truncated":
        truncate(result)
    elif kind == "flipped":
        flip(result)
    elif kind == "missing-result":
        os.unlink(result)
    elif kind == "empty-result":
        truncate(result, 0)


def has_summarize(aimrun):
    if not aimrun or not os.access(aimrun, os.X_OK):
        return False
    proc = subprocess.run([aimrun, "summarize", "--help"], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


def make_copies(src, dst, n, damaged=0, aimrun=None, seed=0, python_summaries=False, patch_summaries=False,
                log=print):
    runs = source_runs(src)
    if not runs:
        raise SystemExit(f"sweep_copies.py: no complete run folder (config.yaml + result.h5) under {src}")
    if damaged > n:
        raise SystemExit(f"sweep_copies.py: --damaged {damaged} is more than the {n} copies")
    os.makedirs(os.path.join(dst, "runs"), exist_ok=True)
    copies = []
    t0 = time.time()
    for i in range(n):
        source = runs[i % len(runs)]
        run_id = hashlib.sha1(f"{os.path.basename(source)}/{i}".encode()).hexdigest()[:12]
        assert RUN_ID.fullmatch(run_id)
        folder = os.path.join(dst, "runs", run_id)
        if os.path.exists(folder):
            raise SystemExit(f"sweep_copies.py: {folder} exists already (use an empty DST)")
        copy_tree(source, folder)
        edit_copy(folder, run_id, 100 + i)
        copies.append({"run_id": run_id, "folder": folder, "source": source, "seed": 100 + i, "damage": None})
    log(f"sweep_copies: {n} copies of {len(runs)} runs in {time.time() - t0:.1f} s")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(n), damaged))
    kinds = {i: DAMAGES[k % len(DAMAGES)] for k, i in enumerate(chosen)}
    for i, kind in kinds.items():
        copies[i]["damage"] = kind
        if not kind.startswith("summary-"):
            damage_result(copies[i]["folder"], kind)
    summarized = False
    if patch_summaries:
        t1 = time.time()
        bodies = {source: source_summary(source) for source in runs}
        if all(b is not None for b in bodies.values()):
            for c in copies:
                if c["damage"] in (None, "summary-flipped", "summary-truncated"):
                    write_patched_summary(c["folder"], bodies[c["source"]], c["run_id"], c["seed"])
            summarized = True
            log(f"sweep_copies: the sources' summaries patched into the copies in {time.time() - t1:.1f} s")
        else:
            log("sweep_copies: some source has no valid summary.json: nothing to patch")
            python_summaries = True
    if summarized:
        pass
    elif has_summarize(aimrun):
        summarized = True
        t1 = time.time()
        proc = subprocess.run([aimrun, "summarize", dst], capture_output=True, text=True, timeout=1800)
        log(f"sweep_copies: aimrun summarize {dst}: exit {proc.returncode} in {time.time() - t1:.1f} s")
        if proc.returncode not in (0, 3):
            log(proc.stdout[-2000:] + proc.stderr[-2000:])
    elif python_summaries:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
        from summary_writer import write_summary
        t1 = time.time()
        for c in copies:
            if os.path.exists(os.path.join(c["folder"], "result.h5")) and not (
                    c["damage"] or "").endswith("result") and c["damage"] not in ("truncated", "flipped"):
                write_summary(c["folder"])
        summarized = True
        log(f"sweep_copies: summaries written by tests/python/summary_writer.py in {time.time() - t1:.1f} s")
    elif aimrun:
        log(f"sweep_copies: {aimrun} has no summarize command: the copies have no summary.json")
    for i, kind in kinds.items():
        if not kind.startswith("summary-"):
            continue
        summary = os.path.join(copies[i]["folder"], "summary.json")
        if not os.path.exists(summary):  # no summaries: damage result.h5 instead
            kind = copies[i]["damage"] = "flipped"
            damage_result(copies[i]["folder"], kind)
        elif kind == "summary-flipped":
            flip(summary, 4, 0.6)
        else:
            truncate(summary, 0.5)
    with open(os.path.join(dst, "sweep_copies.json"), "w") as fh:
        json.dump({"source": os.path.abspath(src), "n": n, "damaged": damaged, "summaries": summarized,
                   "copies": copies}, fh, indent=1)
    log(f"sweep_copies: done in {time.time() - t0:.1f} s ({damaged} damaged, summaries: {summarized})")
    return copies


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="a folder of real runs")
    p.add_argument("dst", help="where the copies go (DST/runs/<id>)")
    p.add_argument("n", type=int, help="how many copies")
    p.add_argument("--damaged", type=int, default=0, metavar="K", help="damage K of the copies")
    p.add_argument("--aimrun", help="aimrun binary: its `summarize` (if it has one) writes summaries")
    p.add_argument("--seed", type=int, default=0, help="which copies are damaged")
    p.add_argument("--patch-summaries", action="store_true",
                   help="each copy gets its source's summary.json (as aimrun wrote it) with its own run id, seed "
                        "and result.h5 binding: fast (aimrun summarize takes minutes for 1000 runs); "
                        "--python-summaries when a source has none")
    p.add_argument("--python-summaries", action="store_true",
                   help="write summaries with tests/python/summary_writer.py (without aimrun summarize)")
    args = p.parse_args(argv)
    make_copies(args.src, args.dst, args.n, args.damaged, args.aimrun, args.seed, args.python_summaries,
                args.patch_summaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
