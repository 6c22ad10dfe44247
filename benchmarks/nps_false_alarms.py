"""False alarms of the NPS change test: how often a day-over-day change is called significant when nothing changed.

    python benchmarks/nps_false_alarms.py [--days 5001] [--seed 0] [--output PATH]

For each base rate (shares of promoters, passives, detractors) and each daily volume, a series of days is drawn
from one unchanging distribution: the number of answers a day is Poisson around the volume (at least one), or,
for volume ``mixed``, uniform in 3..200. Each day's band counts go through ``NpsSummary.from_counts`` and each
day is compared with the day before through ``nps_change``, as ``nps_trend(period="day")`` does. Every change
called significant is a false alarm.

Three settings are counted on the same draws: the defaults (adjusted Wald, ``min_n`` = ``MIN_N``), adjusted Wald
without the minimum count (``min_n=0``), and the plain normal approximation without it (the method before the
adjusted Wald became the default). The script writes benchmarks/results/nps_false_alarms.json and exits with
status 1 when the share at the default settings is above 5% over all changes, or above 5% in one cell by more
than three Monte Carlo standard errors (at volumes where every day is tested, a 95% test is right at 5%, so a
cell's share lands on either side of it by chance). The standard error allows for neighbouring changes sharing
a day: it is the binomial one with the lag-1 autocovariance of the alarms added.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nps_nlp.nps import MIN_N, NpsSummary, nps_change  # noqa: E402

BASE_RATES = {  # promoters, passives, detractors
    "typical": (0.50, 0.30, 0.20),
    "poor": (0.30, 0.30, 0.40),
    "strong": (0.70, 0.20, 0.10),
    "near ceiling": (0.90, 0.08, 0.02),
    "near floor": (0.10, 0.20, 0.70),
    "even": (0.34, 0.33, 0.33),
}
VOLUMES: list[int | str] = [3, 5, 10, 20, 30, 50, 100, 200, "mixed"]
SETTINGS = {"default": {}, "adjusted-wald, min_n=0": {"min_n": 0},
            "wald, min_n=0": {"min_n": 0, "interval": "wald"}}


def day_counts(rates: tuple[float, float, float], volume: int | str, days: int, rng: np.random.Generator) -> np.ndarray:
    """Band counts (promoters, passives, detractors) of ``days`` days drawn from ``rates``."""
    if volume == "mixed":
        sizes = rng.integers(3, 201, size=days)
    else:
        sizes = np.maximum(rng.poisson(int(volume), size=days), 1)
    return np.array([rng.multinomial(int(n), rates) for n in sizes])


def monte_carlo_se(alarms: list[bool]) -> float:
    """Standard error of the share of alarms in a series whose neighbours share a day (lag-1 autocovariance)."""
    x = np.asarray(alarms, dtype=float)
    if len(x) < 2:
        return float("nan")
    centred = x - x.mean()
    variance = centred.var() + 2 * max(float(np.mean(centred[1:] * centred[:-1])), 0.0)
    return float(np.sqrt(variance / len(x)))


def count_alarms(counts: np.ndarray, **settings: Any) -> tuple[dict[str, int], list[bool]]:
    """Day-over-day changes, those called significant and those marked too few, under ``settings``; and the
    alarm of each change in order."""
    summaries = [NpsSummary.from_counts(*map(int, c), **settings) for c in counts]
    out = {"changes": 0, "significant": 0, "too_few": 0, "testable": 0, "significant_testable": 0}
    alarms = []
    for previous, current in zip(summaries, summaries[1:], strict=False):
        change = nps_change(current, previous, **settings)
        alarms.append(change.significant)
        out["changes"] += 1
        out["significant"] += change.significant
        out["too_few"] += change.too_few
        testable = min(current.n, previous.n) >= MIN_N
        out["testable"] += testable
        out["significant_testable"] += testable and change.significant
    return out, alarms


def share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=5001, help="days per (base rate, volume) cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "nps_false_alarms.json")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cells = []
    totals = {name: dict.fromkeys(("changes", "significant", "too_few", "testable", "significant_testable"), 0)
              for name in SETTINGS}
    print(f"{'base rate':14s} {'volume':>7s} " + " ".join(f"{name:>24s}" for name in SETTINGS), flush=True)
    for label, rates in BASE_RATES.items():
        for volume in VOLUMES:
            counts = day_counts(rates, volume, args.days, rng)
            cell: dict[str, Any] = {"base_rate": label, "rates": rates, "volume": volume, "settings": {}}
            for name, settings in SETTINGS.items():
                got, alarms = count_alarms(counts, **settings)
                for key, value in got.items():
                    totals[name][key] += value
                cell["settings"][name] = {**got, "false_alarm_rate": share(got["significant"], got["changes"]),
                                          "false_alarm_rate_testable": share(got["significant_testable"], got["testable"]),
                                          "monte_carlo_se": round(monte_carlo_se(alarms), 4)}
            cells.append(cell)
            print(f"{label:14s} {volume!s:>7s} " + " ".join(f"{cell['settings'][n]['false_alarm_rate']:>24.2%}"
                                                        for n in SETTINGS), flush=True)
    summary = {name: {**t, "false_alarm_rate": share(t["significant"], t["changes"]),
                      "false_alarm_rate_testable": share(t["significant_testable"], t["testable"])}
               for name, t in totals.items()}
    default = [c["settings"]["default"] for c in cells]
    worst = max(d["false_alarm_rate"] for d in default)
    excess = max((d["false_alarm_rate"] - 0.05) / max(d["monte_carlo_se"], 1e-9) for d in default)
    result = {"days_per_cell": args.days, "seed": args.seed, "min_n": MIN_N, "confidence": 0.95,
              "volumes": VOLUMES, "base_rates": BASE_RATES, "summary": summary,
              "worst_cell_default": worst, "worst_excess_in_se": round(excess, 2), "cells": cells}
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print()
    for name, s in summary.items():
        print(f"{name:24s} false alarms {s['false_alarm_rate']:.2%} of {s['changes']:,} changes; "
              f"{s['false_alarm_rate_testable']:.2%} of the {s['testable']:,} with >= {MIN_N} answers on both days")
    print(f"worst cell at the default settings: {worst:.2%}; the largest excess over 5% is {excess:+.2f} Monte Carlo "
          f"standard errors; written to {args.output}")
    if summary["default"]["false_alarm_rate"] > 0.05 or excess > 3:
        sys.exit(1)


if __name__ == "__main__":
    main()
