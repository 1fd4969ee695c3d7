#!/usr/bin/env bash
# Interleaved A/B speed comparison of two adsim builds on one scenario.
#
#   scripts/ab_bench.sh OLD_BINARY NEW_BINARY [ROUNDS=7] [SCENARIO=scenarios/reference_workload.toml]
#
# Runs the two binaries in turn, ROUNDS times each (interleaving spreads the shared VM's
# drifts over both), and prints the median `simulation_requests_per_second` of each and their
# ratio. Also reports whether the last two summaries are byte-identical, which a pure speed
# change should keep.
set -euo pipefail
old=$1
new=$2
rounds=${3:-7}
scenario=${4:-scenarios/reference_workload.toml}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rate() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['simulation_requests_per_second'])" "$1/run.json"; }
old_rates=()
new_rates=()
for _ in $(seq "$rounds"); do
  "$old" run "$scenario" --quiet --out "$out/old" >/dev/null
  old_rates+=("$(rate "$out/old")")
  "$new" run "$scenario" --quiet --out "$out/new" >/dev/null
  new_rates+=("$(rate "$out/new")")
done
python3 - "${old_rates[*]}" "${new_rates[*]}" <<'PY'
import statistics, sys
old = [float(x) for x in sys.argv[1].split()]
new = [float(x) for x in sys.argv[2].split()]
a, b = statistics.median(old), statistics.median(new)
print(f"old median {a:,.0f}  new median {b:,.0f}  ratio {b / a:.3f}  ({len(old)} rounds each)")
PY
if cmp -s "$out/old/summary.json" "$out/new/summary.json"; then
  echo "summary.json identical"
else
  echo "summary.json differs"
fi
