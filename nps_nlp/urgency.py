"""Urgent detractors: an urgency level with reasons for every answer.

Two kinds of signal, in en / nl / nb / nn:

* **cues that matter at any score** (safety, legal threats, outages, cancellation or churn threats,
  repeated contact), read from a YAML file of patterns (``nps_nlp/data/urgency_cues.yaml`` by default);
* **a low score with strongly negative text** (the classifier's overall sentiment score).

Example:
    >>> detector = UrgencyDetector()
    >>> detector.assess("The site is down again and I am cancelling", score=1).level
    'critical'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from nps_nlp._results import Evidence
from nps_nlp.errors import ConfigError

LEVELS: tuple[str, ...] = ("none", "low", "medium", "high", "critical")
"""Urgency levels, least urgent first."""


def level_rank(level: str) -> int:
    """Position of ``level`` in :data:`LEVELS` (raises ``ConfigError`` for an unknown level)."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ConfigError(f"unknown urgency level {level!r}; expected one of {', '.join(LEVELS)}") from None


@dataclass
class UrgencyReason:
    """Why an answer is urgent.

    Attributes:
        code: ``safety``, ``legal``, ``outage``, ``churn``, ``repeated_contact`` (or a custom cue id) or
            ``low_score_negative``.
        level: the level this reason alone gives.
        label: a readable label in the answer's language (English when unknown).
        evidence: the matched words with character offsets (``None`` for score-based reasons).
    """

    code: str
    level: str
    label: str
    evidence: Evidence | None = None


@dataclass
class UrgencyResult:
    """The urgency of one answer.

    Attributes:
        level: one of :data:`LEVELS`.
        urgent: ``level`` is at or above the detector's alert level (this answer should raise an alert).
        reasons: most severe first.
    """

    level: str = "none"
    urgent: bool = False
    reasons: list[UrgencyReason] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# a cue right after one of these words ("never had an outage", "geen storing", "aldri nede") does not count
_NEGATORS = frozenset("""never no not without hardly barely nooit geen niet zonder nauwelijks aldri ingen ikke
ikkje uten utan sjelden""".split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _negated(text: str, start: int, window: int = 3) -> bool:
    before = re.split(r"[.!?;,:]", text[:start])[-1]
    return any(w.lower() in _NEGATORS for w in _WORD.findall(before)[-window:])


_SCORE_LABEL = {"en": "low score with strongly negative text", "nl": "lage score met zeer negatieve tekst",
                "nb": "lav score med svært negativ tekst", "nn": "låg score med svært negativ tekst"}


@dataclass(frozen=True)
class _Cue:
    code: str
    level: str
    labels: dict[str, str]
    pattern: re.Pattern[str]


@cache
def _load_cues(path: str | None) -> tuple[_Cue, ...]:
    if path is None:
        text = resources.files("nps_nlp").joinpath("data/urgency_cues.yaml").read_text(encoding="utf-8")
        source = "the default urgency cues"
    else:
        if not Path(path).is_file():
            raise ConfigError(f"urgency cue file {path} does not exist")
        text, source = Path(path).read_text(encoding="utf-8"), path
    data = yaml.safe_load(text) or {}
    if not isinstance(data.get("cues"), dict) or not data["cues"]:
        raise ConfigError(f"{source}: expected a top-level 'cues:' mapping of cue id -> level/label/patterns")
    cues = []
    for code, raw in data["cues"].items():
        where = f"{source}: cue {code!r}"
        if not isinstance(raw, dict) or "patterns" not in raw:
            raise ConfigError(f"{where}: needs 'level', 'label' and 'patterns' (a mapping language -> list)")
        level = str(raw.get("level", "high"))
        if level_rank(level) == 0:
            raise ConfigError(f"{where}: level 'none' makes no sense for a cue")
        labels = raw.get("label") or {}
        if isinstance(labels, str):
            labels = {"en": labels}
        alternatives = [p for pats in raw["patterns"].values() for p in (pats or [])]
        if not alternatives:
            raise ConfigError(f"{where}: no patterns")
        try:
            pattern = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in alternatives) + r")(?!\w)", re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{where}: bad regular expression: {exc}") from None
        cues.append(_Cue(str(code), level, {str(k): str(v) for k, v in labels.items()}, pattern))
    return tuple(cues)


class UrgencyDetector:
    """Give every answer an urgency level with reasons.

    Args:
        cues: a YAML file of cues (see ``nps_nlp/data/urgency_cues.yaml``); ``None`` for the default.
        alert_level: answers at or above this level are ``urgent`` (raise an alert).
        strong_negative: overall sentiment score (-1..1) at or below which text counts as strongly negative.
        promoter_discount: lower cue levels by one step for promoters (9-10), except safety and legal,
            because a promoter who mentions an outage is rarely about to leave.
    """

    def __init__(self, cues: str | Path | None = None, alert_level: str = "high", strong_negative: float = -0.5,
                 promoter_discount: bool = True) -> None:
        level_rank(alert_level)
        self.cues = cues
        self.alert_level = alert_level
        self.strong_negative = strong_negative
        self.promoter_discount = promoter_discount
        self._cues = _load_cues(str(cues) if cues is not None else None)

    def assess(self, text: str, score: float | None = None, sentiment_score: float | None = None,
               lang: str | None = None) -> UrgencyResult:
        """The urgency of one answer.

        Args:
            text: the answer.
            score: its 0-10 score, if known.
            sentiment_score: the classifier's overall sentiment score (-1..1), if known.
            lang: the answer's language, used for the reasons' labels.
        """
        reasons: list[UrgencyReason] = []
        promoter = score is not None and score >= 9
        for cue in self._cues:
            match = next((m for m in cue.pattern.finditer(text or "") if not _negated(text, m.start())), None)
            if match is None:
                continue
            level = cue.level
            if promoter and self.promoter_discount and cue.code not in ("safety", "legal"):
                level = LEVELS[max(1, level_rank(level) - 1)]
            label = cue.labels.get(lang or "en") or cue.labels.get("en") or cue.code
            reasons.append(UrgencyReason(cue.code, level, label,
                                         Evidence(match.group(0), match.start(), match.end())))
        if score is not None and sentiment_score is not None and sentiment_score <= self.strong_negative:
            level = "high" if score <= 3 else "medium" if score <= 6 else "none"
            if level != "none":
                reasons.append(UrgencyReason("low_score_negative", level,
                                             _SCORE_LABEL.get(lang or "en", _SCORE_LABEL["en"])))
        if not reasons:
            return UrgencyResult()
        reasons.sort(key=lambda r: -level_rank(r.level))
        rank = level_rank(reasons[0].level)
        # a detractor with two or more independent cues (outage and churn, ...) is one step more urgent
        cue_codes = {r.code for r in reasons if r.evidence is not None}
        if score is not None and score <= 6 and len(cue_codes) >= 2:
            rank = min(rank + 1, len(LEVELS) - 1)
        level = LEVELS[rank]
        return UrgencyResult(level, rank >= level_rank(self.alert_level), reasons)

    def __repr__(self) -> str:
        return f"UrgencyDetector(cues={self.cues!r}, alert_level={self.alert_level!r})"
