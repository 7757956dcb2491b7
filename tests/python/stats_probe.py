"""The C++ statistics probe (tests/aim_stats_probe) that the Python checks drive: one request
per line on stdin, one answer per line on stdout. Shared by test_statistics.py and
test_sequential.py."""
import os
import subprocess

SOURCE_DIR = os.path.abspath(os.environ.get(
    "AIM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
PROBE = os.environ.get("AIM_STATS_PROBE", os.path.join(SOURCE_DIR, "build", "tests", "aim_stats_probe"))


def probe(lines):
    out = subprocess.run([PROBE], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    return out.stdout.splitlines()
