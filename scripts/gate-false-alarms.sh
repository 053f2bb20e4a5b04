#!/usr/bin/env bash
# Measures the gate's false alarms: runs `make gate`'s steps N times on the
# unchanged tree and counts the runs that fail, and which rules failed.
# Usage: scripts/gate-false-alarms.sh N [OUT_DIR]
# Each run's run.json, gate verdict (text and JSON) and the load average
# before and after it are kept under OUT_DIR (default
# results/latest/false-alarms), so a failure can be looked at afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:?usage: scripts/gate-false-alarms.sh N [OUT_DIR]}
out=${2:-results/latest/false-alarms}
case $n in '' | *[!0-9]*) echo "N must be a number, got '$n'" >&2; exit 2 ;; esac

bin=target/release/profbench
cargo build --release --locked --quiet
mkdir -p "$out"
log=$out/summary.txt
: > "$log"
failures=0
declare -A by_rule=()
echo "gate false alarms: $n runs, started $(date -u +%FT%TZ), $(uptime)" | tee -a "$log"
for i in $(seq 1 "$n"); do
    dir=$out/run-$i
    before=$(uptime | sed 's/.*load average: //')
    start=$(date +%s)
    "$bin" run --matrix quick --quiet --out "$dir" > "$dir.table.txt" 2> "$dir.stderr.txt"
    set +e
    "$bin" gate "$dir/run.json" > "$dir.gate.txt" 2>&1
    code=$?
    "$bin" gate "$dir/run.json" --json > "$dir.gate.json" 2> /dev/null
    set -e
    after=$(uptime | sed 's/.*load average: //')
    secs=$(( $(date +%s) - start ))
    case $code in
        0) verdict=pass ;;
        1)
            verdict=FAIL
            failures=$((failures + 1))
            while IFS= read -r rule; do
                by_rule[$rule]=$(( ${by_rule[$rule]:-0} + 1 ))
                verdict="$verdict [$rule]"
            done < <(sed -n 's/^FAIL \(.*\) (\(accuracy\|control\|baseline\)):$/\1/p' "$dir.gate.txt")
            ;;
        *) echo "run $i: the gate could not judge (exit $code): $(cat "$dir.gate.txt")" | tee -a "$log"; exit 2 ;;
    esac
    echo "run $i/$n: $verdict (${secs} s; load before $before, after $after)" | tee -a "$log"
done
echo "false alarms: $failures of $n runs, finished $(date -u +%FT%TZ), $(uptime)" | tee -a "$log"
for rule in "${!by_rule[@]}"; do
    echo "  $rule: ${by_rule[$rule]}" | tee -a "$log"
done
[ "$failures" -eq 0 ]
