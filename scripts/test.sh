#!/usr/bin/env bash
# The README's second command (and what CI runs): set up with the test dependencies,
# build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
# The Slurm tests need a cluster: a one-node one on this machine (needs root, as on CI).
scripts/slurm-local.sh start
# Tests generate their own small datasets; keep them out of the user's cache.
export AIMRUN_CACHE="${AIMRUN_CACHE:-$PWD/build/test-cache}"
rc=0
ctest --test-dir build --output-on-failure -j 2 "$@" || rc=$?
# The fault tally of the hostile-cluster and hostile-user tests (tests/fault_log.h).
[[ -f build/faults.tsv ]] && /usr/bin/python3 tests/fault_summary.py build/faults.tsv || true
exit $rc
