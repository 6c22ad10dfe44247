"""Language identification for nl, nb, nn and en answers (lingua, offline).

Answers get one of :data:`LANGUAGES`: ``nl``, ``nb``, ``nn``, ``en``, ``other`` (a language the product
does not analyse, e.g. German), or ``und`` (too short or no letters: "ok", "10", "👍").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["LANGUAGES", "LanguageDetector", "LanguageResult", "detect_language"]

#: Every code :func:`detect_language` can return.
LANGUAGES = ("nl", "nb", "nn", "en", "other", "und")
SUPPORTED = ("nl", "nb", "nn", "en")

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)

# Function words that only one written Norwegian standard uses; they settle nb/nn close calls that a
# character model gets wrong on short answers ("men fakturaen var feil" is Bokmål).
_NYNORSK_MARKERS = frozenset(
    "ikkje eg kva korleis kvifor berre nøgd nøgde frå mykje noko nokon heile vore fekk kome kjem hjå dykk "
    "ho han eit ein mi vart vore også sjølv dei deira enno tenesta kundeteneste rekninga straumen".split()
) - {"han", "mi", "ein", "eit", "også", "ho"}
_BOKMAL_MARKERS = frozenset(
    "ikke jeg hva hvordan hvorfor bare fornøyd fornøyde fra mye noe noen hele våre fikk komme kommer hos dere "
    "ble selv de deres ennå tjenesten kundeservice regningen strømmen".split()
)


@dataclass(frozen=True)
class LanguageResult:
    """A detected language.

    Attributes:
        lang: one of :data:`LANGUAGES`.
        confidence: 0..1; 0 for ``und``.
    """

    lang: str
    confidence: float


class LanguageDetector:
    """Detects nl/nb/nn/en, tells other languages apart, and refuses to guess on very short text.

    Short answers are ambiguous between close languages ("Bra" is Swedish and Norwegian, "Prima" Dutch
    and German), so the detector weighs lingua's confidences with a prior: in an NPS programme for Dutch
    and Norwegian customers, other languages are rare and Nynorsk is rarer than Bokmål.

    Args:
        min_letters: fewer letters than this gives ``und``.
        min_confidence: a winner below this (prior-weighted, renormalised) confidence gives ``und``.
        hint_margin: a caller's hint wins when its confidence is at least this fraction of the winner's.
        priors: weight per code (``nl``, ``nb``, ``nn``, ``en``, ``other``) applied before renormalising.
    """

    DEFAULT_PRIORS = {"nl": 1.0, "nb": 1.0, "nn": 0.6, "en": 1.0, "other": 0.25}

    def __init__(self, min_letters: int = 3, min_confidence: float = 0.2, hint_margin: float = 0.5,
                 priors: dict[str, float] | None = None) -> None:
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.hint_margin = hint_margin
        self.priors = priors
        self._detector: Any = None
        self._codes: dict[Any, str] = {}

    def _load(self) -> None:
        from lingua import Language, LanguageDetectorBuilder

        ours = {Language.DUTCH: "nl", Language.BOKMAL: "nb", Language.NYNORSK: "nn", Language.ENGLISH: "en"}
        # Languages we do not analyse but must not mistake for ours.
        others = [Language.GERMAN, Language.FRENCH, Language.SPANISH, Language.ITALIAN, Language.PORTUGUESE,
                  Language.SWEDISH, Language.DANISH, Language.POLISH, Language.TURKISH, Language.ARABIC]
        self._codes = {**ours, **{lang: "other" for lang in others}}
        self._detector = LanguageDetectorBuilder.from_languages(*ours, *others).build()

    def detect(self, text: str, hint: str | None = None) -> LanguageResult:
        """Detect the main language of one answer.

        Args:
            text: the answer.
            hint: a language the caller expects (e.g. the survey's language); it wins close calls.

        Returns:
            The language and its confidence.
        """
        if len(_LETTERS.findall(text or "")) < self.min_letters:
            return LanguageResult("und", 0.0)
        if self._detector is None:
            self._load()
        values = self._detector.compute_language_confidence_values(text)
        priors = self.priors or self.DEFAULT_PRIORS
        scores: dict[str, float] = {}
        for value in values:
            code = self._codes[value.language]
            weighted = float(value.value) * priors.get(code, 1.0)
            # "other" is the best single other language, not their sum: ten small guesses are no evidence.
            scores[code] = max(scores.get(code, 0.0), weighted)
        total = sum(scores.values())
        if total <= 0:
            return LanguageResult("und", 0.0)
        scores = {code: score / total for code, score in scores.items()}
        best = max(scores, key=scores.__getitem__)
        if hint in SUPPORTED and hint != best and scores.get(hint, 0.0) >= self.hint_margin * scores[best]:
            best = hint
        if best in ("nb", "nn"):
            best = self._norwegian_standard(text, best)
        if scores[best] < self.min_confidence:
            return LanguageResult("und", 0.0)
        return LanguageResult(best, round(scores[best], 4))

    @staticmethod
    def _norwegian_standard(text: str, guess: str) -> str:
        words = {w.lower() for w in _WORDS.findall(text)}
        nn_hits, nb_hits = len(words & _NYNORSK_MARKERS), len(words & _BOKMAL_MARKERS)
        if nn_hits > nb_hits:
            return "nn"
        if nb_hits > nn_hits:
            return "nb"
        return guess

    def detect_many(self, texts: list[str], hints: list[str | None] | None = None) -> list[LanguageResult]:
        """Detect the language of each text (``hints`` aligned with ``texts``)."""
        hints = hints or [None] * len(texts)
        return [self.detect(t, h) for t, h in zip(texts, hints, strict=True)]


@lru_cache(maxsize=1)
def _default_detector() -> LanguageDetector:
    return LanguageDetector()


def detect_language(text: str, hint: str | None = None) -> LanguageResult:
    """Detect the language of one answer with the shared default :class:`LanguageDetector`."""
    return _default_detector().detect(text, hint)
