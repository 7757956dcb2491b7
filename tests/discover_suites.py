#!/usr/bin/env python3
"""Lists the GoogleTest suites of a test binary and writes one ctest entry per suite.

  discover_suites.py --binary B --out FILE --runner run_suite.py --skip-log LOG --workdir DIR
                     [--each-test] [-- PROPERTY VALUE ...]

Run after each link of B (POST_BUILD, as gtest_discover_tests does), so a new test or suite
needs no CMake edit. Each entry is named after its suite (`Suite`, `Prefix/Suite` for
parameterised ones) and runs `python3 run_suite.py --skip-log LOG -- B --gtest_filter=Suite.*`;
the PROPERTY VALUE pairs go to set_tests_properties, after SKIP_RETURN_CODE 77. With
--each-test, one entry per test (`Suite.Test`, --gtest_filter=Suite.Test), for binaries whose
tests change the process itself (test_allocator). FILE is written to a temporary name and
renamed."""
import argparse
import os
import subprocess
import sys


def list_suites(binary, each_test):
    """The binary's suites (`Suite`), or with each_test its tests (`Suite.Test`)."""
    out = subprocess.run([binary, "--gtest_list_tests"], capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        sys.exit(f"discover_suites: {binary} --gtest_list_tests exited with {out.returncode}:\n"
                 f"{out.stdout}{out.stderr}")
    names, suite = [], ""
    for line in out.stdout.splitlines():
        name = line.split("#")[0].strip()
        if line and not line[0].isspace() and name.endswith("."):
            suite = name[:-1]
            names += [] if each_test else [suite]
        elif line[:1].isspace() and name and suite and each_test:
            names.append(f"{suite}.{name}")
    if not names:
        sys.exit(f"discover_suites: {binary} lists no test")
    return names


def arg(text):
    """A CMake bracket argument: no quoting or escaping inside."""
    if "]==]" in text:
        sys.exit(f"discover_suites: cannot quote {text!r}")
    return f"[==[{text}]==]"


def entries(names, a):
    props = " ".join(arg(p) for p in a.properties)
    for suite in names:
        command = [sys.executable, a.runner, "--skip-log", a.skip_log, "--", a.binary,
                   f"--gtest_filter={suite}" + ("" if a.each_test else ".*")]
        yield f"add_test({arg(suite)} {' '.join(arg(c) for c in command)})\n"
        yield (f"set_tests_properties({arg(suite)} PROPERTIES WORKING_DIRECTORY {arg(a.workdir)}"
               f" SKIP_RETURN_CODE 77 {props})\n")


def main():
    p = argparse.ArgumentParser()
    for name in ("binary", "out", "runner", "skip-log", "workdir"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--each-test", action="store_true")
    p.add_argument("properties", nargs="*")
    a = p.parse_args()
    if len(a.properties) % 2:
        sys.exit(f"discover_suites: properties come in PROPERTY VALUE pairs: {a.properties}")
    text = "".join(entries(list_suites(a.binary, a.each_test), a))
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
