#!/usr/bin/env bash
# Executes both notebooks headlessly on small runs, so that they cannot rot. Needs the
# packages of notebooks/requirements.txt and a release build of adsim. Usage:
#   scripts/check_notebooks.sh [work folder]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
adsim="$root/target/release/adsim"
small=(--set duration=6h --set members.count=50000 -q)
s="$root/scenarios"
"$adsim" compare "$s/first_vs_second_price.toml" "$s/first_vs_second_price.toml" \
  --set-b 'exchange.auction="first_price"' --replications 4 "${small[@]}" --out "$work/compare"
"$adsim" sweep "$s/floor_sweep.toml" --grid exchange.floor_cpm=0,2,4 --replications 2 \
  "${small[@]}" --out "$work/sweep"
"$adsim" run "$s/first_vs_second_price.toml" "${small[@]}" --out "$work/a"
"$adsim" run "$s/first_vs_second_price.toml" "${small[@]}" --set 'exchange.auction="first_price"' \
  --out "$work/b"
"$adsim" run "$s/quickstart.toml" --set duration=12h -q --out "$work/quickstart"
# Inventory forecasting: six weeks of a small world, two backtest origins.
"$adsim" run "$s/guaranteed_contention.toml" --set duration=6w --set members.count=20000 \
  --set 'inventory.keys=["country", "device"]' -q --out "$work/history"
"$adsim" forecast "$work/history/inventory.csv" --origins 2 -q --out "$work/forecast"
export ADSIM_COMPARE="$work/compare" ADSIM_SWEEP="$work/sweep" ADSIM_RUN_A="$work/a" \
  ADSIM_RUN_B="$work/b" ADSIM_RUN="$work/quickstart" \
  ADSIM_INVENTORY="$work/history/inventory.csv" ADSIM_BACKTEST="$work/forecast/backtest.csv" \
  ADSIM_ORIGINS=2 ADSIM_HORIZON=168 ADSIM_SCENARIO="$s/guaranteed_contention.toml" \
  ADSIM="$adsim" ADSIM_WORK="$work/notebook"
python3 -m jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=python3 \
  --ExecutePreprocessor.timeout=300 --output-dir "$work/executed" \
  "$root/notebooks/policy_comparison.ipynb" "$root/notebooks/delivery_and_inventory.ipynb" \
  "$root/notebooks/inventory_forecasting.ipynb"
echo "notebooks executed: $work/executed"
