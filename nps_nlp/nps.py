"""NPS maths: bands, the score with its confidence interval, change between periods, trends.

NPS = %promoters - %detractors on -100..100. With shares ``p`` (promoters) and ``d`` (detractors) of
``n`` answers, Var(NPS) = 100^2 * ((p + d) - (p - d)^2) / n; intervals use the normal approximation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from nps_nlp.errors import DataValidationError

Band = Literal["detractor", "passive", "promoter"]
BANDS: tuple[Band, ...] = ("detractor", "passive", "promoter")


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


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


@dataclass(frozen=True)
class NpsSummary:
    """NPS of a set of answers with its standard error and confidence interval.

    Attributes:
        n: answers with a score.
        promoters, passives, detractors: counts per band.
        nps: %promoters - %detractors (``None`` when ``n == 0``).
        se: standard error of ``nps``.
        ci_low, ci_high: the confidence interval, clipped to -100..100.
        confidence: the interval's level (0.95 by default).
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

    @classmethod
    def from_counts(cls, promoters: int, passives: int, detractors: int, confidence: float = 0.95) -> NpsSummary:
        n = promoters + passives + detractors
        if n == 0:
            return cls(0, 0, 0, 0, None, None, None, None, confidence)
        p, d = promoters / n, detractors / n
        value = 100 * (p - d)
        se = 100 * float(np.sqrt(max((p + d) - (p - d) ** 2, 0.0) / n))
        half = _z(confidence) * se
        return cls(n, promoters, passives, detractors, round(value, 4), round(se, 4),
                   round(max(-100.0, value - half), 4), round(min(100.0, value + half), 4), confidence)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def band_counts(scores: Iterable[int | float]) -> tuple[int, int, int]:
    """(promoters, passives, detractors) of 0-10 scores."""
    counts = dict.fromkeys(BANDS, 0)
    for s in scores:
        counts[nps_band(s)] += 1
    return counts["promoter"], counts["passive"], counts["detractor"]


def nps(scores: Iterable[int | float], confidence: float = 0.95) -> NpsSummary:
    """NPS of 0-10 scores with a normal-approximation confidence interval.

    Example:
        >>> nps([10, 9, 8, 3]).nps
        25.0
    """
    return NpsSummary.from_counts(*band_counts(scores), confidence=confidence)


@dataclass(frozen=True)
class NpsChange:
    """Change of NPS from a previous period to the current one (independent samples).

    Attributes:
        current, previous: the two periods' summaries.
        delta: current - previous NPS points (``None`` if either period is empty).
        se, ci_low, ci_high: standard error and interval of ``delta``.
        p_value: two-sided z test of "no change".
        significant: ``p_value < 1 - confidence``.
    """

    current: NpsSummary
    previous: NpsSummary
    delta: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "current": self.current.to_dict(), "previous": self.previous.to_dict()}


def nps_change(current: NpsSummary | Iterable[int | float], previous: NpsSummary | Iterable[int | float],
               confidence: float = 0.95) -> NpsChange:
    """Is the current NPS different from the previous one? A z test on the difference."""
    cur = current if isinstance(current, NpsSummary) else nps(current, confidence)
    prev = previous if isinstance(previous, NpsSummary) else nps(previous, confidence)
    if cur.nps is None or prev.nps is None or cur.se is None or prev.se is None:
        return NpsChange(cur, prev, None, None, None, None, None, False)
    delta = cur.nps - prev.nps
    se = float(np.hypot(cur.se, prev.se))
    if se == 0:
        p_value = 1.0 if delta == 0 else 0.0
    else:
        p_value = 2 * (1 - NormalDist().cdf(abs(delta) / se))
    half = _z(confidence) * se
    return NpsChange(cur, prev, round(delta, 4), round(se, 4), round(delta - half, 4), round(delta + half, 4),
                     round(p_value, 6), p_value < 1 - confidence)


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
              confidence: float = 0.95) -> list[dict[str, Any]]:
    """NPS per day, week or month, each with its change against the period before.

    Args:
        scores: 0-10 scores.
        timestamps: one datetime (or ISO string) per score.
        period: ``day``, ``week`` (starting Monday) or ``month``.

    Returns:
        One dict per period in time order: ``period`` (ISO start date), the :class:`NpsSummary` fields, and
        ``change`` (an :class:`NpsChange` dict against the previous non-empty period, ``None`` for the first).
    """
    import pandas as pd

    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, got {period!r}")
    if len(scores) != len(timestamps):
        raise ValueError(f"{len(scores)} scores but {len(timestamps)} timestamps")
    if not len(scores):
        return []
    frame = pd.DataFrame({"start": period_starts(timestamps, period), "band": [nps_band(s) for s in scores]})
    out: list[dict[str, Any]] = []
    previous: NpsSummary | None = None
    for start, group in frame.groupby("start", sort=True):
        counts = group["band"].value_counts()
        summary = NpsSummary.from_counts(int(counts.get("promoter", 0)), int(counts.get("passive", 0)),
                                         int(counts.get("detractor", 0)), confidence)
        change = nps_change(summary, previous, confidence).to_dict() if previous is not None else None
        out.append({"period": pd.Timestamp(start).date().isoformat(), **summary.to_dict(), "change": change})
        previous = summary
    return out
