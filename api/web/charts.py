"""The NPS trend as a server-side SVG: a y-axis with NPS values, a labelled x-axis, the 95% interval as a band,
each period's value written at its point, and incomplete periods drawn hollow with a dashed line."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from api.web.i18n import Translator

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 52, 24, 20, 46


def _ticks(low: float, high: float) -> list[int]:
    step = 10 if high - low <= 80 else 20 if high - low <= 160 else 50
    first = int(math.floor(low / step) * step)
    return list(range(first, int(math.ceil(high / step) * step) + 1, step))


def period_label(t: Translator, period: str, start: str) -> str:
    """``30 Nov`` (day), ``week 48`` (week), ``Nov 2026`` (month)."""
    day = date.fromisoformat(start)
    if period == "day":
        return f"{day.day} {t.month(day.month)}"
    if period == "week":
        return t("chart.week", n=day.isocalendar().week)
    return f"{t.month(day.month)} {day.year}"


def trend_svg(trend: list[dict[str, Any]], period: str, t: Translator) -> Markup:
    """An ``<svg>`` of ``trend`` (the points of :func:`nps_nlp.nps.nps_trend` with ``incomplete``)."""
    if not trend:
        return Markup(f'<p class="empty">{escape(t("empty.no_answers"))}</p>')
    lows = [p["ci_low"] if p["ci_low"] is not None else p["nps"] for p in trend]
    highs = [p["ci_high"] if p["ci_high"] is not None else p["nps"] for p in trend]
    ticks = _ticks(max(-100.0, min(lows) - 5), min(100.0, max(highs) + 5))
    y_min, y_max = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(trend)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (y_max - v) / (y_max - y_min or 1)

    parts = [f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'aria-label="{escape(t("chart.title"))}">', f'<title>{escape(t("chart.title"))}</title>']
    for tick in ticks:
        parts.append(f'<line class="grid{" zero" if tick == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/>')
        parts.append(f'<text class="ytick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:+d}</text>'
                     if tick else f'<text class="ytick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">0</text>')
    parts.append(f'<text class="axis-title" x="14" y="{TOP + plot_h / 2:.0f}" transform="rotate(-90 14 {TOP + plot_h / 2:.0f})" '
                 f'text-anchor="middle">NPS</text>')
    band_top = " ".join(f"{x(i):.1f},{y(h):.1f}" for i, h in enumerate(highs))
    band_bottom = " ".join(f"{x(i):.1f},{y(lo):.1f}" for i, lo in reversed(list(enumerate(lows))))
    parts.append(f'<polygon class="band" points="{band_top} {band_bottom}"/>')
    for i in range(n - 1):
        dashed = trend[i]["incomplete"] or trend[i + 1]["incomplete"]
        parts.append(f'<line class="line{" dashed" if dashed else ""}" x1="{x(i):.1f}" y1="{y(trend[i]["nps"]):.1f}" '
                     f'x2="{x(i + 1):.1f}" y2="{y(trend[i + 1]["nps"]):.1f}"/>')
    every = max(1, math.ceil(n / 12))
    for i, point in enumerate(trend):
        label = period_label(t, period, point["period"])
        tip = t("chart.point", period=label, nps=t.number(point["nps"]), low=t.number(point["ci_low"]),
                high=t.number(point["ci_high"]), n=point["n"])
        if point["incomplete"]:
            tip += " · " + t("chart.incomplete")
        cls = "point incomplete" if point["incomplete"] else "point"
        parts.append(f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(point["nps"]):.1f}" r="4"><title>{escape(tip)}</title></circle>')
        if n <= 16 or i % every == 0 or i == n - 1:
            parts.append(f'<text class="value" x="{x(i):.1f}" y="{y(point["nps"]) - 8:.1f}" text-anchor="middle">'
                         f'{escape(t.number(point["nps"], 0))}</text>')
            parts.append(f'<text class="xtick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
            if point["incomplete"]:
                parts.append(f'<text class="xnote" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 30}" text-anchor="middle">'
                             f'{escape(t("chart.incomplete"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["period_label", "trend_svg"]
