#!/usr/bin/env bash
# The README's first command: set up, run the quickstart sweep on the built-in dataset,
# print its results table and write its plots. Re-running skips the runs that are done.
#   scripts/quickstart.sh [--full] [sweep run's options and key=value overrides]
#   --full   the built-in benchmark's full scratch settings (experiments/quickstart-full.yaml:
#            the quickstart until 2026-12-07, 2.7x its training time) instead of the quickstart's
set -euo pipefail
cd "$(dirname "$0")/.."
name=quickstart
if [[ "${1:-}" == "--full" ]]; then
  name=quickstart-full
  shift
fi
scripts/setup.sh
# In the background, so that a stop sent to this script (kill, timeout) is passed on: the
# sweep passes it to its run, which checkpoints (exit 75); running this script again resumes.
# Runs at once: the cores this script may use, at most the sweep's 6 runs (each run then gets
# cores / jobs threads; docs/sweeps.md, "Runs at once"). A --jobs among the arguments wins.
jobs=$(nproc)
[ "$jobs" -le 6 ] || jobs=6
build/runner/aimrun sweep run "experiments/$name.yaml" --jobs "$jobs" "$@" &
sweep=$!
trap 'kill -TERM "$sweep" 2>/dev/null' TERM INT HUP
sweep_status=0
wait "$sweep" || sweep_status=$?
while kill -0 "$sweep" 2>/dev/null; do  # a trapped signal ends the wait early
  sweep_status=0
  wait "$sweep" || sweep_status=$?
done
trap - TERM INT HUP
[ "$sweep_status" -eq 0 ] || exit "$sweep_status"
/usr/bin/python3 scripts/plots.py "outputs/$name" --out "outputs/$name/plots" >/dev/null
echo
status=0
build/runner/aimrun report "outputs/$name" || status=$?
echo
echo "Result files: outputs/$name/<run-id>/result.h5 (layout: docs/hdf5-schema.md; pandas: scripts/aimresults.py)"
echo "Plots:        outputs/$name/plots/index.html (training curves, mask area vs target, EPG vs worst-group"
echo "              accuracy, mask pictures of every run)"
exit $status
