#!/usr/bin/env python3
"""Names every test of the suite that did not run, after the run (ctest entry tests.skipped).

  skipped_summary.py LOG reset    empties the log (ctest fixture setup, before any test)
  skipped_summary.py LOG          reads it (fixture cleanup, after every test):
                                  prints `skipped: none`, or each skipped test by name and
                                  reason, and exits 77 (ctest: not run, never passed)

Each line of LOG is `binary<TAB>Suite.Test<TAB>reason`, appended by tests/run_suite.py for each
test that GTEST_SKIP'ed (or is disabled) in an entry that ran one GoogleTest suite."""
import sys

SKIP_CODE = 77


def main():
    path = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "reset":
        open(path, "w").close()
        return 0
    try:
        lines = [line.split("\t") for line in open(path).read().splitlines() if line]
    except FileNotFoundError:
        lines = []
    if not lines:
        print("skipped: none")
        return 0
    print(f"skipped: {len(lines)} tests did not run here")
    for parts in lines:
        binary, name, reason = (parts + ["", ""])[:3]
        print(f"  {name} ({binary}): {reason or 'skipped'}")
    return SKIP_CODE


if __name__ == "__main__":
    sys.exit(main())
