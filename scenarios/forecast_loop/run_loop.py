#!/usr/bin/env python3
"""The forecasting loop, end to end (see README.md in this folder).

1. Simulate eight weeks of history and export hourly inventory by country x device x genre.
2. Forecast week 9 with each of adsim's baselines (and backtest them on the history).
3. For each forecast, book the three guaranteed deals of week9.toml one after another at 95% of
   what `adsim avails` says is still available, given the deals booked before.
4. Simulate week 9 -- which has an unannounced title launch -- serving the deals with a HWM plan
   made from the same forecast, and report under-delivery by forecast method. The oracle row
   books and plans with the true expected traffic of week 9 (launch included): what a perfect
   forecast would have done.

Usage: python3 scenarios/forecast_loop/run_loop.py [--adsim PATH] [--work DIR] [--members N]
"""
import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEALS = [  # (line item index in week9.toml, targeting flags)
    (0, ["--target", "country=US", "--target", "genre=comedy"]),
    (1, ["--target", "genre=kids", "--target", "device=tv"]),
    (2, ["--target", "country=GB", "--target", "genre=reality"]),
]
WINDOW = ["--from", "2026-12-28T00:00:00Z", "--to", "2027-01-04T00:00:00Z"]
BOOK_SHARE = 0.95


def adsim(binary, *args):
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"adsim {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adsim", default=str(HERE.parents[1] / "target/release/adsim"))
    parser.add_argument("--work", default="runs/forecast_loop")
    parser.add_argument("--members", type=int, default=None, help="override members.count (smaller = faster)")
    parser.add_argument("--without-launch", action="store_true",
                        help="move the surprise launch out of week 9 (to see the forecasts' error without it)")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    members = ["--set", f"members.count={args.members}"] if args.members else []
    # Applied to week 9 only: the history never had the surprise title.
    week9 = ["--set", "content.titles.3.launch=2027-06-01T00:00:00Z"] if args.without_launch else []

    print("1. eight weeks of history")
    adsim(args.adsim, "run", HERE / "history.toml", "--out", work / "history", "-q", *members)
    print("2. forecasts for week 9, backtested on the history")
    print(adsim(args.adsim, "forecast", work / "history/inventory.csv", "--scenario", HERE / "history.toml",
                "--out", work / "forecast", *members))

    methods = ["seasonal_naive_daily", "seasonal_naive_weekly", "holt_winters", "launch_aware", "oracle"]
    rows = []
    for method in methods:
        forecast = "oracle" if method == "oracle" else str(work / "forecast" / f"forecast_{method}.csv")
        goals = {index: 1 for index, _ in DEALS}  # not yet booked
        for index, targeting in DEALS:
            sets = [x for i, g in goals.items() for x in ("--set", f"line_items.{i}.goal={g}")]
            answer = json.loads(adsim(args.adsim, "avails", HERE / "week9.toml", "--forecast", forecast,
                                      *targeting, *WINDOW, "--json", *sets, *members, *week9))
            goals[index] = max(1, int(BOOK_SHARE * answer["available"]))
        sets = [x for i, g in goals.items() for x in ("--set", f"line_items.{i}.goal={g}")]
        out = work / f"week9_{method}"
        adsim(args.adsim, "run", HERE / "week9.toml", "--set", f'allocation.forecast="{forecast}"', *sets,
              "--out", out, "-q", *members, *week9)
        allocation = json.loads((out / "summary.json").read_text())["allocation"]
        for item in allocation["line_items"]:
            rows.append({"method": method, "line_item": item["name"], "booked": item["goal"],
                         "delivered": item["delivered"], "under_delivery": item["under_delivery"]})

    with open(work / "loop_results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    oracle_booked = sum(r["booked"] for r in rows if r["method"] == "oracle")
    print("3-4. booked from each forecast, then served in the real week 9 (with its surprise launch)\n")
    print(f"{'forecast':<24} {'booked':>9} {'delivered':>10} {'under-delivered':>16} {'booked vs oracle':>17}")
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        booked = sum(r["booked"] for r in mine)
        delivered = sum(min(r["delivered"], r["booked"]) for r in mine)
        under = sum(r["under_delivery"] for r in mine)
        print(f"{method:<24} {booked:>9.0f} {delivered:>10.0f} {under:>9.0f} ({under / booked:6.1%})"
              f" {booked / oracle_booked - 1:>+16.1%}")
    print(f"\nper line item: {work / 'loop_results.csv'}")


if __name__ == "__main__":
    main()
