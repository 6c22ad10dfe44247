"""What the classifier returns for one answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Evidence:
    """The clause a theme was read from: ``text == answer[start:end]``."""

    text: str
    start: int
    end: int


@dataclass
class ThemeResult:
    """One theme found in an answer.

    Attributes:
        theme: theme id.
        confidence: 0..1 (probability for trained themes, rescaled similarity for zero-shot ones).
        sentiment: ``negative``, ``neutral`` or ``positive`` about this theme.
        sentiment_score: -1..1 (P(positive) - P(negative)).
        evidence: the supporting clause with character offsets.
        source: ``trained`` or ``zero-shot`` (matched by the theme's descriptions).
    """

    theme: str
    confidence: float
    sentiment: str
    sentiment_score: float
    evidence: Evidence | None = None
    source: str = "trained"


@dataclass
class FeedbackResult:
    """Everything the classifier says about one answer.

    Attributes:
        text: the answer as given.
        lang: ``nl``, ``nb``, ``nn``, ``en``, ``other`` or ``und``.
        lang_confidence: 0..1.
        sentiment: overall ``negative``, ``neutral`` or ``positive``.
        sentiment_score: -1..1.
        themes: themes found, most confident first.
        urgency_signal: the model's own reading of urgency (:class:`nps_nlp.urgency_model.UrgencyModel`):
            ``critical`` = P(critical), ``high`` = P(high or critical) and the ``level`` it calls; ``None`` for a
            model without one and for empty answers.
    """

    text: str
    lang: str
    lang_confidence: float
    sentiment: str
    sentiment_score: float
    themes: list[ThemeResult] = field(default_factory=list)
    urgency_signal: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)

    def theme(self, theme_id: str) -> ThemeResult | None:
        """The result for ``theme_id``, or ``None`` if it was not found."""
        return next((t for t in self.themes if t.theme == theme_id), None)
