"""NPS maths: bands, the score with its confidence interval, change between periods, trends.

NPS = %promoters - %detractors on -100..100. With shares ``p`` (promoters) and ``d`` (detractors) of ``n``
answers, Var(NPS) = 100^2 * ((p + d) - (p - d)^2) / n.

Intervals are **adjusted Wald** by default (Rocks 2016, "Interval estimation for the Net Promoter Score",
*The American Statistician*; the form Sauro and Lewis use): before ``p``, ``d`` and the variance are computed,
3/4 of a promoter and 3/4 of a detractor are added to the counts and 3 to ``n`` (so 3/2 of a passive), and the
interval is centred on that adjusted NPS. Unlike the plain normal approximation (``interval="wald"``) it never
has zero width: one promoter is not "NPS 100, interval [100, 100]". Where the adjustment would leave the
observed NPS outside its interval (a handful of answers), the interval is widened to contain it.

A change between two periods is the difference of the two adjusted NPS divided by the combined standard
error (independent samples). It is only called significant when both periods hold at least ``min_n`` answers
(:data:`MIN_N` by default); below that the result says ``too_few`` with a ``reason`` that pages can show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from nps_nlp.errors import DataValidationError

Band = Literal["detractor", "passive", "promoter"]
BANDS: tuple[Band, ...] = ("detractor", "passive", "promoter")
Interval = Literal["adjusted-wald", "wald"]
INTERVALS: tuple[Interval, ...] = ("adjusted-wald", "wald")
MIN_N = 30
"""Answers needed on each side before a change (or a passives' gap) may be called significant."""


def nps_band(score: int | float) -> Band:
    """The NPS band of a 0-10 score: 0-6 detractor, 7-8 passive, 9-10 promoter.

    Raises:
        DataValidationError: the score is not a number in 0..10.
    """
    if score is None or isinstance(score, bool) or not isinstance(score, int | float | np.integer | np.floating):
        raise DataValidationError(f"score {score!r} is not a number 0-10")
    if not 0 <= score <= 10:
        raise DataValidationError(f"score {score} is outside 0-10")
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def z_value(confidence: float) -> float:
    """The normal quantile of a two-sided interval at ``confidence`` (1.96 at 0.95).

    Raises:
        ValueError: ``confidence`` outside (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def check_min_n(min_n: int) -> None:
    """Raise ``ValueError`` unless ``min_n`` is a whole number >= 0."""
    if isinstance(min_n, bool) or not isinstance(min_n, int | np.integer) or min_n < 0:
        raise ValueError(f"min_n must be a whole number >= 0, got {min_n!r}")


def _check(min_n: int, interval: str) -> None:
    check_min_n(min_n)
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {list(INTERVALS)}, got {interval!r}")


def _center_se(promoters: int, detractors: int, n: int, interval: Interval) -> tuple[float, float]:
    """Centre and standard error (NPS points) of the interval: the adjusted or the plain estimate."""
    if interval == "adjusted-wald":
        promoters_, detractors_, n_ = promoters + 0.75, detractors + 0.75, n + 3.0
    else:
        promoters_, detractors_, n_ = float(promoters), float(detractors), float(n)
    p, d = promoters_ / n_, detractors_ / n_
    return 100 * (p - d), 100 * float(np.sqrt(max((p + d) - (p - d) ** 2, 0.0) / n_))


def too_few_reason(counts: dict[str, int], min_n: int, what: str = "a change") -> str | None:
    """The "too few answers" text when any of ``counts`` (label -> answers) is below ``min_n``, else ``None``.

    Example:
        >>> too_few_reason({"now": 4, "before": 40}, 30)
        'too few answers: 4 now, 40 before; at least 30 on each side are needed before a change is called significant'
    """
    if all(n >= min_n for n in counts.values()):
        return None
    listed = ", ".join(f"{n} {label}".strip() for label, n in counts.items())
    side = "on each side " if len(counts) > 1 else ""
    return f"too few answers: {listed}; at least {min_n} {side}are needed before {what} is called significant"


@dataclass(frozen=True)
class NpsSummary:
    """NPS of a set of answers with its standard error and confidence interval.

    Attributes:
        n: answers with a score.
        promoters, passives, detractors: counts per band.
        nps: %promoters - %detractors as observed (``None`` when ``n == 0``).
        se: standard error behind the interval (of the adjusted NPS under ``adjusted-wald``).
        ci_low, ci_high: the confidence interval, clipped to -100..100; it always contains ``nps``.
        confidence: the interval's level (0.95 by default).
        interval: ``adjusted-wald`` (the default) or ``wald`` (plain normal approximation).
        min_n: answers needed before a change involving this set may be called significant.
        too_few: ``n < min_n`` (or no answers at all).
        reason: why ``too_few`` is set, in words for a page; ``None`` otherwise.
    """

    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95
    interval: Interval = "adjusted-wald"
    min_n: int = MIN_N
    too_few: bool = False
    reason: str | None = None

    @classmethod
    def from_counts(cls, promoters: int, passives: int, detractors: int, confidence: float = 0.95, *,
                    min_n: int = MIN_N, interval: Interval = "adjusted-wald") -> NpsSummary:
        """The summary of band counts.

        Raises:
            ValueError: ``confidence`` outside (0, 1), a negative ``min_n`` or an unknown ``interval``.
        """
        _check(min_n, interval)
        z = z_value(confidence)
        n = promoters + passives + detractors
        if n == 0:
            return cls(0, 0, 0, 0, None, None, None, None, confidence, interval, min_n, True, "no answers")
        value = 100 * (promoters - detractors) / n
        center, se = _center_se(promoters, detractors, n, interval)
        low, high = min(center - z * se, value), max(center + z * se, value)
        reason = too_few_reason({"": n}, min_n)
        return cls(n, promoters, passives, detractors, round(value, 4), round(se, 4), round(max(-100.0, low), 4),
                   round(min(100.0, high), 4), confidence, interval, min_n, reason is not None, reason)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def band_counts(scores: Iterable[int | float]) -> tuple[int, int, int]:
    """(promoters, passives, detractors) of 0-10 scores."""
    counts = dict.fromkeys(BANDS, 0)
    for s in scores:
        counts[nps_band(s)] += 1
    return counts["promoter"], counts["passive"], counts["detractor"]


def nps(scores: Iterable[int | float], confidence: float = 0.95, *, min_n: int = MIN_N,
        interval: Interval = "adjusted-wald") -> NpsSummary:
    """NPS of 0-10 scores with a confidence interval (adjusted Wald unless ``interval="wald"``).

    Args:
        scores: 0-10 scores.
        confidence: level of the interval.
        min_n: below this many answers the summary says ``too_few``.
        interval: ``adjusted-wald`` or ``wald``.

    Example:
        >>> nps([10, 9, 8, 3]).nps
        25.0
    """
    return NpsSummary.from_counts(*band_counts(scores), confidence=confidence, min_n=min_n, interval=interval)


@dataclass(frozen=True)
class NpsChange:
    """Change of NPS from a previous period to the current one (independent samples).

    Attributes:
        current, previous: the two periods' summaries.
        delta: current - previous NPS points as observed (``None`` if either period is empty).
        se, ci_low, ci_high: standard error and interval of the change, centred on the difference of the
            adjusted NPS under ``adjusted-wald`` and widened to contain ``delta``.
        p_value: two-sided z test of "no change".
        significant: ``p_value < 1 - confidence``, the interval excludes 0 and neither side is ``too_few``.
        interval: the interval method, as in :class:`NpsSummary`.
        min_n: answers needed on each side before the change may be called significant.
        too_few: either period has fewer than ``min_n`` answers; ``significant`` is then ``False``.
        reason: why ``too_few`` is set, in words for a page; ``None`` otherwise.
    """

    current: NpsSummary
    previous: NpsSummary
    delta: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool
    interval: Interval = "adjusted-wald"
    min_n: int = MIN_N
    too_few: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "current": self.current.to_dict(),
                "previous": self.previous.to_dict()}


def nps_change(current: NpsSummary | Iterable[int | float], previous: NpsSummary | Iterable[int | float],
               confidence: float = 0.95, *, min_n: int = MIN_N, interval: Interval = "adjusted-wald") -> NpsChange:
    """Is the current NPS different from the previous one? A z test on the difference.

    Args:
        current, previous: scores or :class:`NpsSummary` objects (only their counts are used).
        confidence: level of the interval; the test's significance level is ``1 - confidence``.
        min_n: answers needed on each side before the change may be called significant.
        interval: ``adjusted-wald`` or ``wald``.

    Raises:
        ValueError: ``confidence`` outside (0, 1), a negative ``min_n`` or an unknown ``interval``.
    """
    _check(min_n, interval)
    cur = current if isinstance(current, NpsSummary) else nps(current, confidence, min_n=min_n, interval=interval)
    prev = previous if isinstance(previous, NpsSummary) else nps(previous, confidence, min_n=min_n, interval=interval)
    reason = too_few_reason({"now": cur.n, "before": prev.n}, min_n)
    if cur.nps is None or prev.nps is None:
        reason = reason or "no answers on one side"
        return NpsChange(cur, prev, None, None, None, None, None, False, interval, min_n, True, reason)
    c_center, c_se = _center_se(cur.promoters, cur.detractors, cur.n, interval)
    p_center, p_se = _center_se(prev.promoters, prev.detractors, prev.n, interval)
    delta, center, se = cur.nps - prev.nps, c_center - p_center, float(np.hypot(c_se, p_se))
    if se == 0:
        p_value = 1.0 if center == 0 else 0.0
    else:
        p_value = 2 * (1 - NormalDist().cdf(abs(center) / se))
    half = z_value(confidence) * se
    low, high = max(-200.0, min(center - half, delta)), min(200.0, max(center + half, delta))
    significant = reason is None and p_value < 1 - confidence and (low > 0 or high < 0)
    return NpsChange(cur, prev, round(delta, 4), round(se, 4), round(low, 4), round(high, 4), round(p_value, 6),
                     significant, interval, min_n, reason is not None, reason)


PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}


def period_starts(timestamps: Sequence[Any], period: str) -> Any:
    """The start of the day, week (Monday) or month of each timestamp (datetimes or ISO 8601 strings), as a
    pandas Series of naive UTC timestamps.

    Raises:
        ValueError: an unknown period.
    """
    import pandas as pd

    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, got {period!r}")
    ts = pd.to_datetime(pd.Series(list(timestamps)), utc=True, format="ISO8601").dt.tz_localize(None)
    return ts.dt.to_period(PERIODS[period]).dt.start_time  # W-SUN: weeks end on Sunday, so they start on Monday


def nps_trend(scores: Sequence[int | float], timestamps: Sequence[Any], period: str = "month",
              confidence: float = 0.95, *, min_n: int = MIN_N, interval: Interval = "adjusted-wald") -> list[dict[str, Any]]:
    """NPS per day, week or month, each with its change against the period before.

    Args:
        scores: 0-10 scores.
        timestamps: one datetime (or ISO string) per score.
        period: ``day``, ``week`` (starting Monday) or ``month``.
        confidence, min_n, interval: as in :func:`nps_change`.

    Returns:
        One dict per period in time order: ``period`` (ISO start date), the :class:`NpsSummary` fields, and
        ``change`` (an :class:`NpsChange` dict against the previous non-empty period, ``None`` for the first).

    Raises:
        ValueError: an unknown period, or as many scores as timestamps are not given.
    """
    import pandas as pd

    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, got {period!r}")
    if len(scores) != len(timestamps):
        raise ValueError(f"{len(scores)} scores but {len(timestamps)} timestamps")
    _check(min_n, interval)
    if not len(scores):
        return []
    frame = pd.DataFrame({"start": period_starts(timestamps, period), "band": [nps_band(s) for s in scores]})
    table = pd.crosstab(frame["start"], frame["band"]).reindex(columns=list(BANDS), fill_value=0).sort_index()
    out: list[dict[str, Any]] = []
    previous: NpsSummary | None = None
    for start, detractors, passives, promoters in zip(table.index, *(table[b].tolist() for b in BANDS), strict=True):
        summary = NpsSummary.from_counts(promoters, passives, detractors, confidence, min_n=min_n, interval=interval)
        change = None
        if previous is not None:
            change = nps_change(summary, previous, confidence, min_n=min_n, interval=interval).to_dict()
        out.append({"period": pd.Timestamp(start).date().isoformat(), **summary.to_dict(), "change": change})
        previous = summary
    return out
