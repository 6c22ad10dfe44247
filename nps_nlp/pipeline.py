"""One answer in, everything out: classifier result + NPS band + urgency + routing.

The service (``api/``) and batch tagging (``nps-nlp tag``) both go through :class:`FeedbackPipeline`, so an
answer gets the same tags wherever it is processed.

Example:
    >>> pipe = FeedbackPipeline.load("models/default")          # doctest: +SKIP
    >>> pipe.analyze(["Great staff but the invoice was wrong again"], scores=[6])[0].routing  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nps_nlp._results import FeedbackResult
from nps_nlp.classifier import FeedbackClassifier
from nps_nlp.errors import DataValidationError
from nps_nlp.nps import Band, nps_band
from nps_nlp.score_fusion import check_scores
from nps_nlp.taxonomy import Taxonomy
from nps_nlp.urgency import UrgencyDetector, UrgencyResult


@dataclass
class Route:
    """Where a theme of an answer goes: its owning team, as a problem or as praise.

    Attributes:
        team: the owning team (``unassigned`` for themes without one).
        theme: the theme id.
        kind: ``problem`` (negative), ``praise`` (positive) or ``mention`` (neutral).
    """

    team: str
    theme: str
    kind: str


def route(result: FeedbackResult, taxonomy: Taxonomy) -> list[Route]:
    """Routes of an answer's themes to the teams that own them (taxonomy order of confidence kept)."""
    kinds = {"negative": "problem", "positive": "praise"}
    return [Route(taxonomy.team_of(t.theme) or "unassigned", t.theme, kinds.get(t.sentiment, "mention"))
            for t in result.themes]


@dataclass
class AnalyzedAnswer:
    """The full reading of one answer.

    Attributes:
        result: the classifier's result (language, sentiment, themes with evidence).
        score: the 0-10 score, if given; ``band`` its NPS band.
        urgency: urgency level and reasons.
        routing: one route per theme.
    """

    result: FeedbackResult
    score: float | None
    band: Band | None
    urgency: UrgencyResult
    routing: list[Route] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready data: the result's fields plus ``score``, ``band``, ``urgency`` and ``routing``."""
        return {**self.result.to_dict(), "score": self.score, "band": self.band, "urgency": self.urgency.to_dict(),
                "routing": [asdict(r) for r in self.routing]}


class FeedbackPipeline:
    """Classify, score urgency and route answers.

    Args:
        classifier: a fitted :class:`FeedbackClassifier`.
        urgency: the urgency detector (default cues, alert level ``high``).
    """

    def __init__(self, classifier: FeedbackClassifier, urgency: UrgencyDetector | None = None) -> None:
        self.classifier = classifier
        self.urgency = urgency or UrgencyDetector()

    @classmethod
    def load(cls, model_dir: str | Path, urgency: UrgencyDetector | None = None) -> FeedbackPipeline:
        """A pipeline around the model saved in ``model_dir``."""
        return cls(FeedbackClassifier.load(model_dir), urgency)

    @property
    def taxonomy(self) -> Taxonomy:
        return self.classifier.taxonomy_

    def analyze(self, texts: Sequence[str], scores: Sequence[float | None] | None = None,
                langs: Sequence[str | None] | str | None = None) -> list[AnalyzedAnswer]:
        """Analyze a batch of answers (one encoder pass for the whole batch).

        Args:
            texts: the answers.
            scores: one 0-10 score (or ``None``) per answer.
            langs: a language hint for all answers, or one per answer (``None`` = detect).

        Raises:
            DataValidationError: lengths differ or a score is outside 0-10 (with the positions).
        """
        texts = list(texts)
        scores = check_scores(scores, len(texts), single=False)
        if isinstance(langs, Sequence) and not isinstance(langs, str) and len(langs) != len(texts):
            raise DataValidationError(f"{len(texts)} texts but {len(langs)} language hints")
        results = self.classifier.predict(texts, lang=langs, scores=scores)
        # a trained model's fusion of cues, learned reading and score decides the alerts (see UrgencyDetector.assess)
        fusion = getattr(getattr(self.classifier, "urgency_model_", None), "fusion_", None)
        out = []
        for result, score in zip(results, scores, strict=True):
            urgency = self.urgency.assess(result.text, score=score, sentiment_score=result.sentiment_score,
                                          lang=result.lang, signal=result.urgency_signal, fusion=fusion)
            out.append(AnalyzedAnswer(result, score, nps_band(score) if score is not None else None, urgency,
                                      route(result, self.taxonomy)))
        return out

    def analyze_one(self, text: str, score: float | None = None, lang: str | None = None) -> AnalyzedAnswer:
        """Analyze a single answer."""
        return self.analyze([text], [score], [lang])[0]
