#!/usr/bin/env bash
# The README's first command: set up, run the quickstart sweep on the built-in dataset,
# print its results table and write its plots. Re-running skips the runs that are done.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/runner/aimrun sweep run experiments/quickstart.yaml "$@"
/usr/bin/python3 scripts/plots.py outputs/quickstart --out outputs/quickstart/plots >/dev/null
echo
status=0
build/runner/aimrun report outputs/quickstart || status=$?
echo
echo "Result files: outputs/quickstart/<run-id>/result.h5 (layout: docs/hdf5-schema.md; pandas: scripts/aimresults.py)"
echo "Plots:        outputs/quickstart/plots/index.html (training curves, mask area vs target, EPG vs worst-group"
echo "              accuracy, mask pictures of every run)"
exit $status
