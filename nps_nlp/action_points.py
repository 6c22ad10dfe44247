"""Action points: which themes hurt NPS most, and what keeps passives from promoting.

Every function takes *tagged responses*: a pandas DataFrame (or a list of dicts) with a 0-10 ``score``
and ``themes``, a list of ``{"theme": id, "sentiment": "negative"|"neutral"|"positive", ...}`` (the
``themes`` of :meth:`FeedbackResult.to_dict`). Optional columns: ``text``, ``lang``, ``timestamp``, ``id``.

**Leave-one-out impact** of a theme = NPS(all) - NPS(all answers without the theme): negative when the
answers that mention it pull NPS down. Its confidence interval is a bootstrap over answers; because NPS
only depends on the counts of the six cells (band x has-theme), each bootstrap replicate is one
multinomial draw over those cells, which is exact and costs nothing for millions of answers.

Both are computed from per-theme counts (:class:`ThemeCounts`): :func:`action_points` and :func:`passive_drivers`
count them from tagged responses; a database can count them itself (``GROUP BY``) and call
:func:`points_from_counts` and :func:`drivers_from_counts`, with the same results.

**Passives' drivers** are themes that passives criticise more than promoters do: only themes with a positive
gap are listed, each with an Agresti-Caffo interval of the gap, and a gap is only called significant when there
are at least ``min_n`` passives and ``min_n`` promoters (``too_few`` and a ``reason`` say so otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nps_nlp.errors import DataValidationError
from nps_nlp.nps import MIN_N, check_min_n, nps_band, period_starts, too_few_reason, z_value
from nps_nlp.taxonomy import Taxonomy


@dataclass
class Quote:
    """A representative answer for a theme."""

    text: str
    lang: str | None
    score: int | None
    sentiment: str
    evidence: dict[str, Any] | None = None
    id: str | None = None


@dataclass
class ActionPoint:
    """One theme's effect on NPS.

    Attributes:
        theme, label, team: the theme, its English name and owning team (from the taxonomy).
        count: answers that mention the theme; ``share`` of all answers.
        negative, neutral, positive: answers per theme sentiment; ``net_sentiment`` = (pos - neg) / count.
        nps_with, nps_without: NPS of answers with / without the theme.
        impact: leave-one-out impact NPS(all) - NPS(without), with ``impact_ci`` (bootstrap).
        negative_impact: the same when only negative mentions count (what fixing the problem could gain).
        trend: share of answers mentioning the theme per period (oldest first), when timestamps are given.
        share_change: change of share (percentage points) from the previous period to the last.
        quotes: a few representative answers, negative first, one language after another.
    """

    theme: str
    label: str
    team: str | None
    count: int
    share: float
    negative: int
    neutral: int
    positive: int
    net_sentiment: float
    nps_with: float | None
    nps_without: float | None
    impact: float
    impact_ci: tuple[float, float]
    negative_impact: float
    trend: list[dict[str, Any]] = field(default_factory=list)
    share_change: float | None = None
    quotes: list[Quote] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _frame(responses: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    frame = responses.copy() if isinstance(responses, pd.DataFrame) else pd.DataFrame(list(responses))
    missing = {"score", "themes"} - set(frame.columns)
    if missing:
        raise DataValidationError(f"tagged responses need columns 'score' and 'themes'; missing {sorted(missing)}")
    frame = frame[frame["score"].notna()].reset_index(drop=True)
    problems = [f"row {i}: score {s!r} is outside 0-10" for i, s in frame["score"].items() if not 0 <= float(s) <= 10]
    if problems:
        raise DataValidationError("bad scores in the tagged responses", problems)
    frame["band"] = [nps_band(float(s)) for s in frame["score"]]
    frame["themes"] = [t if isinstance(t, list) else [] for t in frame["themes"]]
    return frame


def _nps(promoters: np.ndarray | float, detractors: np.ndarray | float, n: np.ndarray | float) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (np.asarray(promoters, dtype=float) - np.asarray(detractors, dtype=float)) / n


def _impact(cells: np.ndarray) -> Any:
    """Leave-one-out impact NPS(all) - NPS(without the theme) of cell counts (also of a stack of them)."""
    total = _nps(cells[..., 0] + cells[..., 3], cells[..., 2] + cells[..., 5], cells.sum(axis=-1))
    without = _nps(cells[..., 3], cells[..., 5], cells[..., 3:].sum(axis=-1))
    return total - np.nan_to_num(without, nan=0.0)


def _loo_impact(cells: np.ndarray, n_boot: int, confidence: float,
                rng: np.random.Generator) -> tuple[float, tuple[float, float]]:
    """Leave-one-out impact and its bootstrap interval from the six (band x has-theme) cell counts."""
    n = cells.sum()
    draws = _impact(rng.multinomial(n, cells / n, size=n_boot))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return round(float(_impact(cells)), 3), (round(float(low), 3), round(float(high), 3))


def _quotes(frame: pd.DataFrame, rows: list[tuple[int, dict[str, Any]]], n_quotes: int) -> list[Quote]:
    """The quotes among ``rows`` (frame index, mention), which come in the frame's order."""
    langs = frame["lang"] if "lang" in frame else None
    picked = rank_quotes(((j, t.get("sentiment", "neutral"), t.get("confidence", 0.0), langs.at[i] if langs is not None else None)
                          for j, (i, t) in enumerate(rows)), n_quotes)
    out = []
    for i, theme in (rows[j] for j in picked):
        get = frame.loc[i].get
        out.append(Quote(str(get("text", "")), get("lang"), int(get("score")), theme.get("sentiment", "neutral"),
                         theme.get("evidence"), str(get("id")) if get("id") is not None else None))
    return out


@dataclass
class ThemeCounts:
    """One theme's mentions, counted: all that :func:`points_from_counts` and :func:`drivers_from_counts` need.

    Attributes:
        theme: the theme id.
        bands: answers mentioning it: (promoters, passives, detractors), each answer once (its first mention).
        negative: of those, the answers whose mention is negative, per band.
        sentiments: answers per mention sentiment (``negative``, ``neutral``, ``positive``).
        critical: answers mentioning it negatively or neutrally (any of their mentions), per band.
        periods: answers mentioning it per period start (ISO date), for the trend.
        quotes: representative answers, in the order :func:`rank_quotes` gives.
        passive_quotes: representative passives that mention it negatively or neutrally, likewise.
    """

    theme: str
    bands: tuple[int, int, int]
    negative: tuple[int, int, int] = (0, 0, 0)
    sentiments: dict[str, int] = field(default_factory=dict)
    critical: tuple[int, int, int] = (0, 0, 0)
    periods: dict[str, int] = field(default_factory=dict)
    quotes: list[Quote] = field(default_factory=list)
    passive_quotes: list[Quote] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.bands)


SENTIMENT_ORDER = {"negative": 0, "neutral": 1, "positive": 2}
"""Quotes are ranked negative first, then by confidence (highest first), then in the answers' order."""


def rank_quotes(candidates: Iterable[tuple[Any, str, float, Any]], n_quotes: int) -> list[Any]:
    """Pick ``n_quotes`` of ``(position, sentiment, confidence, language)`` candidates: ranked by sentiment
    (negative first), confidence (highest first) and position, the best of each language first, then the best
    of the rest. Returns the picked positions, in order."""
    if n_quotes <= 0:
        return []
    ranked = sorted(candidates, key=lambda c: (SENTIMENT_ORDER.get(c[1], 1), -float(c[2]), c[0]))
    picked: list[Any] = []
    seen_langs: set[Any] = set()
    for pos, _, _, lang in ranked:  # first pass: one quote per language
        if lang not in seen_langs:
            picked.append(pos)
            seen_langs.add(lang)
        if len(picked) == n_quotes:
            break
    for pos, _, _, _ in ranked:
        if len(picked) >= n_quotes:
            break
        if pos not in picked:
            picked.append(pos)
    return picked


def _bands_of(band: np.ndarray, rows: Iterable[int]) -> tuple[int, int, int]:
    picked = band[list(rows)]
    return int((picked == "promoter").sum()), int((picked == "passive").sum()), int((picked == "detractor").sum())


def _frame_counts(frame: pd.DataFrame, n_quotes: int, periods: np.ndarray | None, passives: bool) -> list[ThemeCounts]:
    """Per-theme counts of a tagged frame, themes in order of first mention; the quotes of :func:`action_points`,
    or those of :func:`passive_drivers` when ``passives``."""
    band = frame["band"].to_numpy()
    by_theme: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    critical: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, themes in frame["themes"].items():
        seen = set()
        for t in themes:
            if not t.get("theme"):
                continue
            if t["theme"] not in seen:
                seen.add(t["theme"])
                by_theme.setdefault(t["theme"], []).append((int(i), t))  # type: ignore[arg-type]
            if t.get("sentiment", "neutral") != "positive":
                critical.setdefault(t["theme"], []).append((int(i), t))  # type: ignore[arg-type]
    out = []
    for theme, rows in by_theme.items():
        sentiments = [t.get("sentiment", "neutral") for _, t in rows]
        crit = critical.get(theme, [])
        counts = ThemeCounts(theme, _bands_of(band, (i for i, _ in rows)),
                             _bands_of(band, (i for i, t in rows if t.get("sentiment") == "negative")),
                             {s: sentiments.count(s) for s in ("negative", "neutral", "positive")},
                             _bands_of(band, {i for i, _ in crit}))
        if periods is not None:
            starts, n = np.unique(periods[[i for i, _ in rows]], return_counts=True)
            counts.periods = {str(s): int(c) for s, c in zip(starts, n, strict=True)}
        if passives:
            counts.passive_quotes = _quotes(frame, [r for r in crit if band[r[0]] == "passive"], n_quotes)
        else:
            counts.quotes = _quotes(frame, rows, n_quotes)
        out.append(counts)
    return out


def action_points(responses: pd.DataFrame | Iterable[Mapping[str, Any]], taxonomy: Taxonomy | None = None,
                  min_count: int = 1, n_quotes: int = 3, period: str | None = "month", confidence: float = 0.95,
                  n_boot: int = 2000, random_state: int = 0) -> list[ActionPoint]:
    """Themes ranked by how much they hurt NPS (most harmful first).

    Args:
        responses: tagged responses (see the module docstring).
        taxonomy: for theme labels and owning teams.
        min_count: leave out themes mentioned fewer times.
        n_quotes: representative answers per theme.
        period: ``day``, ``week`` or ``month`` for the trend (needs a ``timestamp`` column); ``None`` for none.
        confidence: level of the impact interval.
        n_boot: bootstrap replicates.
        random_state: seed of the bootstrap, so results are reproducible.

    Returns:
        Action points sorted by ``impact`` (most negative first), then by count.
    """
    frame = _frame(responses)
    if len(frame) == 0:
        return []
    periods = None
    if period and "timestamp" in frame and frame["timestamp"].notna().all():
        periods = period_starts(frame["timestamp"], period).dt.date.astype(str).to_numpy()
    totals = _bands_of(frame["band"].to_numpy(), range(len(frame)))
    period_totals = None
    if periods is not None:
        starts, n = np.unique(periods, return_counts=True)
        period_totals = {str(s): int(c) for s, c in zip(starts, n, strict=True)}
    return points_from_counts(_frame_counts(frame, n_quotes, periods, passives=False), totals, taxonomy, min_count,
                              period_totals, confidence, n_boot, random_state)


def points_from_counts(counts: Iterable[ThemeCounts], totals: tuple[int, int, int], taxonomy: Taxonomy | None = None,
                       min_count: int = 1, period_totals: Mapping[str, int] | None = None, confidence: float = 0.95,
                       n_boot: int = 2000, random_state: int = 0) -> list[ActionPoint]:
    """:func:`action_points` from counts: ``counts`` per theme (in order of first mention, which fixes the
    bootstrap's draws), ``totals`` (promoters, passives, detractors) of all answers, and ``period_totals`` (answers
    per period start) for the trends (``None``: no trends)."""
    n = sum(totals)
    if n == 0:
        return []
    rng = np.random.default_rng(random_state)
    points = []
    for theme in counts:
        count = theme.count
        if count < min_count:
            continue
        cells = np.array([*theme.bands, *(t - w for t, w in zip(totals, theme.bands, strict=True))])
        impact, ci = _loo_impact(cells, n_boot, confidence, rng)
        neg_cells = np.array([*theme.negative, *(t - w for t, w in zip(totals, theme.negative, strict=True))])
        neg_impact = round(float(_impact(neg_cells)), 3) if sum(theme.negative) else 0.0
        nps_with = float(_nps(cells[0], cells[2], count))
        nps_without = float(_nps(cells[3], cells[5], n - count)) if n - count else None
        trend: list[dict[str, Any]] = []
        share_change = None
        if period_totals is not None:
            trend = [{"period": start, "count": theme.periods.get(start, 0),
                      "share": round(float(theme.periods.get(start, 0) / period_totals[start]), 4)}
                     for start in sorted(period_totals)]
            if len(trend) >= 2:
                share_change = round(100 * (trend[-1]["share"] - trend[-2]["share"]), 2)
        counted = {s: theme.sentiments.get(s, 0) for s in ("negative", "neutral", "positive")}
        theme_obj = taxonomy[theme.theme] if taxonomy is not None and theme.theme in taxonomy else None
        points.append(ActionPoint(
            theme=theme.theme, label=theme_obj.label("en") if theme_obj else theme.theme,
            team=theme_obj.team if theme_obj else None, count=count, share=round(count / n, 4), **counted,
            net_sentiment=round((counted["positive"] - counted["negative"]) / count, 4),
            nps_with=round(nps_with, 3), nps_without=round(nps_without, 3) if nps_without is not None else None,
            impact=impact, impact_ci=ci, negative_impact=neg_impact, trend=trend, share_change=share_change,
            quotes=list(theme.quotes),
        ))
    points.sort(key=lambda p: (p.impact, -p.count, p.theme))
    return points


@dataclass
class PassiveDriver:
    """What keeps a 7 or 8 from being a 9 or 10, for one theme.

    Attributes:
        theme, label, team: the theme.
        passives: passive answers mentioning it negatively or neutrally; ``passive_share`` of all passives.
        promoter_share: share of promoters mentioning it negatively or neutrally.
        gap: ``passive_share - promoter_share`` (percentage points): how much more passives complain.
        quotes: representative passive answers.
        gap_ci: confidence interval of ``gap`` (Agresti-Caffo), widened to contain ``gap``; never zero width.
        significant: the interval lies above 0 and neither group is ``too_few``.
        too_few: fewer than ``min_n`` passives or promoters in all; ``significant`` is then ``False``.
        reason: why ``too_few`` is set, in words for a page; ``None`` otherwise.
    """

    theme: str
    label: str
    team: str | None
    passives: int
    passive_share: float
    promoter_share: float
    gap: float
    quotes: list[Quote] = field(default_factory=list)
    gap_ci: tuple[float, float] | None = None
    significant: bool = False
    too_few: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gap_interval(hits_a: int, n_a: int, hits_b: int, n_b: int, z: float) -> tuple[float, float]:
    """Agresti-Caffo interval of ``hits_a / n_a - hits_b / n_b`` in percentage points (one hit and one miss added
    to each group), widened to contain the observed difference and clipped to -100..100."""
    pa, pb = (hits_a + 1) / (n_a + 2), (hits_b + 1) / (n_b + 2)
    half = z * float(np.sqrt(pa * (1 - pa) / (n_a + 2) + pb * (1 - pb) / (n_b + 2)))
    observed = hits_a / n_a - (hits_b / n_b if n_b else 0.0)
    low, high = min(pa - pb - half, observed), max(pa - pb + half, observed)
    return round(100 * max(-1.0, low), 2), round(100 * min(1.0, high), 2)


def passive_drivers(responses: pd.DataFrame | Iterable[Mapping[str, Any]], taxonomy: Taxonomy | None = None,
                    min_count: int = 1, n_quotes: int = 3, confidence: float = 0.95,
                    min_n: int = MIN_N) -> list[PassiveDriver]:
    """Themes passives criticise more than promoters do (a positive gap only), largest gap first.

    Args:
        responses: tagged responses (see the module docstring).
        taxonomy: for theme labels and owning teams.
        min_count: leave out themes fewer passives mention.
        n_quotes: representative passive answers per theme.
        confidence: level of the gap's interval.
        min_n: passives and promoters needed (each) before a gap may be called significant.

    Returns:
        One :class:`PassiveDriver` per theme with ``gap > 0``, each with ``gap_ci``.
    """
    check_min_n(min_n)
    frame = _frame(responses)
    totals = _bands_of(frame["band"].to_numpy(), range(len(frame)))
    if totals[1] == 0:
        return []
    return drivers_from_counts(_frame_counts(frame, n_quotes, None, passives=True), totals, taxonomy, min_count,
                               confidence, min_n)


def drivers_from_counts(counts: Iterable[ThemeCounts], totals: tuple[int, int, int], taxonomy: Taxonomy | None = None,
                        min_count: int = 1, confidence: float = 0.95, min_n: int = MIN_N) -> list[PassiveDriver]:
    """:func:`passive_drivers` from counts: ``counts`` per theme (``critical`` and ``passive_quotes`` are read)
    and ``totals`` (promoters, passives, detractors) of all answers."""
    check_min_n(min_n)
    z = z_value(confidence)
    n_pro, n_pas = totals[0], totals[1]
    if n_pas == 0:
        return []
    reason = too_few_reason({"passives": n_pas, "promoters": n_pro}, min_n, what="a gap")
    out = []
    for theme in counts:
        promoters, passives = theme.critical[0], theme.critical[1]
        pas_share, pro_share = passives / n_pas, (promoters / n_pro if n_pro else 0.0)
        gap = round(100 * (pas_share - pro_share), 2)
        if passives < min_count or gap <= 0:
            continue
        ci = _gap_interval(passives, n_pas, promoters, n_pro, z)
        theme_obj = taxonomy[theme.theme] if taxonomy is not None and theme.theme in taxonomy else None
        out.append(PassiveDriver(theme.theme, theme_obj.label("en") if theme_obj else theme.theme,
                                 theme_obj.team if theme_obj else None, passives, round(pas_share, 4), round(pro_share, 4),
                                 gap, list(theme.passive_quotes), ci, reason is None and ci[0] > 0, reason is not None, reason))
    out.sort(key=lambda d: (-d.gap, -d.passives, d.theme))
    return out
