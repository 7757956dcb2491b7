#!/usr/bin/env bash
# The README's second command (and what CI runs): set up with the test dependencies,
# build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
# The Slurm tests need a cluster on this machine (needs root, as on CI): two nodes, n1 and
# n2; the one-node tests use the default partition (n1), the two-node tests (test_multinode)
# the partition `multi`.
# Where a second node cannot start (no mount namespaces, say), one node: the two-node tests
# then report themselves as not run.
scripts/slurm-local.sh start --nodes 2 || {
  echo "test.sh: the two-node cluster did not start; starting one node (two-node tests will not run)" >&2
  scripts/slurm-local.sh start
}
# The cluster was started: a Slurm test that finds none answering fails here instead of
# reporting itself as not run (tests/slurm_test.h).
export AIM_REQUIRE_SLURM=1
# Tests generate their own small datasets; keep them out of the user's cache.
export AIMRUN_CACHE="${AIMRUN_CACHE:-$PWD/build/test-cache}"
rc=0
# The quick tier (label quick) repeats tests of the suite: left out here, each test runs once.
# One test more than the cores: many tests wait (Slurm's latency, watchdog limits, a browser).
# CI from a fresh clone on the 2-core machine: -j 2 at 97477dd 897 s of ctest, the CPU busy 83%
# of the run; -j 3 at be037e9 808 s, busy 92%; 139 of 139 passed in both.
jobs=$(( $(nproc) + 1 ))
ctest --test-dir build --output-on-failure -j "$jobs" -LE quick "$@" || rc=$?
# The fault tally of the hostile-cluster and hostile-user tests (tests/fault_log.h).
[[ -f build/faults.tsv ]] && /usr/bin/python3 tests/fault_summary.py build/faults.tsv || true
exit $rc
