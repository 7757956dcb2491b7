"""Per-group EPG in result.h5 (/eval/<split>/groups/epg_<attribution>, worst_group_epg_<a>)
recomputed with numpy from the per-sample arrays of a real result file.

Run from CTest (tests/CMakeLists.txt, test python.group_epg) or by hand:

    AIMRUN=build/runner/aimrun AIM_SOURCE_DIR=. /usr/bin/python3 -m unittest -v tests/python/test_group_epg.py
"""
import os
import subprocess
import tempfile
import unittest

import h5py
import numpy as np

SOURCE_DIR = os.path.abspath(os.environ.get(
    "AIM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
AIMRUN = os.environ.get("AIMRUN", os.path.join(SOURCE_DIR, "build", "runner", "aimrun"))

CONFIG = """\
dataset: {name: builtin, classes: binary, correlation: 0.95, train_size: 256, val_size: 96, test_size: 128}
model: {backbone: small_cnn, width: 8}
method: {name: aim, stages: 2}
train: {epochs: 1, batch_size: 64}
eval: {keep_maps: 0, pictures: 0}
"""


class GroupEpg(unittest.TestCase):
    def test_group_means_and_worst_group_match_numpy(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "c.yaml")
            with open(config, "w") as f:
                f.write(CONFIG)
            run = os.path.join(tmp, "run")
            proc = subprocess.run([AIMRUN, "train", config, f"output_dir={tmp}", "threads=1", "--run-dir", run],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            with h5py.File(os.path.join(run, "result.h5"), "r") as f:
                explain = f.attrs["explain"]
                self.assertEqual(explain.decode() if isinstance(explain, bytes) else explain, "true")
                checked = set()
                for split in ("val", "test"):
                    g = f["eval"][split]
                    groups = g["samples/group"][:]
                    names = g["groups/name"][:]
                    for key in g["samples"]:
                        if not key.startswith("epg_"):
                            continue
                        values = g["samples"][key][:].astype(np.float64)
                        expect = []
                        for k in range(len(names)):
                            v = values[(groups == k) & ~np.isnan(values)]
                            expect.append(v.mean() if len(v) else np.nan)
                        stored = g["groups"][key][:]
                        np.testing.assert_allclose(stored, expect, rtol=1e-12, atol=1e-12, err_msg=f"{split} {key}")
                        self.assertAlmostEqual(g.attrs["worst_group_" + key], np.nanmin(expect), places=12)
                        checked.add(key)
                # Every attribution of the default list, AIM's masks included.
                for key in ("epg_gradcam", "epg_gradcam_backbone", "epg_ixg", "epg_mask"):
                    self.assertIn(key, checked)


if __name__ == "__main__":
    unittest.main()
