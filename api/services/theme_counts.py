"""Per-theme counts of the stored answers, counted by the database (``GROUP BY``): what the action points and
passives' drivers of :mod:`nps_nlp.action_points` need (:class:`ThemeCounts`), without reading every answer.

The figures equal those of ``action_points`` / ``passive_drivers`` over the same answers read one by one (an
answer has at most one theme row per theme, as :func:`api.services.store.set_analysis` writes them). The counts
are a tally (:mod:`api.services.tallies`): counts of two ranges of answers add up. Quotes are picked as
:func:`nps_nlp.action_points.rank_quotes` picks them, with the answers in the order of their ids, for the themes
asked for only: each is read by walking the index ``ix_response_themes_rank`` in rank order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.db.models import Response, ResponseTheme
from api.services.queries import Filters
from api.services.tallies import IdRange, within
from nps_nlp.action_points import SENTIMENT_ORDER, Quote, ThemeCounts, rank_quotes

RANKED_SENTIMENTS = frozenset(SENTIMENT_ORDER)
"""Sentiments whose alphabetical order is their rank order (negative, neutral, positive)."""

Cell = tuple[int, int, int, int, int]
"""Promoters, passives, detractors, and the first mention as (answer id, theme row id)."""


@dataclass(frozen=True)
class ThemeTally:
    """Answers per band within a view (``totals``) and, per (theme, mention sentiment), the answers per band with
    the first mention (``cells``)."""

    totals: tuple[int, int, int] = (0, 0, 0)
    cells: Mapping[tuple[str, str], Cell] = field(default_factory=dict)

    def merge(self, other: ThemeTally) -> ThemeTally:
        """The tally of both ranges of answers."""
        cells = dict(self.cells)
        for key, (p, pa, d, first, row) in other.cells.items():
            old = cells.get(key)
            cells[key] = (p, pa, d, first, row) if old is None else \
                (old[0] + p, old[1] + pa, old[2] + d, *min((old[3], old[4]), (first, row)))
        totals = (self.totals[0] + other.totals[0], self.totals[1] + other.totals[1], self.totals[2] + other.totals[2])
        return ThemeTally(totals, cells)

    def counts(self) -> list[ThemeCounts]:
        """Every theme with its counts, in order of first mention (lowest answer id, then lowest theme row)."""
        acc: dict[str, dict[str, Any]] = {}
        for (theme, sentiment), (*bands, first, row_id) in self.cells.items():
            row = acc.setdefault(theme, {"bands": [0, 0, 0], "negative": [0, 0, 0], "critical": [0, 0, 0], "sentiments": {},
                                         "first": (first, row_id)})
            row["first"] = min(row["first"], (first, row_id))
            row["sentiments"][sentiment] = row["sentiments"].get(sentiment, 0) + sum(bands)
            for i, n in enumerate(bands):
                row["bands"][i] += n
                if sentiment == "negative":
                    row["negative"][i] += n
                if sentiment != "positive":
                    row["critical"][i] += n
        ordered = sorted(acc.items(), key=lambda item: item[1]["first"])
        return [ThemeCounts(theme, tuple(r["bands"]), tuple(r["negative"]), r["sentiments"], tuple(r["critical"]))  # type: ignore[arg-type]
                for theme, r in ordered]

    def passive_sentiments(self, theme: str) -> set[str]:
        """The sentiments of passives' negative and neutral mentions of ``theme``."""
        return {s for (t, s), cell in self.cells.items() if t == theme and s != "positive" and cell[1]}


def band_sums(score: Any) -> tuple[Any, Any, Any]:
    """Promoters, passives and detractors among the rows, as three ``SUM`` columns."""
    return (func.sum(case((score >= 9, 1), else_=0)), func.sum(case((score.between(7, 8), 1), else_=0)),
            func.sum(case((score <= 6, 1), else_=0)))


def _mentions(filters: Filters, ids: IdRange | None, *columns: Any, few: bool = False) -> Any:
    query = select(*columns).select_from(ResponseTheme).join(Response, Response.id == ResponseTheme.response_id)
    return within(filters, query, ids, few).where(ResponseTheme.theme != "")


def theme_tally(session: Session, filters: Filters, ids: IdRange | None = None) -> ThemeTally:
    """The :class:`ThemeTally` of the answers in ``ids`` within ``filters``."""
    row = session.execute(within(filters, select(*band_sums(Response.score)).select_from(Response), ids)).one()
    totals = (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))
    if not sum(totals):
        return ThemeTally(totals, {})
    query = _mentions(filters, ids, ResponseTheme.theme, ResponseTheme.sentiment, *band_sums(Response.score),
                      func.min(ResponseTheme.response_id), func.min(ResponseTheme.id)).group_by(ResponseTheme.theme,
                                                                                                ResponseTheme.sentiment)
    cells = {(theme, sentiment): (int(p or 0), int(pa or 0), int(d or 0), int(first), int(row_id))
             for theme, sentiment, p, pa, d, first, row_id in session.execute(query)}
    return ThemeTally(totals, cells)


def _rank_order(sentiments: Iterable[str]) -> tuple[Any, ...]:
    """The quote rank as an ORDER BY: on the index's own columns when every sentiment is one of the three ranked
    ones (then their alphabetical order is the rank), else through a CASE (exact, but sorted without the index)."""
    if set(sentiments) <= RANKED_SENTIMENTS:
        first: Any = ResponseTheme.sentiment
    else:
        first = case((ResponseTheme.sentiment == "negative", 0), (ResponseTheme.sentiment == "positive", 2), else_=1)
    return first, ResponseTheme.confidence.desc(), ResponseTheme.response_id


def _pick(session: Session, query: Any, order: tuple[Any, ...], n_quotes: int, one_lang: bool) -> list[tuple[Any, ...]]:
    """``rank_quotes`` over the rows of ``query`` (response id, sentiment, confidence, language): from its first
    rows when they hold enough languages (or are all, or ``one_lang`` says there is one), else reading the best
    row of each new language and, when fewer languages than quotes, the best ``n_quotes`` rows."""
    first = [tuple(row) for row in session.execute(query.order_by(*order).limit(4 * n_quotes))]
    if one_lang or len(first) < 4 * n_quotes or len({row[3] for row in first}) >= n_quotes:
        by_id = {row[0]: row for row in first}
        return [by_id[rid] for rid in rank_quotes(first, n_quotes)]
    picked: list[tuple[Any, ...]] = []
    while len(picked) < n_quotes:
        langs = [row[3] for row in picked]
        row = session.execute((query.where(Response.lang.not_in(langs)) if langs else query).order_by(*order).limit(1)).first()
        if row is None:
            break
        picked.append(tuple(row))
    if len(picked) < n_quotes:
        ids = {row[0] for row in picked}
        picked += [row for row in first[:n_quotes] if row[0] not in ids]
    return picked[:n_quotes]


READ_ALL = 2000
"""Mentions up to which the quotes' candidates are read at once and ranked here, instead of walked in rank order
(a narrow view: its few mentions are found through the answers' own indexes)."""


def _candidates(tally: ThemeTally, theme: str, passives: bool) -> int:
    """The mentions :func:`quotes` ranks for ``theme``."""
    return sum(cell[1] if passives else sum(cell[:3]) for (t, s), cell in tally.cells.items()
               if t == theme and not (passives and s == "positive"))


def quotes(session: Session, filters: Filters, tally: ThemeTally, themes: Iterable[str], n_quotes: int,
           passives: bool = False) -> dict[str, list[Quote]]:
    """The quotes of each of ``themes``: of all its mentions (as :func:`nps_nlp.action_points.action_points`
    picks them), or of passives' negative and neutral ones when ``passives`` (as ``passive_drivers`` does).
    A view with few such mentions (``tally`` counts them) reads them all in one query; else each theme's are
    walked in rank order."""
    themes = list(themes)
    if sum(_candidates(tally, theme, passives) for theme in themes) <= READ_ALL:
        picked = _read_all(session, filters, themes, n_quotes, passives)
    else:
        picked = {theme: _walk(session, filters, tally, theme, n_quotes, passives) for theme in themes}
    ids = sorted({row[0] for rows in picked.values() for row in rows})
    answers: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(ids), 500):
        answers.update((rid, tuple(rest)) for rid, *rest in session.execute(
            select(Response.id, Response.text, Response.lang, Response.score, Response.external_id).where(Response.id.in_(ids[i:i + 500]))))
    return {theme: [Quote(str(answers[rid][0]), answers[rid][1], int(answers[rid][2]), sentiment, None, str(answers[rid][3]))
                    for rid, sentiment, _, _ in rows] for theme, rows in picked.items()}


_COLUMNS = (ResponseTheme.response_id, ResponseTheme.sentiment, ResponseTheme.confidence, Response.lang)


def _read_all(session: Session, filters: Filters, themes: list[str], n_quotes: int, passives: bool) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {theme: [] for theme in themes}
    query = _mentions(filters, None, ResponseTheme.theme, *_COLUMNS).where(ResponseTheme.theme.in_(themes))
    if passives:
        query = query.where(Response.score.between(7, 8), ResponseTheme.sentiment != "positive")
    for theme, *row in session.execute(query):
        found[theme].append(tuple(row))
    out = {}
    for theme, rows in found.items():
        by_id = {row[0]: row for row in rows}
        out[theme] = [by_id[rid] for rid in rank_quotes(rows, n_quotes)]
    return out


def _walk(session: Session, filters: Filters, tally: ThemeTally, theme: str, n_quotes: int, passives: bool) -> list[tuple[Any, ...]]:
    query = _mentions(filters, None, *_COLUMNS, few=True).where(ResponseTheme.theme == theme)
    sentiments = {s for t, s in tally.cells if t == theme}
    if passives:  # only the sentiments passives used: the walk skips the others through the index
        sentiments = tally.passive_sentiments(theme)
        query = query.where(Response.score.between(7, 8), ResponseTheme.sentiment.in_(sorted(sentiments)))
    return _pick(session, query, _rank_order(sentiments), n_quotes, filters.lang is not None)


__all__ = ["RANKED_SENTIMENTS", "READ_ALL", "ThemeTally", "band_sums", "quotes", "theme_tally"]
