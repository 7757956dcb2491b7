"""result.h5's own content check (content_crc32, docs/hdf5-schema.md "The content check")
in scripts/aimresults.py, and its agreement with aimrun's (core/h5_content.cpp).

Run from CTest (tests/CMakeLists.txt, test python.content_check) or by hand:

    AIMRUN=build/runner/aimrun AIM_SOURCE_DIR=. /usr/bin/python3 -m unittest -v tests/python/test_content_check.py

Trains one tiny run. Then: the digest aimrun recorded is the one h5py computes; a file that
h5py changed (values of every kind aimrun does not write itself) and sealed again is read by
aimrun as done, one changed without sealing is damaged for both; and seeded bit flips and
cuts of result.h5 read by aimresults.load without summary.json are each named or read as the
original rows. Before the check, aimresults.load read some of them as other numbers.
"""
import os
import random
import shutil
import subprocess
import sys
import unittest
import warnings

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_log import record_fault  # noqa: E402
from tiny_runs import AIMRUN, SCRIPTS, new_folder, train  # noqa: E402
sys.path.insert(0, SCRIPTS)
import aimresults  # noqa: E402

CONFIG = """\
name: content
dataset: {name: builtin, classes: binary, train_size: 96, val_size: 64, test_size: 64}
model: {backbone: small_cnn, width: 8}
train: {epochs: 1, batch_size: 32, lr: 0.05}
method: {name: aim, stages: 2, target: 0.25}
eval: {keep_maps: 2, pictures: 0}
"""
FLIPS = int(os.environ.get("AIM_CONTENT_FLIPS", "160"))
CUTS = int(os.environ.get("AIM_CONTENT_CUTS", "30"))


def seal(path):
    with h5py.File(path, "r+") as f:
        f.attrs["content_crc32"] = f"{aimresults.content_crc32(f):08x}"


def rows_of(folder):
    """aimresults.load of a folder: (rows as sorted tuples, problems, warnings)."""
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = aimresults.load(folder, problems)
    rows = sorted(tuple(sorted((k, repr(v)) for k, v in r.items() if k != "path")) for r in df.to_dict("records"))
    return rows, problems, [str(w.message) for w in caught]


class ContentCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp, config, cache = new_folder("aim-content-", CONFIG)
        cls.result = train(config, os.path.join(cls.tmp, "out"), cache)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("AIM_KEEP_TEST_DIRS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy(self, name):
        """The run's result.h5 and config.yaml, without its summary.json, in <new folder>/run:
        (the new folder, the copy of result.h5)."""
        folder = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(folder, "run"))
        path = os.path.join(folder, "run", "result.h5")
        shutil.copy(self.result, path)
        shutil.copy(os.path.join(os.path.dirname(self.result), "config.yaml"), os.path.dirname(path))
        return folder, path

    def report(self, folder):
        return subprocess.run([AIMRUN, "report", folder, "--format", "csv"], capture_output=True, text=True,
                              timeout=120)

    def test_aimrun_records_the_digest_h5py_computes(self):
        with h5py.File(self.result, "r") as f:
            recorded = f.attrs["content_crc32"]
            self.assertRegex(recorded, r"^[0-9a-f]{8}$")
            self.assertEqual(f"{aimresults.content_crc32(f):08x}", recorded)

    def test_aimrun_accepts_what_h5py_sealed_and_both_refuse_what_it_changed(self):
        folder, path = self.copy("sealed")
        with h5py.File(path, "r+") as f:  # every kind the digest encodes, some aimrun never writes
            g = f.create_group("extra/nested")
            g["half"] = np.array([[0.5, -2.0], [np.inf, np.nan]], dtype="<f2")
            g["bytes"] = np.arange(7, dtype=np.uint8)
            g["int32"] = np.array([-3, 4], dtype="<i4")
            g["scalar"] = np.float64(2.5)
            g["words"] = np.array(["α", "", "tops@sea"], dtype=h5py.string_dtype())
            g.attrs["names"] = np.array(["a", "bé"], dtype=h5py.string_dtype())
            g.attrs["vector"] = np.array([1.0, 2.0, 3.0])
            g["int32"].attrs["unit"] = "count"
            f.attrs["zzz_note"] = "added by hand"
        seal(path)
        proc = self.report(folder)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows, problems, _ = rows_of(folder)
        self.assertEqual(problems, [])
        self.assertEqual(len({dict(r)["run_id"] for r in rows}), 1)
        with h5py.File(path, "r+") as f:  # one value changed, not sealed again
            f["extra/nested/half"][0, 0] = np.float16(0.25)
        proc = self.report(folder)
        self.assertEqual(proc.returncode, 3, proc.stdout + proc.stderr)
        self.assertIn(path + ": content check failed (content_crc32 is ", proc.stdout + proc.stderr)
        rows, problems, _ = rows_of(folder)
        self.assertEqual(rows, [])
        self.assertEqual([p.kind for p in problems], ["damaged"])
        self.assertIn("content check failed (content_crc32 is ", problems[0].message)
        run = os.path.dirname(path)
        self.assertIn("`aimrun train " + run + "/config.yaml --run-dir " + run + "` writes it anew", problems[0].message)

    def test_a_file_written_before_checksums_is_read_with_a_warning_and_its_accuracy_checked(self):
        folder, path = self.copy("old")
        good, _, _ = rows_of(os.path.dirname(self.result))
        with h5py.File(path, "r+") as f:
            del f.attrs["content_crc32"]
        rows, problems, notes = rows_of(folder)
        self.assertEqual(problems, [])
        self.assertEqual(rows, good)
        self.assertTrue(any("written before checksums (no content_crc32)" in n for n in notes), notes)
        with h5py.File(path, "r+") as f:
            f["eval/test"].attrs["accuracy"] = f["eval/test"].attrs["accuracy"] / 2
        rows, problems, _ = rows_of(folder)
        self.assertEqual(rows, [])
        self.assertEqual([p.kind for p in problems], ["damaged"])
        self.assertIn("/eval/test: accuracy ", problems[0].message)

    def test_flips_and_cuts_without_a_summary_are_named_or_read_as_the_original(self):
        folder, path = self.copy("flips")
        good_rows, problems, _ = rows_of(folder)
        self.assertEqual(problems, [])
        with open(path, "rb") as fh:
            good = fh.read()
        rng = random.Random(3609)
        cases = [("flip", len(good) * (i % 16) // 16 + rng.randrange(max(1, len(good) // 16)), rng.randrange(8))
                 for i in range(FLIPS)]
        cases += [("cut", rng.randrange(len(good)), 0) for _ in range(CUTS)] + [("cut", 0, 0), ("cut", len(good) - 1, 0)]
        misread, named, harmless = [], 0, 0
        for kind, at, bit in cases:
            data = bytearray(good[:at] if kind == "cut" else good)
            if kind == "flip":
                data[at] ^= 1 << bit
            with open(path, "wb") as fh:
                fh.write(data)
            rows, problems, _ = rows_of(folder)
            if problems:
                self.assertEqual(rows, [], (kind, at, bit))
                self.assertTrue(all(p.path == path for p in problems), (kind, at, bit, problems))
                named += 1
            elif rows == good_rows:
                harmless += 1
            else:
                misread.append((kind, at, bit))
            record_fault(f"aimresults.py reads result.h5 without summary.json, {kind} at {at} bit {bit}",
                         survived=(kind, at, bit) not in misread)
        print(f"[ flips    ] aimresults.py: {named} named, {harmless} harmless, {len(misread)} misread")
        self.assertEqual(misread, [], "read as other numbers")


if __name__ == "__main__":
    unittest.main()
