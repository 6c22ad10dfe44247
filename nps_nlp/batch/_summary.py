"""The end-of-job summary: rows, languages, NPS with its interval, urgent answers, top action points.

It is computed by streaming over the *output* (so a resumed job and an uninterrupted one get the same
summary, and an old output can be summarised again). Memory stays bounded: counts are exact, and the
action points are computed with :func:`nps_nlp.action_points.action_points` on all tagged answers when
there are at most ``sample_size`` of them, otherwise on a uniform random sample of that size (a seeded
reservoir, so the same output always gives the same summary; the impact intervals then reflect the
sample size).
"""

from __future__ import annotations

import html
import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nps_nlp.action_points import ActionPoint, action_points
from nps_nlp.batch._io import detect_format, open_reader
from nps_nlp.batch._rows import ColumnMap
from nps_nlp.nps import NpsSummary, nps_band
from nps_nlp.taxonomy import Taxonomy


@dataclass
class TagSummary:
    """Figures of a tagged file.

    Attributes:
        rows: rows in the output; ``tagged`` and ``rejected`` split them.
        languages: tagged answers per language; ``sentiments`` per overall sentiment.
        nps: NPS with confidence interval over every row with a valid score (rejected rows included:
            an empty answer with a score is still a response).
        urgent: tagged answers flagged urgent; ``urgency`` answers per urgency level.
        themes: mentions per theme, split by sentiment (exact).
        action_points: the themes that hurt NPS most (see the module docstring).
        action_points_rows: tagged answers with a score the action points were computed on;
            ``action_points_sampled`` is true when that is a sample.
    """

    rows: int = 0
    tagged: int = 0
    rejected: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    sentiments: dict[str, int] = field(default_factory=dict)
    nps: NpsSummary = field(default_factory=lambda: NpsSummary.from_counts(0, 0, 0))
    urgent: int = 0
    urgency: dict[str, int] = field(default_factory=dict)
    themes: dict[str, dict[str, int]] = field(default_factory=dict)
    action_points: list[ActionPoint] = field(default_factory=list)
    action_points_rows: int = 0
    action_points_sampled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "tagged": self.tagged, "rejected": self.rejected, "languages": self.languages,
                "sentiments": self.sentiments, "nps": self.nps.to_dict(), "urgent": self.urgent, "urgency": self.urgency,
                "themes": self.themes, "action_points": [p.to_dict() for p in self.action_points],
                "action_points_rows": self.action_points_rows, "action_points_sampled": self.action_points_sampled}

    def _nps_text(self) -> str:
        n = self.nps
        if n.nps is None:
            return "no scores"
        return f"{n.nps:+.1f} (95% CI {n.ci_low:+.1f} .. {n.ci_high:+.1f}; n={n.n:,})"

    def render(self, top: int = 5) -> Any:
        """A rich renderable: the summary table and the top action points."""
        from rich.console import Group
        from rich.table import Table

        table = Table(title="nps-nlp tag: summary", show_header=False)
        table.add_column("figure", style="bold")
        table.add_column("value")
        table.add_row("rows", f"{self.rows:,} ({self.tagged:,} tagged, {self.rejected:,} rejected)")
        table.add_row("languages", ", ".join(f"{k} {v:,}" for k, v in sorted(self.languages.items(), key=lambda kv: -kv[1])) or "-")
        table.add_row("sentiment", ", ".join(f"{k} {v:,}" for k, v in sorted(self.sentiments.items())) or "-")
        table.add_row("NPS", self._nps_text())
        levels = ", ".join(f"{k} {v:,}" for k, v in sorted(self.urgency.items()) if k != "none")
        table.add_row("urgent", f"{self.urgent:,}" + (f" ({levels})" if levels else ""))
        points = Table(title=f"top action points (of {self.action_points_rows:,} scored answers"
                             + (", a random sample)" if self.action_points_sampled else ")"))
        for col in ("theme", "team", "mentions", "neg/neu/pos", "NPS with", "impact (95% CI)"):
            points.add_column(col, justify="right" if col not in ("theme", "team") else "left")
        for p in self.action_points[:top]:
            points.add_row(p.label, p.team or "-", f"{p.count:,}", f"{p.negative}/{p.neutral}/{p.positive}",
                           f"{p.nps_with:+.1f}" if p.nps_with is not None else "-",
                           f"{p.impact:+.1f} ({p.impact_ci[0]:+.1f} .. {p.impact_ci[1]:+.1f})")
        return Group(table, points) if self.action_points else table

    def to_html(self, top: int = 10) -> str:
        """A self-contained HTML page of the summary."""
        e = html.escape
        rows = [("rows", f"{self.rows:,} ({self.tagged:,} tagged, {self.rejected:,} rejected)"),
                ("languages", ", ".join(f"{k} {v:,}" for k, v in sorted(self.languages.items(), key=lambda kv: -kv[1]))),
                ("NPS", self._nps_text()), ("urgent", f"{self.urgent:,}")]
        head = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
        points = "".join(
            f"<tr><td>{e(p.label)}</td><td>{e(p.team or '-')}</td><td>{p.count:,}</td><td>{p.negative}/{p.neutral}/{p.positive}</td>"
            f"<td>{p.impact:+.1f} ({p.impact_ci[0]:+.1f} .. {p.impact_ci[1]:+.1f})</td>"
            f"<td>{e(p.quotes[0].text) if p.quotes else ''}</td></tr>" for p in self.action_points[:top])
        return ("<!doctype html><html><head><meta charset='utf-8'><title>nps-nlp tag summary</title>"
                "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
                "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
                f"<h1>Tagging summary</h1><table>{head}</table><h2>Top action points</h2>"
                "<table><tr><th>theme</th><th>team</th><th>mentions</th><th>neg/neu/pos</th><th>impact (95% CI)</th>"
                f"<th>example</th></tr>{points}</table></body></html>")

    def write(self, path: str | Path, top: int = 10) -> None:
        """Write the summary as JSON (``.json``) or HTML (``.html``/``.htm``)."""
        path = Path(path)
        if path.suffix.lower() in (".html", ".htm"):
            path.write_text(self.to_html(top), encoding="utf-8")
        else:
            path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


class SummaryBuilder:
    """Accumulates a :class:`TagSummary` row by row in bounded memory.

    Args:
        taxonomy: for theme labels and teams in the action points.
        sample_size: most answers kept for the action points.
        seed: seed of the reservoir sample.
    """

    def __init__(self, taxonomy: Taxonomy | None = None, sample_size: int = 50_000, seed: int = 0) -> None:
        self.taxonomy, self.sample_size = taxonomy, sample_size
        self._rng = random.Random(seed)
        self._summary = TagSummary()
        self._bands: Counter[str] = Counter()
        self._langs: Counter[str] = Counter()
        self._sentiments: Counter[str] = Counter()
        self._urgency: Counter[str] = Counter()
        self._themes: dict[str, Counter[str]] = {}
        self._sample: list[dict[str, Any]] = []
        self._candidates = 0

    def add(self, row: dict[str, Any], columns: ColumnMap) -> None:
        """Count one output row (input columns + tag columns, as read back from any output format)."""
        s = self._summary
        s.rows += 1
        score = _float(row.get("nps_score"))
        if score is not None:
            self._bands[nps_band(score)] += 1
        if row.get("nps_status") != "ok":
            s.rejected += 1
            return
        s.tagged += 1
        self._langs[str(row.get("nps_lang"))] += 1
        self._sentiments[str(row.get("nps_sentiment"))] += 1
        self._urgency[str(row.get("nps_urgency"))] += 1
        s.urgent += _bool(row.get("nps_urgent"))
        themes = json.loads(row.get("nps_themes") or "[]")
        for t in themes:
            self._themes.setdefault(t["theme"], Counter())[t["sentiment"]] += 1
        if score is None:
            return
        self._candidates += 1
        slot = len(self._sample) if len(self._sample) < self.sample_size else self._rng.randrange(self._candidates)
        if slot < self.sample_size:
            item = {"score": score, "themes": themes, "lang": row.get("nps_lang"),
                    "text": row.get(columns.text) if columns.text else None,
                    "id": str(row[columns.id]) if columns.id and row.get(columns.id) is not None else None}
            if columns.timestamp:
                item["timestamp"] = row.get(columns.timestamp)
            if slot == len(self._sample):
                self._sample.append(item)
            else:
                self._sample[slot] = item

    def build(self) -> TagSummary:
        """The summary of the rows added so far."""
        s = self._summary
        s.nps = NpsSummary.from_counts(self._bands["promoter"], self._bands["passive"], self._bands["detractor"])
        s.languages, s.sentiments, s.urgency = dict(self._langs), dict(self._sentiments), dict(self._urgency)
        s.themes = {k: {p: v[p] for p in ("negative", "neutral", "positive")} for k, v in sorted(self._themes.items())}
        s.action_points_rows = len(self._sample)
        s.action_points_sampled = self._candidates > len(self._sample)
        if self._sample:
            import pandas as pd

            frame = pd.DataFrame(self._sample)
            period: str | None = "month"
            if "timestamp" not in frame or frame["timestamp"].isna().any():
                period = None
            else:
                try:
                    pd.to_datetime(frame["timestamp"].astype(str), utc=True, format="ISO8601")
                    frame["timestamp"] = frame["timestamp"].astype(str)
                except (ValueError, TypeError):
                    period = None
            s.action_points = action_points(frame, self.taxonomy, period=period)
        return s


def iter_output_rows(path: str | Path, fmt: str | None = None, batch_size: int = 10_000) -> Iterator[dict[str, Any]]:
    """The rows of a tagged output: a file in any format, or a directory of Parquet files (the Ray engine's)."""
    path = Path(path)
    if path.is_dir():
        import pyarrow.dataset as ds

        for batch in ds.dataset(path, format="parquet").to_batches(batch_size=batch_size):
            yield from batch.to_pylist()
        return
    reader = open_reader(path, detect_format(path, fmt), tagged=True)
    for chunk in reader.chunks(batch_size):
        yield from chunk.rows


def summarize_output(path: str | Path, columns: ColumnMap | None = None, fmt: str | None = None,
                     taxonomy: Taxonomy | None = None, sample_size: int = 50_000) -> TagSummary:
    """Summarise a tagged output (see the module docstring).

    Args:
        path: the output of ``nps-nlp tag``.
        columns: the input column mapping (for quotes' text and id, and the trend's timestamps).
        fmt: the output's format (default from the extension).
        taxonomy: for theme labels and teams.
        sample_size: most answers the action points are computed on.
    """
    columns = columns or ColumnMap(text="text")
    builder = SummaryBuilder(taxonomy, sample_size)
    for row in iter_output_rows(path, fmt):
        builder.add(row, columns)
    return builder.build()
