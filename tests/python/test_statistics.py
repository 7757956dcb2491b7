"""The report's statistics against scipy.stats (Debian's python3-scipy).

Run from CTest (python.statistics) or by hand:

    AIMRUN=build/runner/aimrun AIM_STATS_PROBE=build/tests/aim_stats_probe \\
        /usr/bin/python3 -m unittest -v tests/python/test_statistics.py

results/statistics.cpp is reached through tests/stats_probe.cpp: the t distribution, the
paired and Welch tests on random cases (n = 2..30, spreads from 1e-9 to 1e8, offsets) and
on degenerate ones (identical values, n = 1). Then result folders with known values
(written by the probe) go through `aimrun report --format csv` and aimresults.compare, and
every difference, interval and p-value is recomputed here with scipy; the verdicts against
reference numbers and the --where / --group-by filters are checked on folders whose answer
is known.
"""
import csv
import io
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # stats_probe.py beside this file
from stats_probe import SOURCE_DIR, probe
AIMRUN = os.environ.get("AIMRUN", os.path.join(SOURCE_DIR, "build", "runner", "aimrun"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts"))

try:
    import scipy.stats as st
    import scipy.special as sp
except ImportError:  # reported as not run, never as passed
    st = None


def parse_test(line):
    f = line.split()
    return dict(defined=f[0] == "1", mean=float(f[1]), lo=float(f[2]), hi=float(f[3]), t=float(f[4]),
                df=float(f[5]), p=float(f[6]), n_a=int(f[7]), n_b=int(f[8]), paired=f[9] == "1")


def fmt(values):
    return " ".join(repr(float(v)) for v in values)


def welch_df(a, b):
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    return (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)), math.sqrt(va + vb)


@unittest.skipIf(st is None, "NOT RUN: scipy is not installed (apt-get install python3-scipy)")
class Distribution(unittest.TestCase):
    def test_incomplete_beta(self):
        rng = np.random.default_rng(1)
        cases = [(a, b, x) for a, b, x in zip(10 ** rng.uniform(-1, 4, 300), 10 ** rng.uniform(-1, 2, 300),
                                              rng.uniform(0, 1, 300))]
        cases += [(0.5, 0.5, 0.0), (2.0, 3.0, 1.0), (1e5, 0.5, 0.99999)]
        got = [float(x) for x in probe([f"beta {a!r} {b!r} {x!r}" for a, b, x in cases])]
        for (a, b, x), g in zip(cases, got):
            self.assertAlmostEqual(g, sp.betainc(a, b, x), delta=1e-12 + 1e-9 * sp.betainc(a, b, x),
                                   msg=f"I_{x}({a}, {b})")

    def test_two_sided_p_and_quantile(self):
        dfs = [1, 1.5, 2, 3, 4.7, 10, 29, 100, 1e4, 1e6]
        ts = [0, 1e-8, 0.3, 1, 2.2, 4.3, 12.7, 80, 1e4]
        cases = [(t, df) for t in ts for df in dfs]
        got = [float(x) for x in probe([f"p {t!r} {df!r}" for t, df in cases])]
        for (t, df), g in zip(cases, got):
            want = 2 * st.t.sf(t, df)
            self.assertLessEqual(abs(g - want), 1e-13 + 1e-8 * want, f"p(t={t}, df={df}): {g} vs {want}")
        qs = [0.5, 0.6, 0.9, 0.975, 0.995, 0.9999, 0.025, 1e-6]
        cases = [(q, df) for q in qs for df in dfs]
        got = [float(x) for x in probe([f"ppf {q!r} {df!r}" for q, df in cases])]
        for (q, df), g in zip(cases, got):
            # scipy's ppf itself is off by up to ~4e-9 (df = 3: t.sf(t.ppf(0.9, 3), 3) = 0.0999999996):
            # close to it, and exact where scipy's own tail function says so.
            want = st.t.ppf(q, df)
            self.assertLessEqual(abs(g - want), 1e-8 * max(1, abs(want)), f"ppf({q}, {df}): {g} vs {want}")
            tail = st.t.sf(g, df) if q > 0.5 else st.t.cdf(g, df)
            self.assertLessEqual(abs(tail - min(q, 1 - q)), (1e-10 if df <= 1e4 else 1e-8) * min(q, 1 - q), f"tail at ppf({q}, {df})")


@unittest.skipIf(st is None, "NOT RUN: scipy is not installed (apt-get install python3-scipy)")
class Tests(unittest.TestCase):
    def random_cases(self, count, paired):
        rng = np.random.default_rng(7 if paired else 8)
        for i in range(count):
            n = [2, 2, 3, 4, 5, 8, 30][i % 7]
            m = n if paired else [2, 3, 5, 9][i % 4]
            scale = 10.0 ** rng.choice([-9, -3, 0, 2, 8])
            # An offset far above a tiny spread leaves too few digits for any two summation
            # orders to agree (numpy sums pairwise): offsets only where the spread is >= 1e-3.
            offset = rng.choice([0.0, 50.0, -1e3]) if scale >= 1e-3 else 0.0
            a = offset + scale * rng.normal(size=n)
            b = offset + rng.normal(0, scale, m) + (scale * rng.normal() if i % 3 else 0)
            if not paired and i % 5 == 0:
                b = b * rng.choice([1e-3, 1e3])  # very different spreads
            yield a, b

    def check(self, got, mean, lo, hi, p, df, scale):
        tol = 1e-9 * scale + 1e-12 * max(1.0, abs(mean))
        self.assertTrue(got["defined"])
        self.assertLessEqual(abs(got["mean"] - mean), tol)
        self.assertLessEqual(abs(got["lo"] - lo), 1e-7 * (hi - lo) + tol, (got, lo, hi))
        self.assertLessEqual(abs(got["hi"] - hi), 1e-7 * (hi - lo) + tol, (got, lo, hi))
        self.assertLessEqual(abs(got["p"] - p), 1e-12 + 1e-7 * p, (got["p"], p))
        self.assertLessEqual(abs(got["df"] - df), 1e-9 * df)

    def test_paired_against_ttest_rel(self):
        cases = list(self.random_cases(210, True))
        got = probe([f"paired {fmt(a)} | {fmt(b)}" for a, b in cases])
        for (a, b), line in zip(cases, got):
            d = a - b
            n = len(d)
            res = st.ttest_rel(a, b)
            se = d.std(ddof=1) / math.sqrt(n)
            half = st.t.ppf(0.975, n - 1) * se
            g = parse_test(line)
            self.assertTrue(g["paired"])
            self.assertEqual((g["n_a"], g["n_b"]), (n, n))
            self.check(g, d.mean(), d.mean() - half, d.mean() + half, res.pvalue, n - 1, se)
            if hasattr(res, "confidence_interval"):
                ci = res.confidence_interval(0.95)
                self.assertLessEqual(abs(g["lo"] - ci.low), 1e-7 * (ci.high - ci.low) + 1e-9 * se)

    def test_welch_against_ttest_ind(self):
        cases = list(self.random_cases(210, False))
        got = probe([f"welch {fmt(a)} | {fmt(b)}" for a, b in cases])
        for (a, b), line in zip(cases, got):
            res = st.ttest_ind(a, b, equal_var=False)
            df, se = welch_df(a, b)
            mean = a.mean() - b.mean()
            half = st.t.ppf(0.975, df) * se
            g = parse_test(line)
            self.assertFalse(g["paired"])
            self.assertEqual((g["n_a"], g["n_b"]), (len(a), len(b)))
            self.check(g, mean, mean - half, mean + half, res.pvalue, df, se)

    def test_one_sample_against_ttest_1samp(self):
        rng = np.random.default_rng(3)
        cases = [rng.normal(5, 10.0 ** rng.uniform(-6, 6), n) for n in (2, 3, 5, 10, 40) for _ in range(20)]
        got = probe([f"one {fmt(a)}" for a in cases])
        for a, line in zip(cases, got):
            n = len(a)
            se = a.std(ddof=1) / math.sqrt(n)
            half = st.t.ppf(0.975, n - 1) * se
            self.check(parse_test(line), a.mean(), a.mean() - half, a.mean() + half,
                       st.ttest_1samp(a, 0).pvalue, n - 1, se)

    def test_degenerate_cases_follow_the_documented_definition(self):
        same = parse_test(probe(["paired 1 2 3 | 1 2 3"])[0])
        self.assertEqual((same["mean"], same["lo"], same["hi"], same["p"]), (0.0, 0.0, 0.0, 1.0))
        self.assertTrue(math.isnan(st.ttest_rel([1, 2, 3], [1, 2, 3]).pvalue))  # scipy: 0/0
        shift = parse_test(probe(["paired 2 3 4 | 1 2 3"])[0])
        self.assertEqual((shift["mean"], shift["lo"], shift["hi"], shift["p"]), (1.0, 1.0, 1.0, 0.0))
        flat = parse_test(probe(["welch 5 5 5 | 3 3"])[0])
        self.assertEqual((flat["mean"], flat["lo"], flat["hi"], flat["p"]), (2.0, 2.0, 2.0, 0.0))
        zero = parse_test(probe(["welch 5 5 | 5 5 5"])[0])
        self.assertEqual((zero["mean"], zero["p"]), (0.0, 1.0))
        one_flat = parse_test(probe(["welch 5 5 5 | 1 2 6"])[0])  # one side without spread: scipy defines it
        want = st.ttest_ind([5, 5, 5], [1, 2, 6], equal_var=False).pvalue
        self.assertAlmostEqual(one_flat["p"], want, delta=1e-12)
        self.assertEqual(one_flat["df"], 2.0)
        for line in probe(["paired 1 | 2", "welch 1 | 2 3", "one 4"]):
            g = parse_test(line)
            self.assertFalse(g["defined"])
            self.assertTrue(math.isnan(g["p"]) and math.isnan(g["lo"]) and math.isnan(g["hi"]))
        self.assertEqual(parse_test(probe(["welch 1 | 2 3"])[0])["mean"], -1.5)


# Runs with known values: (correlation, method, seed, acc, worst-group, epg).
RUNS = []
_rng = np.random.default_rng(11)
for corr, method, seeds in [(0.95, "vanilla", [0, 1, 2]), (0.95, "aim", [0, 1, 2]), (0.95, "bottom_up", [0, 1, 3]),
                            (1.0, "vanilla", [0, 1]), (1.0, "aim", [0, 1, 2, 3])]:
    for s in seeds:
        base = {"vanilla": 0.80, "aim": 0.86, "bottom_up": 0.79}[method] - (0.1 if corr == 1.0 else 0)
        RUNS.append((corr, method, s, base + 0.02 * _rng.normal(), base - 0.2 + 0.05 * _rng.normal(),
                     0.5 + 0.01 * _rng.normal()))


def write_folder(path, runs, explain="true", select="last"):
    probe([f"run {path} {m} {s} {c} {a!r} {w!r} {e!r} {explain} {select} 7" for c, m, s, a, w, e in runs])


def report(*args):
    return subprocess.run([AIMRUN, "report", *args], capture_output=True, text=True)


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@unittest.skipIf(st is None, "NOT RUN: scipy is not installed (apt-get install python3-scipy)")
class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = os.path.join(cls.tmp.name, "sweep")
        write_folder(cls.dir, RUNS)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def expected(self, corr, method, column):
        idx = {"test acc": 3, "test worst-group": 4, "EPG gradcam": 5}[column]
        a = {r[2]: 100 * r[idx] for r in RUNS if r[0] == corr and r[1] == method}
        b = {r[2]: 100 * r[idx] for r in RUNS if r[0] == corr and r[1] == "vanilla"}
        if set(a) == set(b):
            seeds = sorted(a)
            x, y = np.array([a[s] for s in seeds]), np.array([b[s] for s in seeds])
            d = x - y
            se = d.std(ddof=1) / math.sqrt(len(d))
            half = st.t.ppf(0.975, len(d) - 1) * se
            return "paired", d.mean(), d.mean() - half, d.mean() + half, st.ttest_rel(x, y).pvalue
        x, y = np.array(list(a.values())), np.array(list(b.values()))
        df, se = welch_df(x, y)
        half = st.t.ppf(0.975, df) * se
        m = x.mean() - y.mean()
        return "welch", m, m - half, m + half, st.ttest_ind(x, y, equal_var=False).pvalue

    def test_csv_differences_match_scipy(self):
        out = report(self.dir, "--format", "csv")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = csv_rows(out.stdout)
        self.assertEqual(len(rows), 5)
        checked = 0
        for row in rows:
            if row["method"] == "vanilla":
                self.assertEqual(row["test acc - vanilla"], "-")
                continue
            corr = float(row["dataset.correlation"])
            for column in ("test acc", "test worst-group", "EPG gradcam"):
                test, m, lo, hi, p = self.expected(corr, row["method"], column)
                name = f"{column} - vanilla"
                self.assertEqual(row[name + " test"], test)
                for got, want in ((row[name], m), (row[name + " lo"], lo), (row[name + " hi"], hi)):
                    self.assertAlmostEqual(float(got), want, delta=1e-4)
                self.assertAlmostEqual(float(row[name + " p"]), p, delta=1e-5 * max(p, 1e-3))
                checked += 1
        self.assertEqual(checked, 9)
        tests = {(r["dataset.correlation"], r["method"]): r["test acc - vanilla test"] for r in rows}
        self.assertEqual(tests[("0.95", "aim")], "paired")
        self.assertEqual(tests[("0.95", "bottom_up")], "welch")  # seed 3 has no vanilla partner
        self.assertEqual(tests[("1.0", "aim")], "welch")
        self.assertTrue(all(r["explains"] == "true" for r in rows))
        self.assertTrue(all(r["scored epoch"] == "last" for r in rows))

    def test_markdown_and_latex_carry_the_differences(self):
        md = report(self.dir).stdout
        test, m, lo, hi, p = self.expected(0.95, "aim", "test acc")
        cell = f"{m:+.1f} [{lo:+.1f}, {hi:+.1f}]"
        line = next(l for l in md.splitlines() if "aim − vanilla" in l and "| test acc " in l and "| 0.95" in l)
        self.assertIn(cell, line)
        self.assertIn("| paired", line)
        self.assertIn("Grad-CAM and Input x Gradient explain the true class (eval.explain: true).", md)
        latex = report(self.dir, "--format", "latex").stdout
        self.assertIn("aim -- vanilla", latex)
        self.assertIn(cell, latex)

    def test_aimresults_compare_matches_scipy_and_the_report(self):
        import aimresults
        df = aimresults.load(self.dir, [])
        table = aimresults.compare(df, "vanilla")
        self.assertEqual(len(table), 3 * 3)  # 3 compared rows x (acc, worst-group, epg)
        for _, r in table.iterrows():
            column = {"accuracy": "test acc", "worst_group_accuracy": "test worst-group",
                      "epg.gradcam": "EPG gradcam"}[r["metric"]]
            test, m, lo, hi, p = self.expected(float(r["dataset.correlation"]), r["method"], column)
            self.assertEqual(r["test"], test)
            for got, want in ((r.difference, m), (r.ci_low, lo), (r.ci_high, hi), (r.p, p)):
                self.assertAlmostEqual(got, want, delta=1e-9 * max(1, abs(want)))

    def test_where_and_group_by(self):
        rows = csv_rows(report(self.dir, "--format", "csv", "--where", "dataset.correlation=1").stdout)
        self.assertEqual(sorted(r["method"] for r in rows), ["aim", "vanilla"])
        rows = csv_rows(report(self.dir, "--format", "csv", "--where", "dataset.correlation=1.0",
                               "--where", "method.name=aim").stdout)
        self.assertEqual([(r["method"], r["n"]) for r in rows], [("aim", "4")])
        rows = csv_rows(report(self.dir, "--format", "csv", "--group-by", "method.name").stdout)
        self.assertEqual({r["method"]: r["n"] for r in rows}, {"vanilla": "5", "aim": "7", "bottom_up": "3"})
        bad = report(self.dir, "--where", "dataset.corelation=1")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--where dataset.corelation: no complete run has this config key (did you mean "
                      "dataset.correlation?)", bad.stderr)
        bad = report(self.dir, "--where", "dataset.correlation")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("expected key=value", bad.stderr)
        self.assertEqual(report(self.dir, "--group-by", "method.nam").returncode, 2)
        import aimresults
        df = aimresults.load(self.dir, [])
        self.assertEqual(sorted(aimresults.where(df, ["dataset.correlation=1"])["method.name"].unique()),
                         ["aim", "vanilla"])
        groups = aimresults.summarize_groups(df, ["method.name"])
        self.assertEqual(int(groups.loc["aim", ("accuracy", "count")]), 7)
        script = os.path.join(SOURCE_DIR, "scripts", "aimresults.py")
        cli = subprocess.run([sys.executable, script, self.dir, "--where", "method.name=aim",
                              "--group-by", "method.name"], capture_output=True, text=True)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertIn("7 runs", cli.stdout)
        cli = subprocess.run([sys.executable, script, self.dir, "--where", "nope=1"], capture_output=True, text=True)
        self.assertEqual(cli.returncode, 2)
        self.assertIn("nope", cli.stderr)


@unittest.skipIf(st is None, "NOT RUN: scipy is not installed (apt-get install python3-scipy)")
class Verdicts(unittest.TestCase):
    """Folders whose verdicts are known: acc values chosen so that the 95% CI is narrow or
    wide and the reference inside or outside it."""

    def test_reproduced_not_reproduced_underpowered_and_sign(self):
        with tempfile.TemporaryDirectory() as tmp:
            runs = []
            # corr 0.95: vanilla tight around 80 (CI ~ +-0.5), aim tight around 90.
            for s, (v, a) in enumerate([(0.800, 0.900), (0.802, 0.903), (0.798, 0.897)]):
                runs += [(0.95, "vanilla", s, v, 0.5, 0.5), (0.95, "aim", s, a, 0.5, 0.5)]
            # corr 1.0: aim spread widely (CI half-width >> 2 points).
            for s, a in enumerate([0.60, 0.75, 0.90]):
                runs += [(1.0, "vanilla", s, 0.70 + 0.001 * s, 0.5, 0.5), (1.0, "aim", s, a, 0.5, 0.5)]
            write_folder(tmp + "/d", runs)
            ref = tmp + "/paper.yaml"
            with open(ref, "w") as f:
                f.write("source: test\nmetrics: {acc: test acc}\nrows:\n"
                        "  - {name: v95, match: {dataset.correlation: 0.95, method.name: vanilla}, acc: 80.1}\n"
                        "  - {name: a95, match: {dataset.correlation: 0.95, method.name: aim}, acc: 85.0}\n"
                        "  - {name: v100, match: {dataset.correlation: 1.0, method.name: vanilla}, acc: 75.0}\n"
                        "  - {name: a100, match: {dataset.correlation: 1.0, method.name: aim}, acc: 70.0}\n")
            out = report(tmp + "/d", "--format", "csv", "--compare", ref)
            self.assertEqual(out.returncode, 0, out.stderr)
            rows = {(r["dataset.correlation"], r["method"]): r for r in csv_rows(out.stdout)}
            self.assertEqual(rows[("0.95", "vanilla")]["verdict acc"], "reproduced")
            self.assertEqual(rows[("0.95", "aim")]["verdict acc"], "not reproduced")
            self.assertEqual(rows[("1.0", "vanilla")]["verdict acc"], "not reproduced")
            self.assertEqual(rows[("1.0", "aim")]["verdict acc"], "underpowered")
            # Signs: paper aim - vanilla = +4.9 (ours +10: agrees), -5 at 1.0 (ours +5: disagrees).
            self.assertEqual(rows[("0.95", "aim")]["sign acc"], "agrees")
            self.assertAlmostEqual(float(rows[("0.95", "aim")]["paper acc - vanilla"]), 4.9, delta=1e-9)
            self.assertEqual(rows[("1.0", "aim")]["sign acc"], "disagrees")
            # The verdict follows the CI computed with scipy.
            a = np.array([90.0, 90.3, 89.7])
            half = st.t.ppf(0.975, 2) * a.std(ddof=1) / math.sqrt(3)
            self.assertLess(half, 2)
            self.assertFalse(a.mean() - half <= 85.0 <= a.mean() + half)
            # A wider margin turns the narrow "not reproduced" into... still not reproduced; a
            # margin below the tight CI's half-width makes it underpowered.
            tight = report(tmp + "/d", "--format", "csv", "--compare", ref, "--margin", str(half / 2))
            rows = {(r["dataset.correlation"], r["method"]): r for r in csv_rows(tight.stdout)}
            self.assertEqual(rows[("0.95", "aim")]["verdict acc"], "underpowered")
            md = report(tmp + "/d", "--compare", ref).stdout
            self.assertIn("| agrees", md)
            self.assertIn("| disagrees", md)


if __name__ == "__main__":
    unittest.main()
