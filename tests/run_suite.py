#!/usr/bin/env python3
"""Runs one GoogleTest suite of a test binary as one ctest entry and says what ran.

  run_suite.py [--skip-log FILE] -- BINARY --gtest_filter=Suite.* [ARGS...]

One process per suite instead of one per test: each start of a test binary loads libtorch
(about half a second). The binary's output passes through; then, from its JSON report:
  - a test failed, the binary crashed or exited non-zero, or nothing ran: names the failing
    (or last started) tests and exits 1;
  - every test was skipped (GTEST_SKIP) or disabled: exits 77, which ctest shows as not run
    (SKIP_RETURN_CODE 77 on the entry);
  - some were skipped: names them and exits 0 with --skip-log, 77 without it (so the entry is
    never shown as passed while a test of it did not run).
With --skip-log every skipped test is appended to FILE, which tests/skipped_summary.py reports
by name after the run (the entry `tests.skipped`, itself not run when any test was skipped).
"""
import json
import os
import subprocess
import sys
import tempfile

SKIP_CODE = 77


def run_binary(command, report_path):
    """Runs the binary, echoing its output; returns (exit code, last test started and not
    finished, {test: skip message})."""
    proc = subprocess.Popen(command + ["--gtest_output=json:" + report_path],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    running, reasons, after_skip = None, {}, False
    for raw in proc.stdout:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        line = raw.decode(errors="replace").rstrip("\n")
        if line.startswith("[ RUN      ] "):
            running = line[13:].strip()
        elif line.startswith(("[       OK ] ", "[  FAILED  ] ", "[  SKIPPED ] ")):
            running = None
        elif after_skip and running and running not in reasons:
            reasons[running] = line.strip()
        after_skip = line.endswith(": Skipped")
        if after_skip and not running:
            # GoogleTest 1.12 runs the tests of a suite that skips in SetUpTestSuite.
            reasons[None] = "GTEST_SKIP outside a test skips nothing here: skip in SetUp or the test"
    return proc.wait(), running, reasons


def read_report(path):
    """Returns {test name: 'passed' | 'failed' | 'skipped'} from gtest's JSON report."""
    with open(path) as f:
        report = json.load(f)
    outcome = {}
    for suite in report.get("testsuites", []):
        for test in suite.get("testsuite", []):
            name = suite["name"] + "." + test["name"]
            if test.get("failures"):
                outcome[name] = "failed"
            elif test.get("status") == "NOTRUN" or test.get("result") in ("SKIPPED", "SUPPRESSED"):
                outcome[name] = "skipped"
            else:
                outcome[name] = "passed"
    return outcome


def record_skips(log, binary, skipped, reasons):
    with open(log, "a") as f:
        f.write("".join(f"{os.path.basename(binary)}\t{name}\t{reasons.get(name, '')}\n"
                        for name in skipped))


def verdict(rc, running, outcome, reasons):
    """Returns the names of the failed tests and a line saying why the entry fails (or None)."""
    failed = [name for name, result in outcome.items() if result == "failed"]
    if running:
        return failed + [running], f"the binary ended (exit code {rc}) inside {running}"
    if failed:
        return failed, None
    if rc != 0:
        return [], f"the binary exited with code {rc} outside any test (set-up or tear-down)"
    if not outcome:
        return [], "no test matched the filter: rebuild the binary to list its tests again"
    if None in reasons:
        return [], reasons[None]
    return [], None


def main(argv):
    skip_log = None
    if argv[:1] == ["--skip-log"]:
        skip_log, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    fd, report_path = tempfile.mkstemp(prefix="gtest-", suffix=".json")
    os.close(fd)
    try:
        rc, running, reasons = run_binary(argv, report_path)
        try:
            outcome = read_report(report_path)
        except (OSError, ValueError):
            outcome = {}
    finally:
        os.unlink(report_path)
    failed, why = verdict(rc, running, outcome, reasons)
    skipped = [name for name, result in outcome.items() if result == "skipped"]
    passed = sum(result == "passed" for result in outcome.values())
    print(f"\nrun_suite: {passed} passed, {len(skipped)} skipped, {len(failed)} failed")
    for name in failed:
        print(f"  FAILED: {name}")
    for name in skipped:
        print(f"  not run: {name}  ({reasons.get(name, 'skipped')})")
    if failed or why:
        if why:
            print(f"run_suite: {why}")
        return 1
    if skipped and skip_log:
        record_skips(skip_log, argv[0], skipped, reasons)
    if skipped and (passed == 0 or not skip_log):
        return SKIP_CODE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
