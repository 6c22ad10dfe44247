"""The columns ``nps-nlp tag`` adds to every row: a documented, versioned schema.

Every output format (CSV, JSONL, Parquet) carries the same columns with the same values; nested values
(themes, urgency reasons, routing) are JSON strings so that CSV can hold them. The input columns come
first, unchanged, then these, in this order. A change that removes, renames or re-types a column bumps
:data:`SCHEMA_VERSION`; adding a column at the end does not.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from nps_nlp.nps import nps_band
from nps_nlp.pipeline import AnalyzedAnswer

SCHEMA_VERSION = "1"

#: (column, Arrow type, meaning) of every tag column, in output order.
TAG_FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("nps_status", pa.string(), "ok, or rejected: nps_error says why; the other tags are empty except nps_score and nps_band"),
    ("nps_error", pa.string(), "why the row was rejected; empty for ok rows"),
    ("nps_lang", pa.string(), "nl, nb, nn, en, other or und"),
    ("nps_lang_confidence", pa.float64(), "0..1"),
    ("nps_sentiment", pa.string(), "overall sentiment: negative, neutral or positive"),
    ("nps_sentiment_score", pa.float64(), "overall sentiment score -1..1"),
    ("nps_score", pa.float64(), "the 0-10 score as read from the score column (empty when there is none)"),
    ("nps_band", pa.string(), "detractor, passive or promoter (empty without a score)"),
    ("nps_themes", pa.string(), "JSON list of {theme, confidence, sentiment, sentiment_score, evidence{text,start,end}, source}"),
    ("nps_theme_ids", pa.string(), "theme ids joined with ';', most confident first"),
    ("nps_urgency", pa.string(), "none, low, medium, high or critical"),
    ("nps_urgent", pa.bool_(), "the urgency is at or above the alert level"),
    ("nps_urgency_reasons", pa.string(), "JSON list of the urgency reasons, most severe first"),
    ("nps_teams", pa.string(), "owning teams of the themes joined with ';' (first appearance order)"),
    ("nps_routing", pa.string(), "JSON list of {team, theme, kind} with kind problem, praise or mention"),
    ("nps_schema_version", pa.string(), "this schema's version"),
)
TAG_COLUMNS: tuple[str, ...] = tuple(name for name, _, _ in TAG_FIELDS)
TAG_SCHEMA = pa.schema([(name, type_) for name, type_, _ in TAG_FIELDS])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _round(x: float) -> float:
    return round(float(x), 4)


def tag_values(answer: AnalyzedAnswer) -> dict[str, Any]:
    """The tag columns of one analysed answer."""
    result = answer.result
    themes: list[dict[str, Any]] = []
    for t in result.themes:
        ev = t.evidence
        themes.append({"theme": t.theme, "confidence": _round(t.confidence), "sentiment": t.sentiment,
                       "sentiment_score": _round(t.sentiment_score),
                       "evidence": {"text": ev.text, "start": ev.start, "end": ev.end} if ev is not None else None,
                       "source": t.source})
    teams = list(dict.fromkeys(r.team for r in answer.routing))
    return {
        "nps_status": "ok", "nps_error": None,
        "nps_lang": result.lang, "nps_lang_confidence": _round(result.lang_confidence),
        "nps_sentiment": result.sentiment, "nps_sentiment_score": _round(result.sentiment_score),
        "nps_score": float(answer.score) if answer.score is not None else None, "nps_band": answer.band,
        "nps_themes": _json(themes), "nps_theme_ids": ";".join(t["theme"] for t in themes),
        "nps_urgency": answer.urgency.level, "nps_urgent": bool(answer.urgency.urgent),
        "nps_urgency_reasons": _json(answer.urgency.to_dict()["reasons"]),
        "nps_teams": ";".join(teams),
        "nps_routing": _json([{"team": r.team, "theme": r.theme, "kind": r.kind} for r in answer.routing]),
        "nps_schema_version": SCHEMA_VERSION,
    }


def rejected_values(reason: str, score: float | None = None) -> dict[str, Any]:
    """The tag columns of a row that could not be processed: status, reason and (if valid) score and band."""
    out: dict[str, Any] = dict.fromkeys(TAG_COLUMNS)
    out.update(nps_status="rejected", nps_error=reason, nps_score=None if score is None else float(score),
               nps_band=nps_band(score) if score is not None else None, nps_schema_version=SCHEMA_VERSION)
    return out
