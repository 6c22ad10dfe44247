"""Helpers for the batch tests: a fast, deterministic fake pipeline and file writers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from nps_nlp._results import Evidence, FeedbackResult, ThemeResult
from nps_nlp.nps import nps_band
from nps_nlp.pipeline import AnalyzedAnswer, Route
from nps_nlp.urgency import UrgencyResult

_KEYWORDS = {"invoice": ("billing_payment", "finance"), "staff": ("staff_attitude", "customer_service"),
             "delivery": ("delivery_logistics", "logistics")}


class FakePipeline:
    """Tags by keywords: fast, deterministic, and records every ``analyze`` call."""

    def __init__(self, fail_after_calls: int | None = None) -> None:
        self.calls: list[int] = []
        self.fail_after_calls = fail_after_calls

    def analyze(self, texts: Sequence[str], scores: Sequence[float | None] | None = None,
                langs: Sequence[str | None] | str | None = None) -> list[AnalyzedAnswer]:
        if self.fail_after_calls is not None and len(self.calls) >= self.fail_after_calls:
            raise RuntimeError("simulated crash")
        self.calls.append(len(texts))
        scores = list(scores) if scores is not None else [None] * len(texts)
        out = []
        for text, score in zip(texts, scores, strict=True):
            negative = any(w in text.lower() for w in ("wrong", "late", "rude", "cancel"))
            sentiment = "negative" if negative else "positive"
            themes, routes = [], []
            for word, (theme, team) in _KEYWORDS.items():
                at = text.lower().find(word)
                if at >= 0:
                    evidence = Evidence(text[at:at + len(word)], at, at + len(word))
                    themes.append(ThemeResult(theme, 0.8, sentiment, -0.7 if negative else 0.7, evidence))
                    routes.append(Route(team, theme, "problem" if negative else "praise"))
            result = FeedbackResult(text, "nl" if " de " in f" {text.lower()} " else "en", 0.9, sentiment,
                                    -0.6 if negative else 0.6, themes)
            urgent = "cancel" in text.lower()
            urgency = UrgencyResult("high" if urgent else "none", urgent)
            out.append(AnalyzedAnswer(result, score, nps_band(score) if score is not None else None, urgency, routes))
        return out


TEXTS = [
    "The invoice was wrong again", "Friendly staff, quick help", "Delivery was late and the staff rude",
    "De factuur klopt niet, invoice wrong", "I will cancel my contract, delivery late", "Great delivery",
]


def write_csv(path: Path, rows: list[dict]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
    return path
