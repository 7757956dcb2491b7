"""`aimrun report DIR --html OUT.html` (scripts/report_html.py), on a folder of runs built
here: three tiny runs (vanilla seeds 0 and 1, AIM seed 0; 1 epoch on the built-in
benchmark), a failed run and an unreadable one.

    python3 test_html_report.py page      the page itself, without a browser (always runs)
    python3 test_html_report.py browser   the page in headless Chromium through chromedriver's
                                          W3C WebDriver HTTP API (urllib; no selenium):
                                          no console errors, every image decodes, the table
                                          equals `aimrun report --format csv`, a click on a
                                          column header sorts, the split switch works.
                                          Exits 77 (CTest: not run) without chromium.

Run from CTest (tests/CMakeLists.txt: python.html_report, python.html_browser).
"""
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import warnings

SOURCE_DIR = os.path.abspath(os.environ.get(
    "AIM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
AIMRUN = os.environ.get("AIMRUN", os.path.join(SOURCE_DIR, "build", "runner", "aimrun"))
SKIP = 77  # CTest's SKIP_RETURN_CODE for these tests: reported as not run

CONFIG = """\
name: htmltest
dataset:
  name: builtin
  classes: binary
  correlation: 0.95
  train_size: 128
  val_size: 64
  test_size: 64
model:
  backbone: small_cnn
  width: 8
train:
  epochs: 1
  batch_size: 32
  lr: 0.05
method:
  stages: 2
  target: 0.25
eval:
  keep_maps: 4
  pictures: 2
"""

FOLDER = None  # built once per process by setUpModule


def aimrun(*args, check=True, env=None):
    proc = subprocess.run([AIMRUN, *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))
    if check and proc.returncode not in (0, 3):
        raise RuntimeError(f"aimrun {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def train(config, out, *overrides):
    proc = aimrun("train", config, f"output_dir={out}", "threads=1", *overrides)
    m = re.search(r"complete: (\S+/result\.h5)", proc.stdout + proc.stderr)
    if not m:
        raise RuntimeError(f"no result path in:\n{proc.stdout}{proc.stderr}")
    return os.path.dirname(m.group(1))


def build_folder():
    """<tmp>/sweep: links to 3 complete runs, a failed run and an unreadable one."""
    tmp = tempfile.mkdtemp(prefix="aimrun-html-test-")
    config = os.path.join(tmp, "tiny.yaml")
    with open(config, "w") as fh:
        fh.write(CONFIG)
    out = os.path.join(tmp, "out")
    cache = f"dataset.cache_dir={os.path.join(tmp, 'cache')}"
    done = [train(config, out, "method.name=vanilla", "seed=0", cache),
            train(config, out, "method.name=vanilla", "seed=1", cache),
            train(config, out, "method.name=aim", "seed=0", cache)]
    # One run without aimrun's picture grids: the page draws its kept maps from result.h5.
    shutil.rmtree(os.path.join(done[1], "pictures"), ignore_errors=True)
    sweep = os.path.join(tmp, "sweep")
    os.makedirs(sweep)
    for d in done:
        os.symlink(d, os.path.join(sweep, os.path.basename(d)))
    # A failed run: its config, FAILED and the session ledger, as aimrun leaves them.
    failed = os.path.join(sweep, "failedrun")
    os.makedirs(failed)
    shutil.copy(os.path.join(done[0], "config.yaml"), failed)
    with open(os.path.join(failed, "FAILED"), "w") as fh:
        fh.write("loss is not finite at epoch 0 step 3\n")
    with open(os.path.join(failed, "sessions.jsonl"), "w") as fh:
        fh.write(json.dumps({"event": "start", "time": time.time() - 60, "hosts": "node1"}) + "\n")
        fh.write(json.dumps({"event": "end", "time": time.time() - 30, "exit_code": 137, "by": "sbatch"}) + "\n")
    # An unreadable run: half a result file.
    broken = os.path.join(sweep, "brokenrun")
    os.makedirs(broken)
    shutil.copy(os.path.join(done[2], "config.yaml"), broken)
    with open(os.path.join(done[2], "result.h5"), "rb") as fh:
        data = fh.read()
    with open(os.path.join(broken, "result.h5"), "wb") as fh:
        fh.write(data[:len(data) // 3])
    html_path = os.path.join(tmp, "report.html")
    proc = aimrun("report", sweep, "--html", html_path)
    csv_proc = aimrun("report", sweep, "--format", "csv")
    return {"tmp": tmp, "sweep": sweep, "html": html_path, "proc": proc,
            "csv": list(csv.reader(io.StringIO(csv_proc.stdout))), "done": done}


def render_folder(sweep):
    """The page of an existing folder of runs (AIM_HTML_SWEEP, e.g. outputs/quickstart): the
    browser checks run on a real sweep's page too."""
    tmp = tempfile.mkdtemp(prefix="aimrun-html-")
    html_path = os.path.join(tmp, "report.html")
    proc = aimrun("report", sweep, "--html", html_path, check=False)
    if not os.path.exists(html_path):
        raise RuntimeError(f"aimrun report {sweep} --html wrote no page: {proc.stderr}")
    csv_proc = aimrun("report", sweep, "--format", "csv", check=False)
    return {"tmp": tmp, "sweep": sweep, "html": html_path, "proc": proc,
            "csv": list(csv.reader(io.StringIO(csv_proc.stdout))), "done": []}


def copies_folder(n):
    """AIM_HTML_COPIES=N: N copies of the constructed folder's complete runs (bench/
    sweep_copies.py: each its own run id and seed, and its source's summary.json as aimrun
    wrote it, made the copy's; tests/python/summary_writer.py's where aimrun wrote none), so the browser checks run on the page of a sweep at the
    size of a paper (issue 33: 1000 runs)."""
    sys.path.insert(0, os.path.join(SOURCE_DIR, "bench"))
    import sweep_copies
    base = build_folder()
    dst = os.path.join(base["tmp"], f"copies-{n}")
    sweep_copies.make_copies(base["sweep"], dst, n, patch_summaries=True,
                             log=lambda m: print(m, file=sys.stderr))
    folder = render_folder(dst)
    folder["tmp_base"] = base["tmp"]
    return folder


def setUpModule():
    global FOLDER
    if not os.access(AIMRUN, os.X_OK):
        raise RuntimeError(f"aimrun binary not found at {AIMRUN} (set AIMRUN)")
    existing = os.environ.get("AIM_HTML_SWEEP")
    copies = int(os.environ.get("AIM_HTML_COPIES", "0"))
    FOLDER = render_folder(existing) if existing else copies_folder(copies) if copies else build_folder()


def tearDownModule():
    if FOLDER:
        shutil.rmtree(FOLDER["tmp"], ignore_errors=True)
        if FOLDER.get("tmp_base"):
            shutil.rmtree(FOLDER["tmp_base"], ignore_errors=True)


def page_tables(text):
    """{table id: [rows of cell texts]} of the page (a small parser; no browser)."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.current, self.row, self.cell = {}, None, None, None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "table" and attrs.get("id"):
                self.current = self.tables.setdefault(attrs["id"], [])
            elif tag == "tr" and self.current is not None:
                self.row = []
            elif tag in ("td", "th") and self.row is not None:
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.row.append(self.cell)
                self.cell = None
            elif tag == "tr" and self.row is not None:
                self.current.append(self.row)
                self.row = None
            elif tag == "table":
                self.current = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    p = P()
    p.feed(text)
    return p.tables


def runs_data(text):
    """The runs table's rows: the JSON block the page's script draws them from."""
    m = re.search(r'<script type="application/json" id="runs-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


class PageTest(unittest.TestCase):
    def test_differences_table_holds_the_csv_differences(self):
        """Every "<metric> - <baseline>" cell of the CSV is a row of the page's differences
        table, with the same difference and p-value."""
        with open(FOLDER["html"], encoding="utf-8") as fh:
            tables = page_tables(fh.read())
        header, rows = FOLDER["csv"][0], FOLDER["csv"][1:]
        col = {h: i for i, h in enumerate(header)}
        expected = []
        for r in rows:
            base = r[col["baseline"]]
            for h in header:
                if base not in ("", "-") and h.endswith(" - " + base) and r[col[h]] not in ("", "-"):
                    expected.append((r[col["method"]] + " − " + base, h[:-len(" - " + base)],
                                     round(float(r[col[h]]), 1), r[col[h + " p"]]))
        self.assertGreater(len(expected), 0)
        got_header, got = tables["differences"][0], tables["differences"][1:]
        g = {h: i for i, h in enumerate(got_header)}
        got_cells = [(x[g["comparison"]], x[g["metric"]], float(x[g["difference [95% CI]"]].split()[0]), x[g["p"]])
                     for x in got]
        self.assertEqual(got_cells, expected)

    def test_page_holds_the_csv_table_and_the_runs_not_in_it(self):
        self.assertEqual(FOLDER["proc"].returncode, 3, FOLDER["proc"].stderr)  # partial: failed, unreadable
        self.assertIn("wrote " + FOLDER["html"], FOLDER["proc"].stdout)
        with open(FOLDER["html"], encoding="utf-8") as fh:
            text = fh.read()
        tables = page_tables(text)
        self.assertGreaterEqual(len(FOLDER["csv"]), 3)  # header, vanilla, aim
        self.assertEqual(tables["results"], FOLDER["csv"])
        problems = {r[0]: r for r in tables["problems"][1:]}
        self.assertIn("failed", problems)
        self.assertIn("loss is not finite", problems["failed"][2])
        self.assertIn("SIGKILL", problems["failed"][3])  # the ledger's last cause
        self.assertIn("unreadable", problems)
        self.assertIn("brokenrun", problems["unreadable"][1])
        # One section per complete run, with its config and pictures.
        for d in FOLDER["done"]:
            self.assertIn(f'id="run-{os.path.basename(d)}"', text)
        self.assertIn("seed: 1 (others: 0)", text)  # what differs within the vanilla group
        self.assertIn("Least confident masks", text)
        self.assertIn('alt="maps"', text)  # the run without pictures/: its kept maps
        self.assertIn('alt="test_least_confident.png"', text)  # aimrun's grids of the others

    def test_report_options_reach_the_page(self):
        # --compare adds the paper's columns to the CSV; the page shows the same table.
        paper = os.path.join(SOURCE_DIR, "experiments", "paper_numbers.yaml")
        out = os.path.join(FOLDER["tmp"], "compare.html")
        aimrun("report", FOLDER["sweep"], "--html", out, "--compare", paper)
        table = list(csv.reader(io.StringIO(
            aimrun("report", FOLDER["sweep"], "--format", "csv", "--compare", paper).stdout)))
        self.assertGreater(len(table[0]), len(FOLDER["csv"][0]))
        with open(out, encoding="utf-8") as fh:
            self.assertEqual(page_tables(fh.read())["results"], table)

    def test_runs_table_holds_every_run_and_split(self):
        """The paged runs table's JSON block: one row per run and split aimresults reads,
        each run pictured on the page or named with its `aimrun pictures` command."""
        sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts"))
        import aimresults
        with open(FOLDER["html"], encoding="utf-8") as fh:
            text = fh.read()
        data = runs_data(text)
        col = {h: i for i, h in enumerate(data["columns"])}
        got = sorted((r[col["run_id"]], r[col["split"]]) for r in data["rows"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = aimresults.load(FOLDER["sweep"], [])
        self.assertEqual(got, sorted(zip(df.run_id, df.split)))
        pictured = {r[col["run_id"]] for r in data["rows"] if r[col["pictures"]] == "on this page"}
        self.assertGreaterEqual(len(pictured), min(df.run_id.nunique(), 1))
        for rid in pictured:
            self.assertIn(f'id="run-{rid}"', text)
        for r in data["rows"]:
            if r[col["run_id"]] not in pictured:
                self.assertRegex(r[col["pictures"]], r"^aimrun pictures --run \S+ --least-confident \d+$")
                self.assertNotIn(f'id="run-{r[col["run_id"]]}"', text)
        # The page's budget: at most 12 pictured runs, 25 MB (issue 33).
        self.assertLessEqual(len(pictured), 12)
        self.assertLessEqual(os.path.getsize(FOLDER["html"]), 25 << 20)

    def test_page_needs_nothing_outside_itself(self):
        with open(FOLDER["html"], encoding="utf-8") as fh:
            text = fh.read()
        refs = re.findall(r'(?:src|href)="([^"]*)"', text)
        self.assertGreater(len(refs), 5)
        self.assertEqual([r for r in refs if not r.startswith("data:")], [])
        self.assertNotRegex(text, r"https?://")
        self.assertNotIn("<link rel=\"stylesheet\"", text)

    def test_no_partial_file_and_clear_errors(self):
        tmp = FOLDER["tmp"]
        # The output folder must exist: exit 2 naming --html.
        proc = aimrun("report", FOLDER["sweep"], "--html", os.path.join(tmp, "nope", "r.html"), check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--html", proc.stderr)
        # A Python without matplotlib: a clear message, exit 2, no file.
        fake = os.path.join(tmp, "fake-modules", "matplotlib")
        os.makedirs(fake, exist_ok=True)
        with open(os.path.join(fake, "__init__.py"), "w") as fh:
            fh.write("raise ImportError('hidden for the test', name='matplotlib')\n")
        out = os.path.join(tmp, "nomatplotlib.html")
        proc = aimrun("report", FOLDER["sweep"], "--html", out, check=False,
                      env={"PYTHONPATH": os.path.dirname(fake)})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("matplotlib", proc.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual([n for n in os.listdir(tmp) if ".tmp" in n], [])
        # No python at all.
        proc = aimrun("report", FOLDER["sweep"], "--html", out, check=False,
                      env={"AIMRUN_PYTHON": os.path.join(tmp, "no-python")})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("AIMRUN_PYTHON", proc.stderr)


# --------------------------------------------------------------------------- browser

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    """The few W3C WebDriver commands the test needs, over HTTP with urllib."""

    def __init__(self, chromedriver, chromium):
        self.port = free_port()
        self.proc = subprocess.Popen([chromedriver, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            try:
                self.call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("chromedriver did not start")
                time.sleep(0.2)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return json.loads(resp.read() or b"{}").get("value")
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"WebDriver {method} {path}: {err.code} {err.read()[:500]!r}") from None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, css):
        element = self.s("POST", "/element", {"using": "css selector", "value": css})
        self.s("POST", f"/element/{next(iter(element.values()))}/click", {})

    def browser_log(self):
        for path in ("/se/log", "/log"):
            try:
                return self.s("POST", path, {"type": "browser"})
            except RuntimeError:
                continue
        raise RuntimeError("chromedriver gives no browser log")

    def quit(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def find_browser():
    chromium = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.access(p, os.X_OK)), None)
    return chromium, driver


class BrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        chromium, driver = find_browser()
        cls.wd = WebDriver(driver, chromium)
        cls.wd.s("POST", "/url", {"url": "file://" + FOLDER["html"]})

    @classmethod
    def tearDownClass(cls):
        cls.wd.quit()

    def results(self):
        return self.wd.js("return Array.from(document.querySelectorAll('#results tr')).map("
                          "r => Array.from(r.children).map(c => c.textContent))")

    def test_1_images_decode_and_nothing_is_fetched(self):
        images = self.wd.js("return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth,"
                            " i.src.slice(0, 5)])")
        self.assertGreater(len(images), 5)
        for alt, complete, width, scheme in images:
            self.assertTrue(complete and width > 0, f"image {alt} does not decode")
            self.assertEqual(scheme, "data:", alt)
        fetched = self.wd.js("return performance.getEntriesByType('resource').map(e => e.name)")
        self.assertEqual([u for u in fetched if not u.startswith("data:")], [])

    def test_2_table_equals_aimrun_report_csv(self):
        self.assertEqual(self.results(), FOLDER["csv"])

    def test_3_clicking_a_header_sorts_the_rows(self):
        header = FOLDER["csv"][0]
        col = header.index("test acc")
        self.wd.click(f"#results thead th:nth-child({col + 1})")
        up = self.results()[1:]
        values = [float(r[col]) for r in up]
        self.assertEqual(values, sorted(values))
        self.wd.click(f"#results thead th:nth-child({col + 1})")
        down = self.results()[1:]
        self.assertEqual([float(r[col]) for r in down], sorted(values, reverse=True))
        if len(set(values)) > 1:
            self.assertNotEqual(up, down)
        if FOLDER["done"]:  # the constructed folder (not AIM_HTML_SWEEP's): rows in a known order
            # n is 2 (vanilla, first in aimrun's order) and 1 (AIM): a click must reorder the rows.
            n = header.index("n")
            self.assertEqual([r[n] for r in FOLDER["csv"][1:]], ["2", "1"])
            self.wd.click(f"#results thead th:nth-child({n + 1})")
            self.assertEqual([r[n] for r in self.results()[1:]], ["1", "2"])
        # Text columns sort too: by method name.
        self.wd.click(f"#results thead th:nth-child({header.index('method') + 1})")
        methods = [r[header.index("method")] for r in self.results()[1:]]
        self.assertEqual(methods, sorted(methods))
        self.assertEqual(sorted(map(tuple, self.results())), sorted(map(tuple, FOLDER["csv"])))

    def test_4_split_switch_shows_one_split(self):
        shown = "return Array.from(document.querySelectorAll('#results th')).filter(" \
                "h => getComputedStyle(h).display !== 'none').map(h => h.textContent)"
        visible = self.wd.js(shown)
        self.assertIn("test acc", visible)
        self.assertNotIn("val acc", visible)
        self.wd.click("#split option[value='val']")
        visible = self.wd.js(shown)
        self.assertIn("val acc", visible)
        self.assertNotIn("test acc", visible)
        self.assertIn("method", visible)

    def runs_page(self):
        return self.wd.js("return [Array.from(document.querySelectorAll('#runs tbody tr')).map("
                          "r => Array.from(r.children).map(c => c.textContent)),"
                          " document.getElementById('runs-info').textContent]")

    def test_4b_runs_table_pages_sorts_and_switches_split(self):
        data = self.wd.js("return JSON.parse(document.getElementById('runs-data').textContent)")
        col = {h: i for i, h in enumerate(data["columns"])}
        split = self.wd.js("return document.getElementById('split').value")
        expected = [r for r in data["rows"] if r[col["split"]] == split]
        rows, info = self.runs_page()
        self.assertLessEqual(len(rows), data["page_size"])
        self.assertIn(f"of {len(expected)}", info)
        # Every page in turn: all rows of the split, each once.
        seen = list(rows)
        for _ in range((len(expected) - 1) // data["page_size"]):
            self.wd.click("#runs-next")
            rows, _ = self.runs_page()
            seen += rows
        self.assertEqual(sorted(map(tuple, seen)), sorted(map(tuple, expected)))
        # Sorting sorts all rows, not one page: the first page starts at the smallest accuracy.
        acc = col["accuracy"]
        self.wd.click(f"#runs thead th:nth-child({acc + 1})")
        values = sorted(float(r[acc]) for r in expected if r[acc] != "-")
        rows, _ = self.runs_page()
        self.assertEqual([float(r[acc]) for r in rows], values[:len(rows)])
        self.wd.click(f"#runs thead th:nth-child({acc + 1})")
        rows, _ = self.runs_page()
        self.assertEqual([float(r[acc]) for r in rows], sorted(values, reverse=True)[:len(rows)])
        # The split switch shows the other split's rows.
        self.wd.click("#split option[value='val']")
        rows, info = self.runs_page()
        self.assertEqual({r[col["split"]] for r in rows}, {"val"})
        self.assertIn(f"of {sum(r[col['split']] == 'val' for r in data['rows'])}", info)
        self.wd.click(f"#split option[value='{split}']")

    def test_5_no_console_errors(self):
        errors = [e for e in self.wd.browser_log() if e.get("level") in ("SEVERE", "ERROR")]
        self.assertEqual(errors, [])


def main(argv):
    which = argv[1] if len(argv) > 1 else "page"
    if which == "browser":
        chromium, driver = find_browser()
        if not chromium or not driver:
            print(f"not run: needs chromium and chromedriver (Debian: apt-get install chromium "
                  f"chromium-driver); found chromium={chromium}, chromedriver={driver}")
            return SKIP
        cases = BrowserTest
    else:
        cases = PageTest
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(cases)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
