"""Tests of scripts/aimresults.py and scripts/plots.py on result files aimrun writes itself.

Run from CTest (tests/CMakeLists.txt, test python.aimresults) or by hand:

    AIMRUN=build/runner/aimrun AIM_SOURCE_DIR=. /usr/bin/python3 -m unittest -v tests/python/test_aimresults.py

Trains two tiny runs (vanilla and AIM, 2 epochs, a few hundred samples), links them into a
sweep-style folder, adds unusable files next to a copy, and checks every table against the
values read directly from the files with h5py.
"""
import fcntl
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_runs import AIMRUN, SCRIPTS, new_folder, train as train_result  # noqa: E402
from summary_writer import make_summary_bytes, write_summary  # noqa: E402
sys.path.insert(0, SCRIPTS)
import aimresults  # noqa: E402



def reseal(path):
    """Records a hand-edited file's content_crc32 anew, as aimrun would have written it: the
    edit then stands for a file written that way, not for a damaged one."""
    with h5py.File(path, "r+") as f:
        f.attrs["content_crc32"] = f"{aimresults.content_crc32(f):08x}"


EPOCHS = 2
CONFIG = """\
name: pytest
dataset:
  name: builtin
  classes: binary
  correlation: 0.95
  train_size: 256
  val_size: 128
  test_size: 128
model:
  backbone: small_cnn
  width: 8
train:
  epochs: {epochs}
  batch_size: 64
  lr: 0.05
method:
  stages: 2
  target: 0.25
eval:
  keep_maps: 8
  pictures: 4
"""


def train(config, out_dir, *overrides):
    """Runs `aimrun train` and returns the run folder it reports."""
    return os.path.dirname(train_result(config, out_dir, *overrides))


def png_is_whole(path):
    """A PNG that ends with its IEND chunk (a truncated write does not)."""
    with open(path, "rb") as fh:
        return fh.read()[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"


def script(name, *args):
    """Runs scripts/<name> with /usr/bin/python3-like interpreter (this one)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, name), *args],
                          capture_output=True, text=True, timeout=300, env=env)


class RunFolderStateTest(unittest.TestCase):
    """A run folder without a result, in aimrun's order of checks (results/run_folder.h)."""

    def test_a_retried_run_is_running_though_its_old_failed_is_there(self):
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "runs", "r1")
            os.makedirs(run)
            for name, text in (("config.yaml", "seed: 0\n"), ("FAILED", "out of memory\nmore\n")):
                with open(os.path.join(run, name), "w") as fh:
                    fh.write(text)
            _, problems = aimresults.find_results(d)
            self.assertEqual([(p.kind, p.message) for p in problems], [("failed", "out of memory")])
            fd = os.open(os.path.join(run, ".lock"), os.O_CREAT | os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                _, problems = aimresults.find_results(d)
                self.assertEqual([p.kind for p in problems], ["running"])
            finally:
                os.close(fd)


class AimResultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp, config, cache = new_folder("aimresults-test-", CONFIG.format(epochs=EPOCHS))
        cls.results = os.path.join(cls.tmp, "results")
        out = os.path.join(cls.results, "out")
        cls.vanilla = train(config, out, "method.name=vanilla", "seed=0", cache)
        cls.aim = train(config, out, "method.name=aim", "seed=0", cache)
        cls.run_dirs = {"vanilla": cls.vanilla, "aim": cls.aim}
        # A sweep folder as aimrun writes it: <sweep>/<run-id> -> ../out/runs/<run-id>.
        cls.sweep = os.path.join(cls.results, "sweep")
        os.makedirs(cls.sweep)
        for d in (cls.vanilla, cls.aim):
            os.symlink(os.path.relpath(d, cls.sweep), os.path.join(cls.sweep, os.path.basename(d)))
        cls.bad = os.path.join(cls.tmp, "bad")
        cls._make_bad_folder(os.path.join(cls.aim, "result.h5"))

    @classmethod
    def _make_bad_folder(cls, good):
        """One good copy and one file of each unusable kind, plus an unfinished run folder."""
        os.makedirs(cls.bad)
        shutil.copy(good, os.path.join(cls.bad, "good.h5"))
        with open(good, "rb") as fh:
            data = fh.read()
        with open(os.path.join(cls.bad, "truncated.h5"), "wb") as fh:
            fh.write(data[:len(data) // 2])
        with open(os.path.join(cls.bad, "random.h5"), "wb") as fh:
            fh.write(np.random.default_rng(0).bytes(4096))
        with h5py.File(os.path.join(cls.bad, "foreign.h5"), "w") as f:
            f["images"] = np.zeros((2, 3), dtype=np.float32)
            f.attrs["source"] = "somebody else's tool"
        for name, attr, value in (("newer.h5", "schema_version", 99),
                                  ("incomplete.h5", "status", "running")):
            shutil.copy(good, os.path.join(cls.bad, name))
            with h5py.File(os.path.join(cls.bad, name), "a") as f:
                f.attrs[attr] = value
            reseal(os.path.join(cls.bad, name))
        shutil.copy(good, os.path.join(cls.bad, "no_eval.h5"))
        with h5py.File(os.path.join(cls.bad, "no_eval.h5"), "a") as f:
            del f["eval"]
        reseal(os.path.join(cls.bad, "no_eval.h5"))
        pending = os.path.join(cls.bad, "runs", "0123456789ab")
        os.makedirs(pending)
        shutil.copy(os.path.join(os.path.dirname(good), "config.yaml"), pending)
        cls.expected_kinds = {"truncated.h5": "truncated", "random.h5": "corrupt",
                              "foreign.h5": "foreign", "newer.h5": "newer-schema",
                              "incomplete.h5": "incomplete", "no_eval.h5": "incomplete",
                              "0123456789ab": "pending"}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def load(self, folder):
        problems = []
        return aimresults.load(folder, problems), problems

    # ------------------------------------------------------------------ the table

    def test_one_row_per_run_and_split(self):
        df, problems = self.load(os.path.join(self.results, "out"))
        self.assertEqual(problems, [])
        self.assertEqual(sorted(df.run_id.unique()),
                         sorted(os.path.basename(d) for d in self.run_dirs.values()))
        with h5py.File(os.path.join(self.aim, "result.h5")) as f:
            splits = sorted(f["eval"].keys())
        self.assertGreaterEqual(len(splits), 1)
        self.assertEqual(len(df), 2 * len(splits))
        self.assertEqual(sorted(df[df["method.name"] == "aim"].split), splits)
        for column in ("run_id", "path", "split", "accuracy", "worst_group_accuracy", "epg.gradcam",
                       "epg.ixg", "mask_area", "n", "status", "dataset.name", "method.name", "seed",
                       "train.epochs", "train.lr", "schema_version"):
            self.assertIn(column, df.columns)
        self.assertTrue((df.status == "complete").all())

    def test_values_match_the_files(self):
        df, _ = self.load(os.path.join(self.results, "out"))
        for _, row in df.iterrows():
            with h5py.File(row.path) as f:
                ev = f["eval"][row.split]
                label, pred = ev["samples/label"][()], ev["samples/pred"][()]
                group = ev["samples/group"][()]
                self.assertEqual(row.n, len(label))
                self.assertAlmostEqual(row.accuracy, np.mean(pred == label), places=12)
                self.assertAlmostEqual(row.accuracy, ev.attrs["accuracy"], places=12)
                by_group = [np.mean(pred[group == g] == label[g == group]) for g in np.unique(group)]
                self.assertAlmostEqual(row.worst_group_accuracy, min(by_group), places=12)
                for name in ("gradcam", "ixg"):
                    self.assertAlmostEqual(row[f"epg.{name}"],
                                           float(np.mean(ev[f"samples/epg_{name}"][()], dtype=np.float64)),
                                           places=5)
                self.assertEqual(row["method.name"], f["config"].attrs["method.name"])
                self.assertEqual(row["seed"], 0)
                self.assertEqual(row["dataset.train_size"], 256)
                self.assertEqual(row["train.epochs"], EPOCHS)
                self.assertIs(row["dataset.hflip"], True)    # `true` in the file
                self.assertIsNone(row["model.weights"])      # `~` in the file
                self.assertEqual(row.run_id, f.attrs["run_id"])
                if row["method.name"] == "aim":
                    self.assertAlmostEqual(row.mask_area, float(np.mean(ev["samples/mask_area"][()],
                                                                        dtype=np.float64)), places=5)
                    self.assertAlmostEqual(row["epg.mask"], ev.attrs["epg_mask"], places=12)
                else:
                    self.assertTrue(np.isnan(row.mask_area))

    def test_samples_groups_and_curves(self):
        path = os.path.join(self.aim, "result.h5")
        samples = aimresults.load_samples(self.aim, "test")
        groups = aimresults.load_groups(path, "test")
        curves = aimresults.load_curves(path)
        masks = aimresults.load_mask_curves(path)
        with h5py.File(path) as f:
            s = f["eval/test/samples"]
            np.testing.assert_array_equal(samples.label, s["label"][()])
            np.testing.assert_array_equal(samples.pred, s["pred"][()])
            np.testing.assert_array_equal(samples.correct, s["pred"][()] == s["label"][()])
            np.testing.assert_array_equal(samples["epg.gradcam"], s["epg_gradcam"][()])
            np.testing.assert_array_equal(samples.mask_area, s["mask_area"][()])
            names = f["eval/test/groups/name"].asstr()[()]
            self.assertEqual(list(samples.group_name), [names[g] for g in s["group"][()]])
            np.testing.assert_array_equal(groups["count"], f["eval/test/groups/count"][()])
            self.assertEqual(list(curves.epoch), list(range(1, EPOCHS + 1)))
            np.testing.assert_array_equal(curves.train_loss, f["curves/train_loss"][()])
            np.testing.assert_array_equal(curves.val_accuracy, f["curves/eval/val/accuracy"][()])
            stages = sorted(int(k.split("_")[1]) for k in f["curves/masks"])
            self.assertEqual(sorted(masks.stage.unique()), stages)
            self.assertEqual(len(masks), len(stages) * EPOCHS)
            first = masks[masks.stage == stages[0]]
            np.testing.assert_array_equal(first.target, f[f"curves/masks/stage_{stages[0]}/target"][()])
        self.assertTrue(aimresults.load_mask_curves(self.vanilla).empty)

    def test_sweep_links_are_not_counted_twice(self):
        # results/ holds out/runs/<id> and sweep/<id> links to the same two folders.
        df, problems = self.load(self.results)
        self.assertEqual(problems, [])
        self.assertEqual(df.run_id.nunique(), 2)
        self.assertEqual(len(df), df.drop_duplicates(["run_id", "split"]).shape[0])
        df_sweep, _ = self.load(self.sweep)
        self.assertEqual(sorted(df_sweep.run_id.unique()), sorted(df.run_id.unique()))

    def test_collections_read_like_the_folder(self):
        # `aimrun collect`: copies (self-contained) and external links give the same table.
        expected, _ = self.load(os.path.join(self.results, "out"))
        columns = ["run_id", "split", "accuracy", "worst_group_accuracy", "epg.gradcam", "method.name"]
        expected = expected[columns].sort_values(["run_id", "split"]).reset_index(drop=True)
        for mode in ([], ["--link"]):
            out = os.path.join(self.tmp, "collection" + "".join(mode) + ".h5")
            proc = subprocess.run([AIMRUN, "collect", os.path.join(self.results, "out"), out, *mode],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            df, problems = self.load(out)
            self.assertEqual(problems, [])
            self.assertTrue(df.path.str.startswith(out + ":/runs/").all())
            got = df[columns].sort_values(["run_id", "split"]).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected)
            samples = aimresults.load_samples(df.path.iloc[0], df.split.iloc[0])
            self.assertEqual(len(samples), int(df.n.iloc[0]))

    def test_reads_where_flock_fails(self):
        # NFS without lockd, Lustre without flock: tests/shim makes flock fail with ENOLCK.
        # Run files, copy and --link collections are read without HDF5's file locks.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from fault_log import record_fault
        shim = os.environ["AIM_ENOSPC_SHIM"]  # set by CMake (tests/CMakeLists.txt)
        env = {k: v for k, v in os.environ.items() if k != "HDF5_USE_FILE_LOCKING"}
        env.update(LD_PRELOAD=shim, AIM_SHIM_PATTERN=".h5", AIM_SHIM_FAIL="flock", PYTHONDONTWRITEBYTECODE="1")
        ok = True
        for mode in ([], ["--link"]):
            out = os.path.join(self.tmp, "noflock" + "".join(mode) + ".h5")
            subprocess.run([AIMRUN, "collect", os.path.join(self.results, "out"), out, *mode],
                           capture_output=True, text=True, timeout=120, check=True)
            for target in (out, os.path.join(self.results, "out")):
                proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "aimresults.py"), target],
                                      capture_output=True, text=True, timeout=120, env=env)
                ok = ok and proc.returncode == 0 and "2 runs" in proc.stdout
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("2 runs, 4 rows", proc.stdout)
        record_fault("aimresults.py on a file system without flock (files, collections, --link)", ok)

    def test_dataframe_agrees_with_aimrun_report(self):
        proc = subprocess.run([AIMRUN, "report", os.path.join(self.results, "out"), "--format", "csv"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        import io
        report = pd.read_csv(io.StringIO(proc.stdout))
        df, _ = self.load(os.path.join(self.results, "out"))
        test = df[df.split == "test"].set_index("method.name")
        for _, row in report.iterrows():
            self.assertAlmostEqual(row["test acc"], 100 * test.loc[row["method"], "accuracy"], places=3)
            self.assertAlmostEqual(row["test worst-group"],
                                   100 * test.loc[row["method"], "worst_group_accuracy"], places=3)
            self.assertAlmostEqual(row["EPG gradcam"], 100 * test.loc[row["method"], "epg.gradcam"], places=3)

    # ------------------------------------------------------------------ unusable files

    def test_unusable_files_are_reported_and_skipped(self):
        df, problems = self.load(self.bad)
        self.assertEqual(df.run_id.nunique(), 1)
        self.assertEqual(set(df.path), {os.path.join(self.bad, "good.h5")})
        kinds = {os.path.basename(p.path): p.kind for p in problems}
        self.assertEqual(kinds, self.expected_kinds)
        newer = next(p for p in problems if p.kind == "newer-schema")
        self.assertIn("schema_version 99", newer.message)

    def test_without_a_problem_list_it_warns(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = aimresults.load(self.bad)
        self.assertEqual(df.run_id.nunique(), 1)
        text = "\n".join(str(w.message) for w in caught)
        for name in self.expected_kinds:
            self.assertIn(name, text)

    def test_newer_schema_is_refused_by_every_reader(self):
        newer = os.path.join(self.bad, "newer.h5")
        for reader in (aimresults.load_samples, aimresults.load_curves, aimresults.read_summary):
            with self.assertRaisesRegex(aimresults.ResultFileError, "newer aimrun"):
                reader(newer)

    def test_command_line(self):
        csv = os.path.join(self.tmp, "table.csv")
        good = script("aimresults.py", self.results, "--csv", csv)
        self.assertEqual(good.returncode, 0, good.stderr)
        table = pd.read_csv(csv)
        self.assertEqual(table.run_id.nunique(), 2)
        self.assertIn("epg.gradcam", table.columns)
        bad = script("aimresults.py", self.bad)
        self.assertEqual(bad.returncode, 3, bad.stdout + bad.stderr)
        for name in self.expected_kinds:
            self.assertIn(name, bad.stderr)
        self.assertIn("1 runs", bad.stdout)


    # ------------------------------------------------------------------ summary.json

    def _summary_copy(self, name):
        """A copy of both runs under <tmp>/<name>/runs/<run-id> (real files), without summaries."""
        root = os.path.join(self.tmp, name)
        for d in (self.vanilla, self.aim):
            shutil.copytree(d, os.path.join(root, "runs", os.path.basename(d)))
            for left in ("summary.json",):
                if os.path.exists(os.path.join(root, "runs", os.path.basename(d), left)):
                    os.unlink(os.path.join(root, "runs", os.path.basename(d), left))
        return root, [os.path.join(root, "runs", os.path.basename(d)) for d in (self.vanilla, self.aim)]

    def _load_quietly(self, folder):
        """load() with its warnings: (df, problems, [messages of SummaryFallbackWarning])."""
        problems = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = aimresults.load(folder, problems)
        return df, problems, [str(w.message) for w in caught
                              if issubclass(w.category, aimresults.SummaryFallbackWarning)]

    def test_summary_rows_equal_result_rows(self):
        root, runs = self._summary_copy("summary-equal")
        from_files, problems, notes = self._load_quietly(root)
        self.assertEqual(problems, [])
        self.assertEqual(len(notes), 1)
        self.assertIn("2 runs have no valid summary.json (2 missing", notes[0])
        for d in runs:
            write_summary(d)
        # With valid summaries nothing is forked and nothing is opened with h5py.
        isolated, h5file = aimresults._isolated, aimresults._h5file
        def refuse(*args):
            raise AssertionError(f"result.h5 read though its summary is valid: {args}")
        aimresults._isolated = aimresults._h5file = refuse
        try:
            from_summaries, problems, notes = self._load_quietly(root)
        finally:
            aimresults._isolated, aimresults._h5file = isolated, h5file
        self.assertEqual((problems, notes), ([], []))
        pd.testing.assert_frame_equal(from_summaries, from_files, check_exact=True)
        self.assertEqual(list(from_summaries.dtypes), list(from_files.dtypes))
        self.assertGreaterEqual(len(from_summaries), 4)
        # summary_rows (one run) gives read_summary's rows too.
        for d in runs:
            pd.testing.assert_frame_equal(pd.DataFrame(aimresults.summary_rows(d)),
                                          pd.DataFrame(aimresults.read_summary(os.path.join(d, "result.h5"))),
                                          check_exact=True)
        # The command reads the summaries quietly and writes the same CSV.
        csv_path = os.path.join(self.tmp, "summary-equal.csv")
        proc = script("aimresults.py", root, "--csv", csv_path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("summary", proc.stderr)
        pd.testing.assert_frame_equal(pd.read_csv(csv_path), pd.read_csv(io.StringIO(from_files.to_csv(index=False))))

    def test_summaries_aimrun_writes_give_the_same_rows(self):
        """The summaries of aimrun itself (written after result.h5, or by `aimrun summarize`
        for runs without one): the same DataFrame as result.h5 gives."""
        root, runs = self._summary_copy("summary-aimrun")
        from_files, _, _ = self._load_quietly(root)
        for original, d in zip((self.vanilla, self.aim), runs):
            if os.path.exists(os.path.join(original, "summary.json")):
                shutil.copy2(os.path.join(original, "summary.json"), d)
        if not all(os.path.exists(os.path.join(d, "summary.json")) for d in runs):
            proc = subprocess.run([AIMRUN, "summarize", root], capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                self.skipTest(f"this aimrun writes no summaries (aimrun summarize: exit {proc.returncode})")
        isolated = aimresults._isolated
        def refuse(*args):
            raise AssertionError(f"result.h5 read though its summary is valid: {args}")
        aimresults._isolated = refuse
        try:
            from_summaries, problems, notes = self._load_quietly(root)
        finally:
            aimresults._isolated = isolated
        self.assertEqual((problems, notes), ([], []))
        pd.testing.assert_frame_equal(from_summaries, from_files, check_exact=True)

    def test_a_run_folder_holding_another_runs_result_is_unreadable(self):
        # The vanilla run's result.h5 and summary.json in the folder of the aim run (named by
        # its run id), as a copy between two runs' folders leaves them: never that run's row.
        root = tempfile.mkdtemp(dir=self.tmp, prefix="swapped-")
        vanilla_id, aim_id = os.path.basename(self.vanilla), os.path.basename(self.aim)
        theirs = os.path.join(root, "runs", aim_id)
        shutil.copytree(self.vanilla, theirs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", aimresults.SummaryFallbackWarning)
            df, problems = self.load(root)
        self.assertEqual(len(df), 0, df)
        said = [str(p) for p in problems if p.kind == "unreadable"]
        self.assertTrue(any(f"holds the result of run {vanilla_id}, not of run {aim_id}" in s for s in said),
                        [str(p) for p in problems])
        # The same files in a folder not named by a run id are read as the run they are.
        other = os.path.join(root, "copies", "some-run")
        shutil.copytree(self.vanilla, other)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", aimresults.SummaryFallbackWarning)
            df, problems = self.load(os.path.join(root, "copies"))
        self.assertEqual(set(df["run_id"]), {vanilla_id}, [str(p) for p in problems])

    def test_damaged_summaries_fall_back_to_result_h5(self):
        root, runs = self._summary_copy("summary-damaged")
        vanilla, aim = runs
        reference, _, _ = self._load_quietly(vanilla)  # from result.h5: it has no summary
        cases = {}

        def case(name, damage, cause):
            folder = os.path.join(root, name, "runs", os.path.basename(vanilla))
            shutil.copytree(vanilla, folder)
            good = write_summary(folder)
            damage(folder, good)
            cases[name] = (folder, cause)

        def put(folder, data):
            with open(os.path.join(folder, "summary.json"), "wb") as fh:
                fh.write(data)

        def flip(folder, good):
            data = bytearray(good)
            data[len(data) * 2 // 3] ^= 0x01
            put(folder, bytes(data))

        def edit_crc(folder, good):
            at = good.index(b'"crc32": "') + len(b'"crc32": "')
            put(folder, good[:at] + (b"0" if good[at:at + 1] != b"0" else b"1") + good[at + 1:])

        def bytes_changed(folder, good):  # same size, other bytes, a later mtime
            path = os.path.join(folder, "result.h5")
            with h5py.File(path, "r") as f:
                finished = aimresults._text(f.attrs["finished"]).encode()
            with open(path, "rb") as fh:
                data = fh.read()
            self.assertEqual(data.count(finished), 1)
            with open(path, "r+b") as fh:
                fh.write(data.replace(finished, b"1999" + finished[4:]))
            st = os.stat(path)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))

        def size_changed(folder, good):
            with open(os.path.join(folder, "result.h5"), "ab") as fh:
                fh.write(b"\0" * 512)

        case("flipped", flip, "crc mismatch")
        case("truncated", lambda f, g: put(f, g[:len(g) // 2]), "truncated")
        case("crc-edited", edit_crc, "crc mismatch")
        case("other-run", lambda f, g: put(f, make_summary_bytes(aim)), "is not the folder's run id")
        # Whole summaries bound to another result.h5: the files disagree, the run is unreadable
        # (as in aimrun), never read from the changed result.h5.
        case("size-changed", size_changed, "disagree")
        case("bytes-changed", bytes_changed, "disagree")
        case("empty", lambda f, g: put(f, b""), "not a summary")
        # Bytes the same, only the mtime moved (a copy, a touch): the crc binds it, still valid.
        case("touched", lambda f, g: os.utime(os.path.join(f, "result.h5"), ns=(1, 10**18)), None)
        for name, (folder, cause) in cases.items():
            with self.subTest(name):
                df, problems, notes = self._load_quietly(os.path.dirname(os.path.dirname(folder)))
                if cause == "disagree":
                    self.assertTrue(df.empty, df)
                    self.assertEqual([p.kind for p in problems], ["unreadable"])
                    self.assertIn("result.h5 and summary.json disagree", problems[0].message)
                    self.assertIn("aimrun train", problems[0].message)
                    continue
                self.assertEqual(problems, [])
                expected = reference[reference.run_id == os.path.basename(vanilla)].copy()
                expected["path"] = os.path.join(folder, "result.h5")
                pd.testing.assert_frame_equal(df.reset_index(drop=True), expected.reset_index(drop=True),
                                              check_exact=True)
                if cause is None:
                    self.assertEqual(notes, [])
                    self.assertIs(aimresults.summary_rows(folder) is not None, True)
                    continue
                self.assertIsNone(aimresults.summary_rows(folder))
                self.assertEqual(len(notes), 1, notes)
                self.assertIn("1 run has no valid summary.json (1 damaged: " + folder, notes[0])
                self.assertIn(cause, notes[0])
                self.assertIn("read from result.h5", notes[0])
                self.assertIn("aimrun summarize", notes[0])

    def test_no_flipped_byte_or_cut_of_a_summary_is_trusted(self):
        """Every 3rd byte of a summary flipped (one bit, then all bits) and every 5th length
        cut: summary_rows refuses each one (the run would be read from result.h5)."""
        root, runs = self._summary_copy("summary-fuzz")
        d = runs[1]
        good = write_summary(d)
        self.assertIsNotNone(aimresults.summary_rows(d))
        path = os.path.join(d, "summary.json")
        trusted = []
        for at in range(0, len(good), 3):
            for mask in (0x01, 0xFF):
                bad = bytearray(good)
                bad[at] ^= mask
                with open(path, "wb") as fh:
                    fh.write(bad)
                if aimresults.summary_rows(d) is not None:
                    trusted.append(("flip", at, mask))
        for length in range(0, len(good), 5):
            with open(path, "wb") as fh:
                fh.write(good[:length])
            if aimresults.summary_rows(d) is not None:
                trusted.append(("cut", length))
        self.assertEqual(trusted, [])

    def test_mixed_folder_warns_once(self):
        root, runs = self._summary_copy("summary-mixed")
        vanilla, aim = runs
        extra = os.path.join(root, "runs", "feedfacecafe")
        shutil.copytree(aim, extra)
        with h5py.File(os.path.join(extra, "result.h5"), "r+") as f:
            f.attrs["run_id"] = "feedfacecafe"
        reseal(os.path.join(extra, "result.h5"))
        write_summary(vanilla)                 # valid
        write_summary(extra, run_id=os.path.basename(aim))   # another run's id: damaged
        # aim: none (written before summaries)
        df, problems, notes = self._load_quietly(root)
        self.assertEqual(problems, [])
        self.assertEqual(df.run_id.nunique(), 3)
        self.assertEqual(len(notes), 1, notes)
        self.assertIn("2 runs have no valid summary.json (1 damaged: " + extra, notes[0])
        self.assertIn("1 missing, written before summaries", notes[0])
        self.assertNotIn(vanilla + ":", notes[0])
        proc = script("aimresults.py", root)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.count("no valid summary.json"), 1, proc.stderr)
        self.assertIn("3 runs", proc.stdout)
        # A damaged result.h5 behind a damaged summary: skipped and reported, the others stay.
        with open(os.path.join(extra, "result.h5"), "r+b") as fh:
            fh.truncate(1000)
        df, problems, notes = self._load_quietly(root)
        self.assertEqual(df.run_id.nunique(), 2)
        self.assertEqual([p.kind for p in problems], ["truncated"])

    def test_collections_keep_their_paths_with_summaries(self):
        root, runs = self._summary_copy("summary-collection")
        for d in runs:
            write_summary(d)
        collection = os.path.join(self.tmp, "summary-collection.h5")
        proc = subprocess.run([AIMRUN, "collect", root, collection], capture_output=True, text=True,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        df, problems, notes = self._load_quietly(collection)
        self.assertEqual(problems, [])
        self.assertTrue(all(aimresults.COLLECTION_SEPARATOR in p for p in df.path), list(df.path))
        self.assertEqual(notes, [])

    # ------------------------------------------------------------------ plots

    def test_plots_and_index(self):
        out = os.path.join(self.tmp, "plots")
        proc = script("plots.py", self.results, "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn(os.path.join(out, "index.html"), proc.stdout)
        for name in ("curves.png", "masks_1.png", "epg_vs_wga.png"):
            with open(os.path.join(out, name), "rb") as fh:
                self.assertEqual(fh.read(8), b"\x89PNG\r\n\x1a\n", name)
        with open(os.path.join(out, "index.html")) as fh:
            html = fh.read()
        with open(os.path.join(out, "index.md")) as fh:
            md = fh.read()
        links = set(re.findall(r'(?:src|href)="([^"]+)"', html))
        for name in ("curves.png", "masks_1.png", "epg_vs_wga.png"):
            self.assertIn(name, links)
            self.assertIn(f"({name})", md)
        pictures = [l for l in links if "/pictures/" in l]
        self.assertGreaterEqual(len(pictures), 2)   # each run writes test_first + least_confident
        for run_dir in self.run_dirs.values():
            self.assertTrue(any(os.path.basename(run_dir) in l for l in pictures), run_dir)
        for link in links:
            self.assertTrue(os.path.isfile(os.path.join(out, link)), link)


    def test_plots_on_a_full_disk_leave_no_file_half_written(self):
        # Every write into the output folder fails with ENOSPC (tests/shim) after `budget`
        # bytes: nothing at all, one plot's worth, and most of them. plots.py exits 1 with
        # the file named and no traceback; every file there is complete (each PNG ends with
        # its IEND chunk), no index names a plot that is missing, no temporary file is left.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from fault_log import record_fault
        shim = os.environ["AIM_ENOSPC_SHIM"]
        for budget in (0, 30000, 150000):
            out = os.path.join(self.tmp, f"plots-full-{budget}")
            os.makedirs(out)
            env = dict(os.environ, LD_PRELOAD=shim, AIM_SHIM_PATTERN=out + "/", AIM_SHIM_FAIL="write",
                       AIM_SHIM_BUDGET=str(budget), PYTHONDONTWRITEBYTECODE="1")
            proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "plots.py"), self.results, "--out", out],
                                  capture_output=True, text=True, timeout=300, env=env)
            left = sorted(os.listdir(out))
            print(f"[ plots ] budget {budget}: left {left}", file=sys.stderr)
            pngs_whole = all(png_is_whole(os.path.join(out, n)) for n in left if n.endswith(".png"))
            ok = (proc.returncode == 1 and "no space left on device" in proc.stderr.lower()
                  and "Traceback" not in proc.stderr and pngs_whole
                  and not any(".tmp" in n for n in left)
                  and "index.html" not in left and "index.md" not in left)
            record_fault(f"plots.py with a full disk after {budget} bytes", ok)
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            self.assertIn("no space left on device", proc.stderr.lower())
            self.assertNotIn("Traceback", proc.stderr)
            self.assertTrue(pngs_whole, left)
            self.assertFalse([n for n in left if ".tmp" in n], left)
            self.assertNotIn("index.html", left)
            self.assertNotIn("index.md", left)


    def test_csv_on_a_full_disk_is_whole_or_absent(self):
        # aimresults.py --csv with every write into its folder failing (ENOSPC after 0 and
        # 2000 bytes): exit 1 naming the file, no traceback, no CSV and no temporary file.
        # Before, pandas wrote the CSV in place: a traceback and a truncated table that read
        # as a shorter one. A --csv into a missing folder is refused before any run is read.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from fault_log import record_fault
        shim = os.environ["AIM_ENOSPC_SHIM"]
        for budget in (0, 2000):
            out = os.path.join(self.tmp, f"csv-full-{budget}")
            os.makedirs(out)
            env = dict(os.environ, LD_PRELOAD=shim, AIM_SHIM_PATTERN=out + "/", AIM_SHIM_FAIL="write",
                       AIM_SHIM_BUDGET=str(budget), PYTHONDONTWRITEBYTECODE="1")
            proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "aimresults.py"), self.results,
                                   "--csv", os.path.join(out, "all.csv")],
                                  capture_output=True, text=True, timeout=300, env=env)
            left = os.listdir(out)
            ok = (proc.returncode == 1 and "no space left on device" in proc.stderr.lower()
                  and "all.csv" in proc.stderr and "Traceback" not in proc.stderr and not left)
            record_fault(f"aimresults.py --csv with a full disk after {budget} bytes", ok)
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            self.assertIn("no space left on device", proc.stderr.lower())
            self.assertNotIn("Traceback", proc.stderr)
            self.assertEqual(left, [])
        whole = os.path.join(self.tmp, "csv-whole.csv")
        proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "aimresults.py"), self.results, "--csv", whole],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(len(pd.read_csv(whole)), 0)
        missing = os.path.join(self.tmp, "no-such-folder", "all.csv")
        proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "aimresults.py"), self.results, "--csv", missing],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("does not exist", proc.stderr)


if __name__ == "__main__":
    unittest.main()
