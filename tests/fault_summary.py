#!/usr/bin/env python3
"""Prints the fault tally of the test suite and fails when a hostile case did not survive.

  fault_summary.py LOG reset    empties the log (ctest fixture setup, before any test)
  fault_summary.py LOG          reads it (fixture cleanup, after every test):
                                faults: N tried, N survived, 0 results lost

Each line of LOG is `name<TAB>survived(0/1)<TAB>results lost`, appended by
tests/fault_log.h (C++) and tests/python/fault_log.py (Python)."""
import sys


def main():
    path = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "reset":
        open(path, "w").close()
        return 0
    tried = survived = lost = 0
    failed = []
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        tried += 1
        if parts[1] == "1":
            survived += 1
        else:
            failed.append(parts[0])
        lost += int(parts[2])
    print(f"faults: {tried} tried, {survived} survived, {lost} results lost")
    for name in failed:
        print(f"  not survived: {name}")
    return 0 if not failed and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
