#!/usr/bin/env bash
# The README's first command: set up, run the quickstart sweep on the built-in dataset,
# print its results table. Re-running skips the runs that are done.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/runner/aimrun sweep run experiments/quickstart.yaml "$@"
echo
build/runner/aimrun report outputs/quickstart
echo
echo "Result files: outputs/quickstart/<run-id>/result.h5 (layout: docs/hdf5-schema.md)"
