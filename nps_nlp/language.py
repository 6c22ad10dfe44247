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

# lingua's names of the languages we analyse, with our codes.
_OURS = {"DUTCH": "nl", "BOKMAL": "nb", "NYNORSK": "nn", "ENGLISH": "en"}
#: Languages we do not analyse that short answers confuse with ours: the fine pass scores them beside ours.
CLOSE_LANGUAGES = ("GERMAN", "SWEDISH", "DANISH")
#: Languages we do not analyse and that are far from ours: only the coarse pass scores them.
FAR_LANGUAGES = ("FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "POLISH", "TURKISH", "ARABIC")

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

    Detection runs in two stages so that only the languages that need them hold lingua's large models:

    * a coarse pass, lingua's low-accuracy mode (trigrams only, a small fraction of the memory) over every
      language we tell apart, measures how much of the text's probability falls on the far languages
      (French, Spanish, Polish, ...: :data:`FAR_LANGUAGES`), whose spelling is far from ours;
    * a fine pass, lingua's high-accuracy mode over only our four languages and the close ones (German,
      Swedish, Danish: :data:`CLOSE_LANGUAGES`), which short answers confuse with ours, decides among them.

    The coarse pass decides alone when the far languages take nearly all the probability, and also when they
    take most of it, the fine pass is not sure of any language and the caller gave no hint of ours; otherwise
    the fine pass decides. Trigrams alone mistake some short answers of ours for a far language ("quality is
    top" reads as Polish), hence the second condition; the fine pass alone has no far language to choose, so
    it would call French English.

    Args:
        min_letters: fewer letters than this gives ``und``.
        min_confidence: a winner below this (prior-weighted, renormalised) confidence gives ``und``.
        hint_margin: a caller's hint wins when its confidence is at least this fraction of the winner's.
        priors: weight per code (``nl``, ``nb``, ``nn``, ``en``, ``other``) applied before renormalising.
    """

    DEFAULT_PRIORS = {"nl": 1.0, "nb": 1.0, "nn": 0.6, "en": 1.0, "other": 0.25}
    #: Far-language share of the coarse pass at which it decides alone.
    FAR_SURE = 0.9
    #: Far-language share at which it decides when the fine pass's winner is below :attr:`FINE_SURE`.
    FAR_LIKELY = 0.7
    #: The fine pass's winning score below which it counts as unsure.
    FINE_SURE = 0.7

    def __init__(self, min_letters: int = 3, min_confidence: float = 0.2, hint_margin: float = 0.5,
                 priors: dict[str, float] | None = None) -> None:
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.hint_margin = hint_margin
        self.priors = priors
        self._coarse: Any = None
        self._fine: Any = None
        self._far: frozenset[Any] = frozenset()
        self._codes: dict[Any, str] = {}

    def _load(self) -> None:
        from lingua import Language, LanguageDetectorBuilder

        ours = {getattr(Language, name): code for name, code in _OURS.items()}
        close = [getattr(Language, name) for name in CLOSE_LANGUAGES]
        far = [getattr(Language, name) for name in FAR_LANGUAGES]
        self._codes = {**ours, **{lang: "other" for lang in (*close, *far)}}
        self._far = frozenset(far)
        # lingua keeps one copy of each language's models for all detectors: the fine pass's trigram models
        # are the coarse pass's, so the coarse pass adds only the far languages' trigrams.
        self._coarse = LanguageDetectorBuilder.from_languages(*ours, *close, *far).with_low_accuracy_mode().build()
        self._fine = LanguageDetectorBuilder.from_languages(*ours, *close).build()

    def _weigh(self, values: Any) -> dict[str, float]:
        """Prior-weighted confidence per code, renormalised; empty when lingua gives every language 0."""
        priors = self.priors or self.DEFAULT_PRIORS
        scores: dict[str, float] = {}
        for value in values:
            code = self._codes[value.language]
            weighted = float(value.value) * priors.get(code, 1.0)
            # "other" is the best single other language, not their sum: ten small guesses are no evidence.
            scores[code] = max(scores.get(code, 0.0), weighted)
        total = sum(scores.values())
        return {code: score / total for code, score in scores.items()} if total > 0 else {}

    def _scores(self, text: str, hint: str | None) -> dict[str, float]:
        """The weighted scores of the pass that decides (see the class docstring)."""
        if self._fine is None:
            self._load()
        coarse = self._coarse.compute_language_confidence_values(text)
        far = sum(float(value.value) for value in coarse if value.language in self._far)
        if far >= self.FAR_SURE:
            return self._weigh(coarse)
        fine = self._weigh(self._fine.compute_language_confidence_values(text))
        unsure = max(fine.values(), default=0.0) < self.FINE_SURE
        if far >= self.FAR_LIKELY and unsure and hint not in SUPPORTED:
            return self._weigh(coarse)
        return fine

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
        scores = self._scores(text, hint)
        if not scores:
            return LanguageResult("und", 0.0)
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
