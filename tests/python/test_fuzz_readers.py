"""Every reader of result files against a fuzz corpus of damaged copies of a real one.

Run from CTest (tests/CMakeLists.txt, test python.fuzz_readers) or by hand:

    AIMRUN=build/runner/aimrun AIM_SOURCE_DIR=. /usr/bin/python3 -m unittest -v tests/python/test_fuzz_readers.py

Trains three tiny runs: A (aim, keeps maps) is the source of the corpus (fuzz_corpus.py:
bit flips, truncations, swapped blocks, huge declared shapes, garbage attributes; seeded),
B and C (vanilla, seeds 1 and 2) are copied next to it unharmed. Then scripts/aimresults.py,
`aimrun collect` and `aimrun report` read the folder under `ulimit -v`: none may crash (a
signal), each exits 0 or 3, names every damaged file it did not use, keeps the good runs'
rows with their values, and leaves no temporary file.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_log import record_fault  # noqa: E402
from fuzz_corpus import CLASSES, make_corpus  # noqa: E402
from tiny_runs import AIMRUN, SCRIPTS, new_folder, train  # noqa: E402

PER_CLASS = int(os.environ.get("AIM_FUZZ_PER_CLASS", "44"))  # 5 classes: 220 files
SEED = int(os.environ.get("AIM_FUZZ_SEED", "20261201"))
# Address space a reader may use beyond what it has at start (`ulimit -v` of the command).
MEMORY_HEADROOM_KB = 1536 * 1024

CONFIG = """\
name: fuzz
dataset: {name: builtin, classes: binary, train_size: 128, val_size: 64, test_size: 64}
model: {backbone: small_cnn, width: 8}
train: {epochs: 1, batch_size: 64, lr: 0.05}
method: {stages: 2, target: 0.25}
eval: {keep_maps: 4, pictures: 0}
"""


def vm_size_kb(argv):
    """The largest VmPeak seen of a command that reads nothing (what it maps at start-up)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                m = re.search(r"VmPeak:\s+(\d+)", fh.read())
                peak = max(peak, int(m.group(1))) if m else peak
        except OSError:
            pass
    if not peak:
        raise RuntimeError(f"could not measure the address space of {argv}")
    return peak


def limited(argv, limit_kb, timeout=180):
    """Runs argv under `ulimit -v limit_kb`; returns the CompletedProcess."""
    cmd = ["/bin/bash", "-c", f'ulimit -v {limit_kb}; exec "$@"', "bash", *argv]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


class FuzzReadersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp, config, cache = new_folder("aim-fuzz-", CONFIG)
        out = os.path.join(cls.tmp, "out")
        source = train(config, out, "method.name=aim", "seed=0", cache)
        goods = [train(config, out, "method.name=vanilla", f"seed={s}", cache) for s in (1, 2)]
        cls.corpus_dir = os.path.join(cls.tmp, "corpus")
        os.makedirs(cls.corpus_dir)
        cls.good = {}
        for i, g in enumerate(goods):
            dst = os.path.join(cls.corpus_dir, f"good_{i}.h5")
            shutil.copy(g, dst)
            with h5py.File(dst, "r") as f:
                cls.good[dst] = (f.attrs["run_id"], float(f["eval/test"].attrs["accuracy"]))
        cls.corpus = make_corpus(source, cls.corpus_dir, seed=SEED, per_class=PER_CLASS)
        cls.good_ids = {run_id for run_id, _ in cls.good.values()}

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("AIM_KEEP_TEST_DIRS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_reader(self, name, proc, accepted):
        """No signal, exit 0 or 3, every corpus file used (accepted) or named on stderr."""
        crashed = proc.returncode < 0 or proc.returncode > 128
        exit_ok = proc.returncode in (0, 3)
        unnamed = [p for p in self.corpus if p not in accepted and p not in proc.stderr]
        for cls in CLASSES:
            files = [p for p, c in self.corpus.items() if c == cls]
            bad = [p for p in files if p in unnamed]
            record_fault(f"{name}: damaged result files ({cls}, {len(files)} files)",
                         survived=not crashed and exit_ok and not bad)
        self.assertFalse(crashed, f"{name} died by a signal ({proc.returncode}):\n{proc.stderr[-3000:]}")
        self.assertIn(proc.returncode, (0, 3), proc.stderr[-3000:])
        self.assertEqual(unnamed, [], f"{name} neither used nor named these files")
        self.assertFalse(glob.glob(os.path.join(self.tmp, "**", ".*.tmp-*"), recursive=True))

    def test_aimresults_script(self):
        csv = os.path.join(self.tmp, "table.csv")
        argv = [sys.executable, os.path.join(SCRIPTS, "aimresults.py"), self.corpus_dir, "--csv", csv]
        limit = vm_size_kb([sys.executable, "-c", "import h5py, pandas, time; time.sleep(1)"]) + MEMORY_HEADROOM_KB
        proc = limited(argv, limit)
        import pandas as pd
        df = pd.read_csv(csv) if os.path.exists(csv) else pd.DataFrame({"path": [], "run_id": []})
        self.check_reader("aimresults.py", proc, set(df.path))
        for path, (run_id, acc) in self.good.items():
            rows = df[(df.path == path) & (df.split == "test")]
            self.assertEqual(len(rows), 1, f"no test row for {path}")
            self.assertEqual(rows.run_id.iloc[0], run_id)
            self.assertAlmostEqual(float(rows.accuracy.iloc[0]), acc, places=12)

    def collect(self):
        if not hasattr(type(self), "_collected"):
            out = os.path.join(self.tmp, "coll", "all.h5")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            limit = vm_size_kb([AIMRUN, "report", os.path.join(self.tmp, "out", "nothing")]) + MEMORY_HEADROOM_KB
            proc = limited([AIMRUN, "collect", self.corpus_dir, out], limit)
            sources = {}
            if os.path.exists(out):
                with h5py.File(out, "r") as f:
                    for run_id, src in zip(f["index/run_id"].asstr()[()], f["index/source"].asstr()[()]):
                        sources[os.path.normpath(os.path.join(os.path.dirname(out), src))] = run_id
                    accs = {k: float(f[f"runs/{k}/eval/test"].attrs["accuracy"]) for k in self.good_ids
                            if f"runs/{k}" in f}
            else:
                accs = {}
            type(self)._collected = (proc, out, sources, accs)
        return type(self)._collected

    def test_aimrun_collect(self):
        proc, out, sources, accs = self.collect()
        self.check_reader("aimrun collect", proc, set(sources))
        self.assertTrue(os.path.exists(out), proc.stderr[-3000:])
        for path, (run_id, acc) in self.good.items():
            self.assertEqual(sources.get(path), run_id)
            self.assertAlmostEqual(accs[run_id], acc, places=12)

    def test_aimrun_report(self):
        _, _, sources, _ = self.collect()
        limit = vm_size_kb([AIMRUN, "report", os.path.join(self.tmp, "out", "nothing")]) + MEMORY_HEADROOM_KB
        proc = limited([AIMRUN, "report", self.corpus_dir, "--format", "csv"], limit)
        # report names no file it used: the files collect used (same reader) are the used
        # ones, and those collect left out only because H5Ocopy failed (report copies nothing).
        copy_only = {p for p in self.corpus for line in self.collect()[0].stderr.splitlines()
                     if p + " (copying the run" in line}
        self.check_reader("aimrun report", proc, set(sources) | copy_only)
        header, *rows = [line.split(",") for line in proc.stdout.strip().splitlines()]
        vanilla = [r for r in rows if r[header.index("method")] == "vanilla"]
        self.assertEqual(len(vanilla), 1, proc.stdout)
        row = dict(zip(header, vanilla[0]))
        self.assertEqual(row["n"], "2")
        mean = sum(acc for _, acc in self.good.values()) / 2 * 100
        self.assertAlmostEqual(float(row["test acc"]), mean, places=3)


if __name__ == "__main__":
    unittest.main()
