"""A fast stand-in for FeedbackPipeline: keyword rules instead of the encoder, the real urgency detector,
taxonomy and routing, so the service's own logic is tested in milliseconds."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from nps_nlp._results import Evidence, FeedbackResult, ThemeResult
from nps_nlp.nps import nps_band
from nps_nlp.pipeline import AnalyzedAnswer, route
from nps_nlp.taxonomy import load_taxonomy
from nps_nlp.urgency import UrgencyDetector

RULES = {
    "billing_payment": r"invoice|bill|factuur|faktura|charged",
    "staff_attitude": r"staff|personeel|ansatte|agent",
    "website_app": r"app|website",
    "reliability_outages": r"down|outage|storing|nede",
    "price_value": r"price|expensive|duur|dyrt|cheap",
    "delivery_waiting": r"delivery|parcel|pakket|late",
}
NEG = re.compile(r"\b(wrong|bad|slow|down|expensive|rude|crash\w*|terrible|awful|niet|ikke|never|late|cancel\w*)\b", re.I)
POS = re.compile(r"\b(great|good|friendly|goed|flott|fast|love|excellent|cheap)\b", re.I)


class FakePipeline:
    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.taxonomy = load_taxonomy()
        self.urgency = UrgencyDetector()
        self.calls: list[int] = []
        self.batches: list[list[str]] = []  # the texts of each analyze call, in call order
        self.delay_s = delay_s
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.started = threading.Event()  # set when the first analyze call begins, for tests that wait on it

    def _result(self, text: str, lang: str | None) -> FeedbackResult:
        letters = len(re.findall(r"[^\W\d_]", text))
        neg, pos = bool(NEG.search(text)), bool(POS.search(text))
        score = -0.8 if neg and not pos else 0.8 if pos and not neg else 0.0
        sentiment = "negative" if score < 0 else "positive" if score > 0 else "neutral"
        result = FeedbackResult(text, "und" if letters < 3 else (lang or "en"), 0.9 if letters >= 3 else 0.0,
                                sentiment, score)
        for theme, pattern in RULES.items():
            m = re.search(pattern, text, re.I)
            if m:
                result.themes.append(ThemeResult(theme, 0.9, sentiment, score, Evidence(m.group(0), m.start(), m.end())))
        return result

    def analyze(self, texts: Sequence[str], scores: Sequence[float | None] | None = None,
                langs: Sequence[str | None] | str | None = None) -> list[AnalyzedAnswer]:
        import time

        texts = list(texts)
        with self.lock:
            self.calls.append(len(texts))
            self.batches.append(texts)
        self.started.set()
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise RuntimeError("boom")
        scores = list(scores) if scores is not None else [None] * len(texts)
        hints = list(langs) if isinstance(langs, list | tuple) else [langs] * len(texts)
        out = []
        for text, score, lang in zip(texts, scores, hints, strict=True):
            result = self._result(text, lang)
            urgency = self.urgency.assess(text, score=score, sentiment_score=result.sentiment_score, lang=result.lang)
            out.append(AnalyzedAnswer(result, score, nps_band(score) if score is not None else None, urgency,
                                      route(result, self.taxonomy)))
        return out
