#!/usr/bin/env bash
# The one script a session runs on a lent 16-core machine (issue 10).
#
# The device has no network, so it cannot build: carry the release binary
# built here, e.g. with the device tool:
#   run(command="scripts/device-16core.sh", carry=["target/release/profbench"], timeout_s=540)
# It writes the run, its report and plots under $OUT/16-core/; copy that to
# results/published/16-core/ and commit it (then `make plots` regenerates
# the plots and report from the committed run.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/profbench
out="${OUT:?set by the device tool}/16-core"
mkdir -p "$out"
nproc
"$bin" env | tee "$out/env.txt"
# A progress bar is useless in a captured log; --quiet keeps the tail readable.
time "$bin" run --quiet --matrix matrices/16-core.toml --label "16 cores (device)" --out "$out"
"$bin" report "$out/run.json" --out "$out" || true
"$bin" plot "$out/run.json" --out "$out" || true
ls -la "$out"
