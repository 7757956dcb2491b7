"""scripts/compare_runs.py on two folders of tiny result.h5 files written here with h5py.

Run from CTest (python.compare_runs) or by hand:

    /usr/bin/python3 -m unittest -v tests/python/test_compare_runs.py
"""
import os
import subprocess
import tempfile
import unittest

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("AIM_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
SCRIPT = os.path.join(SOURCE_DIR, "scripts", "compare_runs.py")


def write_run(root, name, accuracy=0.75, seconds=1.0):
    """A run folder with a result.h5 of the layout compare_runs reads: /eval and /curves."""
    os.makedirs(os.path.join(root, name), exist_ok=True)
    with h5py.File(os.path.join(root, name, "result.h5"), "w") as f:
        f["eval/test/accuracy"] = np.float64(accuracy)
        f["eval/test/predictions"] = np.arange(10, dtype=np.int64)
        f["eval/test/seconds"] = np.float64(seconds)  # a timing: never compared
        f["curves/train_loss"] = np.linspace(1.0, 0.1, 5)
        f["curves/epoch_seconds"] = np.full(5, seconds)


def compare(a, b):
    return subprocess.run(["/usr/bin/python3", SCRIPT, a, b], capture_output=True, text=True, timeout=60)


class CompareRuns(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.a, self.b = (os.path.join(self.tmp.name, n) for n in ("a", "b"))
        for root in (self.a, self.b):
            write_run(root, "run1")
            write_run(root, "run2", seconds=2.0 if root == self.a else 3.0)  # timings differ only
            # A stray file and a folder without result.h5 beside the runs: not runs.
            with open(os.path.join(root, "sweep.log"), "w") as f:
                f.write("a log beside the runs\n")
            os.makedirs(os.path.join(root, "notes"))

    def tearDown(self):
        self.tmp.cleanup()

    def test_equal_folders(self):
        r = compare(self.a, self.b)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # 3 arrays a run (accuracy, predictions, train_loss), 2 runs.
        self.assertIn("6 of 6 arrays bit-identical over 2 runs compared; 0 runs differ", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_one_array_changed(self):
        with h5py.File(os.path.join(self.b, "run2", "result.h5"), "a") as f:
            f["curves/train_loss"][2] += 1e-12
        r = compare(self.a, self.b)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DIFFERS run2 curves/train_loss", r.stdout)
        self.assertNotIn("DIFFERS run1", r.stdout)
        self.assertIn("5 of 6 arrays bit-identical over 2 runs compared; 1 runs differ", r.stdout)

    def test_a_changed_dtype_differs(self):
        with h5py.File(os.path.join(self.b, "run1", "result.h5"), "a") as f:
            del f["eval/test/predictions"]
            f["eval/test/predictions"] = np.arange(10, dtype=np.int32)
        r = compare(self.a, self.b)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DIFFERS run1 eval/test/predictions", r.stdout)

    def test_a_run_missing_or_unreadable_in_the_second_folder(self):
        os.remove(os.path.join(self.b, "run1", "result.h5"))
        with open(os.path.join(self.b, "run2", "result.h5"), "wb") as f:
            f.write(b"not an HDF5 file")
        r = compare(self.a, self.b)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertRegex(r.stdout, r"DIFFERS run1: \S+/b/run1/result.h5: missing")
        self.assertRegex(r.stdout, r"DIFFERS run2: \S+/b/run2/result.h5: unreadable")
        self.assertIn("over 2 runs compared; 2 runs differ", r.stdout)

    def test_a_run_only_in_the_second_folder_is_named_not_compared(self):
        write_run(self.b, "run3")
        r = compare(self.a, self.b)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("over 2 runs compared; 0 runs differ; 1 runs only in the second folder", r.stdout)

    def test_usage_errors(self):
        for args in ([], [self.a], [self.a, os.path.join(self.a, "sweep.log")], [os.path.join(self.a, "notes"), self.b]):
            r = subprocess.run(["/usr/bin/python3", SCRIPT] + args, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn("usage:", r.stderr, args)
            self.assertNotIn("Traceback", r.stderr, args)


if __name__ == "__main__":
    unittest.main()
