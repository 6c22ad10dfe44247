"""Report digests: the day's, week's or month's NPS for a team or the whole company, as data, HTML and PDF.

A digest covers one complete period (by default the latest that has ended) cut in a time zone, and holds: the
NPS with its interval and its change against the period before (with significance, ``too_few`` when either side
has fewer than ``min_n`` answers), an NPS evolution chart of the last periods (a PNG drawn with matplotlib, so it
shows in every mail client), the top action points (leave-one-out impact), new praise, and the alerts overdue
at the time the digest is made. A team's answers are those of :func:`api.services.queries.in_teams`.

HTML comes from the Jinja2 template ``report_templates/digest.html`` (inline styles, one column, for mail
clients); PDF from the same HTML through WeasyPrint (the ``pdf`` extra).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Alert, Response, ResponseTheme
from api.services.leaderboard import Window, period_start, zone
from api.services.queries import Filters, in_teams
from nps_nlp.action_points import action_points
from nps_nlp.nps import MIN_N, nps, nps_change

DigestPeriod = Literal["day", "week", "month"]
DIGEST_PERIODS: tuple[DigestPeriod, ...] = ("day", "week", "month")
TREND_PERIODS: dict[str, int] = {"day": 14, "week": 12, "month": 12}
"""How many periods the chart shows, the digest's own last."""
TEMPLATES = Path(__file__).resolve().parent / "report_templates"
LOCALES: tuple[str, ...] = ("en", "nl", "nb")
"""Languages a digest can be written in (English, Dutch, Norwegian Bokmål)."""
CHART_CID = "nps-chart@nps-nlp"
"""Content-ID of the chart in a digest e-mail (``<img src="cid:...">``)."""


def digest_window(period: DigestPeriod, at: datetime | None = None, tz: str = "UTC", now: datetime | None = None) -> Window:
    """The period a digest covers: the one holding ``at``, else the latest complete one before ``now``.

    Raises:
        ValueError: an unknown period or time zone.
    """
    if period not in DIGEST_PERIODS:
        raise ValueError(f"period must be one of {', '.join(DIGEST_PERIODS)}, got {period!r}")
    if at is not None:
        return Window.containing(period, at, tz)
    return Window.last_complete(period, now or datetime.now(UTC), tz)


def _scoped(query: Any, team: str | None, filters: Filters | None) -> Any:
    if filters is not None:
        query = filters.apply(query)
    return query.where(in_teams([team])) if team is not None else query


def _trend(session: Session, window: Window, team: str | None, filters: Filters | None, min_n: int) -> list[dict[str, Any]]:
    """NPS of the last :data:`TREND_PERIODS` periods up to ``window`` (empty periods included, ``nps`` None)."""
    starts = [window]
    for _ in range(TREND_PERIODS[window.period] - 1):
        starts.insert(0, starts[0].previous())
    rows = session.execute(_scoped(select(Response.timestamp, Response.score)
                                   .where(Response.timestamp >= starts[0].start, Response.timestamp < window.end), team, filters))
    local = zone(window.tz)
    scores: dict[Any, list[int]] = defaultdict(list)
    for ts, score in rows:
        scores[period_start(window.period, ts.astimezone(local).date())].append(score)
    out = []
    for w in starts:
        s = nps(scores.get(w.first_day, []), min_n=min_n)
        out.append({"period": w.first_day.isoformat(), "label": w.label(), "nps": s.nps, "ci_low": s.ci_low,
                    "ci_high": s.ci_high, "n": s.n, "too_few": s.too_few})
    return out


def _points(session: Session, window: Window, team: str | None, filters: Filters | None, taxonomy: Any,
            limit: int) -> list[dict[str, Any]]:
    """The most harmful themes of the period (for a team: the themes it owns, when the taxonomy says)."""
    query = _scoped(select(Response.external_id, Response.score, Response.text, Response.lang, Response.analysis)
                    .where(Response.timestamp >= window.start, Response.timestamp < window.end).order_by(Response.id), team, filters)
    responses = [{"id": ext, "score": score, "text": text, "lang": lang, "themes": (analysis or {}).get("themes", [])}
                 for ext, score, text, lang, analysis in session.execute(query)]
    if not responses:
        return []
    points = action_points(responses, taxonomy, min_count=3, n_quotes=1, period=None, n_boot=500)
    if team is not None and any(p.team == team for p in points):
        points = [p for p in points if p.team == team]
    out = []
    for p in points:
        if p.impact >= 0:
            continue  # only what costs NPS
        quotes = [{"text": q.text, "score": q.score, "lang": q.lang, "theme": p.theme,
                   "evidence": (q.evidence or {}).get("text")} for q in p.quotes]
        out.append({"theme": p.theme, "label": p.label, "team": p.team, "count": p.count, "impact": p.impact,
                    "impact_ci": list(p.impact_ci), "quotes": quotes})
    return out[:limit]


def _praise(session: Session, window: Window, team: str | None, filters: Filters | None, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """How many praise mentions the period brought (for a team: routed to it) and the newest few, with evidence."""
    base = select(ResponseTheme, Response).join(Response).where(
        ResponseTheme.kind == "praise", Response.timestamp >= window.start, Response.timestamp < window.end)
    if filters is not None:
        base = filters.apply(base)
    if team is not None:
        base = base.where(ResponseTheme.team == team)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    quotes = []
    for theme, resp in session.execute(base.order_by(Response.timestamp.desc(), ResponseTheme.id).limit(limit)):
        evidence = next((t.get("evidence") for t in (resp.analysis or {}).get("themes", []) if t.get("theme") == theme.theme), None)
        quotes.append({"text": resp.text, "score": resp.score, "lang": resp.lang, "theme": theme.theme,
                       "evidence": (evidence or {}).get("text")})
    return total, quotes


def _overdue(session: Session, team: str | None, filters: Filters | None, now: datetime, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """Open alerts past their due time (for a team: routed to it), most overdue first."""
    query = select(Alert).join(Response, Alert.response_id == Response.id).where(Alert.status != "resolved", Alert.due_at < now)
    if filters is not None:
        query = filters.apply(query)
    if team is not None:
        query = query.where(Alert.team == team)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Alert.due_at, Alert.id).limit(limit)).unique()
    return total, [{"id": a.id, "level": a.level, "team": a.team, "status": a.status, "owner": a.owner, "due_at": a.due_at,
                    "hours_overdue": round((now - a.due_at).total_seconds() / 3600, 1), "score": a.response.score,
                    "text": a.response.text} for a in rows]


def build_digest(session: Session, period: DigestPeriod, team: str | None = None, *, at: datetime | None = None,
                 tz: str = "UTC", taxonomy: Any = None, filters: Filters | None = None, now: datetime | None = None,
                 min_n: int = MIN_N, limit: int = 5) -> dict[str, Any]:
    """The digest of one period for ``team`` (``None``: the company).

    Args:
        session: a database session.
        period: ``day``, ``week`` or ``month``.
        team: the team (its answers, praise routed to it, its alerts), or ``None`` for everything.
        at: a time inside the period to report (default: the latest complete period before ``now``).
        tz: the time zone periods are cut in.
        taxonomy: theme labels and owning teams for the action points (optional).
        filters: segment filters (the period replaces their window; ``team`` is the argument).
        now: the time alerts are judged overdue at (default: now).
        min_n: answers needed on each side before a change is called significant.
        limit: most action points, praise quotes and overdue alerts listed.

    Returns:
        ``period``, ``team``, ``label``, ``start``, ``end``, ``tz``, ``nps``, ``change``, ``trend``,
        ``action_points``, ``praise``, ``praise_count``, ``overdue_alerts``, ``overdue_count``.

    Raises:
        ValueError: an unknown period or time zone.
    """
    now = now or datetime.now(UTC)
    window = digest_window(period, at, tz, now)
    seg = dataclasses.replace(filters, since=None, until=None, team=None) if filters is not None else None
    trend = _trend(session, window, team, seg, min_n)
    scores = [s for _, s in session.execute(_scoped(select(Response.id, Response.score).where(
        Response.timestamp >= window.start, Response.timestamp < window.end), team, seg))]
    before = window.previous()
    previous = [s for _, s in session.execute(_scoped(select(Response.id, Response.score).where(
        Response.timestamp >= before.start, Response.timestamp < before.end), team, seg))]
    current = nps(scores, min_n=min_n)
    praise_count, praise = _praise(session, window, team, seg, limit)
    overdue_count, overdue = _overdue(session, team, seg, now, limit)
    return {"period": period, "team": team, "label": window.label(), "start": window.start, "end": window.end, "tz": tz,
            "nps": current.to_dict(), "change": nps_change(current, nps(previous, min_n=min_n), min_n=min_n).to_dict(),
            "trend": trend, "action_points": _points(session, window, team, seg, taxonomy, limit),
            "praise": praise, "praise_count": praise_count, "overdue_alerts": overdue, "overdue_count": overdue_count}


@functools.cache
def _all_strings() -> dict[str, dict[str, Any]]:
    return json.loads((TEMPLATES / "strings.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def strings(locale: str = "en") -> dict[str, Any]:
    """The words of a digest in ``locale`` (``en``, ``nl`` or ``nb``; ``no`` means ``nb``).

    Raises:
        ValueError: another locale.
    """
    code = "nb" if locale == "no" else locale
    if code not in LOCALES:
        raise ValueError(f"digests are written in {', '.join(LOCALES)}, not {locale[:20]!r}")
    return _all_strings()[code]


def _num(value: float | None, locale: str, sign: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{value:+.1f}" if sign else f"{value:.1f}"
    return text.replace(".", ",") if locale != "en" else text


def _tick(period: str, first_day: str, locale: str) -> str:
    day = datetime.fromisoformat(first_day)
    if period == "month":
        return day.strftime("%Y-%m")
    return day.strftime("%d %b") if locale == "en" else day.strftime("%d.%m")


def chart_png(digest: dict[str, Any], locale: str = "en") -> bytes:
    """The NPS evolution chart of a digest as a PNG: NPS per period with its 95% interval as a band, each value
    written above its point, a labelled y-axis; periods with too few answers drawn as open circles."""
    from matplotlib.figure import Figure  # no pyplot: no global backend or state

    trend = digest["trend"]
    fig = Figure(figsize=(6.4, 2.6), dpi=110)
    ax = fig.add_subplot()
    xs = list(range(len(trend)))
    known = [(x, t) for x, t in zip(xs, trend, strict=True) if t["nps"] is not None]
    if known:
        kx = [x for x, _ in known]
        ax.fill_between(kx, [t["ci_low"] for _, t in known], [t["ci_high"] for _, t in known], color="#9ec5e8", alpha=0.45,
                        linewidth=0)
        ax.plot(kx, [t["nps"] for _, t in known], color="#1f5fa8", linewidth=1.8)
        for x, t in known:
            ax.plot([x], [t["nps"]], marker="o", markersize=5, color="#1f5fa8",
                    markerfacecolor="white" if t["too_few"] else "#1f5fa8")
            ax.annotate(f"{t['nps']:.0f}", (x, t["nps"]), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
        low = min(t["ci_low"] for _, t in known)
        high = max(t["ci_high"] for _, t in known)
        ax.set_ylim(max(-100, low - 10), min(100, high + 12))
    else:
        ax.set_ylim(-100, 100)
        ax.text(0.5, 0.5, strings(locale)["no_answers"], transform=ax.transAxes, ha="center", va="center", color="#666")
    ax.axhline(0, color="#999", linewidth=0.6)
    ax.set_xticks(xs, [_tick(digest["period"], t["period"], locale) for t in trend], fontsize=7,
                  rotation=45 if len(trend) > 8 else 0, ha="right" if len(trend) > 8 else "center")
    ax.set_xlim(-0.5, len(trend) - 0.5)
    ax.set_ylabel("NPS", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def render_html(digest: dict[str, Any], chart_src: str, locale: str = "en") -> str:
    """The digest as an HTML page in ``locale``; ``chart_src`` is the chart's ``src`` (``cid:...`` in e-mail, a data
    URL else)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    words = strings(locale)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["signed"] = lambda v: _num(v, locale, sign=True)
    env.filters["num"] = lambda v: _num(v, locale)
    env.filters["when"] = lambda d: d.astimezone(zone(digest["tz"])).strftime("%Y-%m-%d %H:%M") if d else ""
    return env.get_template("digest.html").render(d=digest, chart_src=chart_src, title=digest_title(digest, locale), t=words,
                                                  locale="nb" if locale == "no" else locale)


def digest_title(digest: dict[str, Any], locale: str = "en") -> str:
    """``NPS weekly digest: customer-service, week of 2026-11-23`` (in ``locale``)."""
    words = strings(locale)
    label = digest["label"]
    if digest["period"] == "week":
        label = words["week_of"].format(day=digest["start"].astimezone(zone(digest["tz"])).date().isoformat())
    return words["title"].format(kind=words["kind"][digest["period"]], scope=digest["team"] or words["company"], label=label)


def html_document(digest: dict[str, Any], locale: str = "en") -> str:
    """A self-contained HTML page in ``locale`` (the chart inline as a data URL)."""
    data = base64.b64encode(chart_png(digest, locale)).decode("ascii")
    return render_html(digest, f"data:image/png;base64,{data}", locale)


def pdf_document(digest: dict[str, Any], locale: str = "en") -> bytes:
    """The digest as a PDF in ``locale`` (WeasyPrint).

    Raises:
        MissingDependencyError: WeasyPrint (the ``pdf`` extra) or the system's Pango library is missing.
    """
    from nps_nlp.errors import MissingDependencyError

    try:
        from weasyprint import HTML
    except (ImportError, OSError):  # OSError: the package is there but the Pango library is not
        raise MissingDependencyError("weasyprint", "pdf") from None
    return HTML(string=html_document(digest, locale)).write_pdf()  # type: ignore[no-any-return]


__all__ = ["CHART_CID", "DIGEST_PERIODS", "LOCALES", "build_digest", "chart_png", "digest_title", "digest_window",
           "html_document", "pdf_document", "render_html", "strings"]
