#!/usr/bin/env python3
"""Lists the GoogleTest suites of a test binary and writes one ctest entry per suite.

  discover_suites.py --binary B --out FILE --runner run_suite.py --skip-log LOG --workdir DIR
                     [--each-test] [-- PROPERTY VALUE ...]
  discover_suites.py --check-unique DIR     # exit 1 when two binaries have a suite of one name

Run after each link of B (POST_BUILD, as gtest_discover_tests does), so a new test or suite
needs no CMake edit. Each entry is named after its suite (`Suite`, `Prefix/Suite` for
parameterised ones) and runs `python3 run_suite.py --skip-log LOG -- B --gtest_filter=Suite.*`;
the PROPERTY VALUE pairs go to set_tests_properties, after SKIP_RETURN_CODE 77. With
--each-test, one entry per test (`Suite.Test`, --gtest_filter=Suite.Test), for binaries whose
tests change the process itself (test_allocator). FILE is written to a temporary name and
renamed."""
import argparse
import glob
import os
import re
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


def check_unique(folder):
    """Every entry name once across the binaries' entry files in `folder`: two binaries with a
    suite of the same name would make two ctest entries of one name (a fixture's clean-up may
    then run before one of them, and `ctest -R` and a failure name both)."""
    seen = {}
    for f in sorted(glob.glob(os.path.join(folder, "*_suites.cmake"))):
        for name in re.findall(r"^add_test\(\[==\[(.*?)\]==\]", open(f).read(), re.M):
            seen.setdefault(name, []).append(os.path.basename(f))
    dup = {n: fs for n, fs in seen.items() if len(fs) > 1}
    for n, fs in sorted(dup.items()):
        print(f"discover_suites: the suite {n} is in {len(fs)} test binaries ({', '.join(fs)}): "
              f"rename one (one ctest entry per suite name)", file=sys.stderr)
    print(f"{len(seen)} entries in {folder}, {len(dup)} name(s) twice")
    return 1 if dup or not seen else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check-unique":
        return check_unique(sys.argv[2])
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
