#!/usr/bin/python3
"""The run table and the HTML report at the size of a paper's sweep (issue 33).

    /usr/bin/python3 bench/html_report_bench.py SRC WORK --aimrun build/runner/aimrun [--sizes 10,100,1000]
                                                [--python-summaries]

For every size N: bench/sweep_copies.py makes N copies of the real runs under SRC in
WORK/sweep-N (with summaries: the sources' own made the copies' (--patch-summaries), or
`aimrun summarize` with --summarize), then it times `aimresults.py DIR` (the run table), `aimrun report DIR
--html OUT` (wall time and the page's size; this checkout's scripts/report_html.py unless
AIMRUN_SCRIPTS is set) and the page in headless Chromium through
chromedriver: from the navigation until the load event and every image decoded, with the
runs table drawn. Prints one Markdown table row per size.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
import sweep_copies  # noqa: E402


def render_seconds(html):
    from test_html_report import WebDriver, find_browser
    chromium, driver = find_browser()
    if not chromium or not driver:
        return None, "no chromium/chromedriver"
    wd = WebDriver(driver, chromium)
    try:
        wd.s("POST", "/url", {"url": "about:blank"})
        t0 = time.time()
        wd.s("POST", "/url", {"url": "file://" + html})  # returns after the load event
        images = wd.s("POST", "/execute/async", {"script": (
            "var done = arguments[arguments.length - 1];"
            "Promise.all(Array.from(document.images).map(i => i.decode().then(() => 1, () => 0)))"
            ".then(r => { document.body.getBoundingClientRect();"
            " done([r.length, r.reduce((a, b) => a + b, 0), document.querySelectorAll('#runs tbody tr').length]); });"),
            "args": []})
        seconds = time.time() - t0
        errors = [e for e in wd.browser_log() if e.get("level") in ("SEVERE", "ERROR")]
        return seconds, f"{images[1]}/{images[0]} images decoded, {images[2]} table rows drawn, " \
                        f"{len(errors)} console errors"
    finally:
        wd.quit()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src")
    p.add_argument("work")
    p.add_argument("--aimrun", required=True)
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--python-summaries", action="store_true")
    p.add_argument("--summarize", action="store_true",
                   help="summaries by `aimrun summarize` (minutes) instead of the sources' patched ones")
    args = p.parse_args(argv)
    scripts = os.path.join(HERE, "..", "scripts")
    print("| runs | copies s | aimresults.py s | report --html s | page MB | render s | browser |")
    print("|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.sizes.split(",")]:
        dst = os.path.join(args.work, f"sweep-{n}")
        t0 = time.time()
        if not os.path.isdir(dst):
            sweep_copies.make_copies(args.src, dst, n, aimrun=args.aimrun, python_summaries=args.python_summaries,
                                     patch_summaries=not args.summarize,
                                     log=lambda m: print(m, file=sys.stderr))
        copies = time.time() - t0
        t0 = time.time()
        proc = subprocess.run([sys.executable, os.path.join(scripts, "aimresults.py"), dst],
                              capture_output=True, text=True)
        table = time.time() - t0
        if proc.returncode not in (0, 3):
            print(proc.stderr[-2000:], file=sys.stderr)
        html = os.path.join(args.work, f"report-{n}.html")
        t0 = time.time()
        env = dict(os.environ)
        env.setdefault("AIMRUN_SCRIPTS", os.path.abspath(scripts))  # this checkout's report_html.py
        proc = subprocess.run([args.aimrun, "report", dst, "--html", html], capture_output=True, text=True, env=env)
        report = time.time() - t0
        if proc.returncode not in (0, 3):
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        size = os.path.getsize(html) / 1e6
        seconds, note = render_seconds(html)
        print(f"| {n} | {copies:.1f} | {table:.1f} | {report:.1f} | {size:.1f} | "
              f"{'-' if seconds is None else f'{seconds:.1f}'} | {note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
