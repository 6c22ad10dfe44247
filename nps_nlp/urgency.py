"""Urgent detractors: an urgency level with reasons for every answer.

Two kinds of signal, in en / nl / nb / nn:

* **cues that matter at any score** (safety, food safety, data breaches, fraud, threats, legal threats, outages,
  cancellation or churn threats, anger or a demand to escalate, vulnerable customers, repeated contact), read
  from a YAML file of patterns (``nps_nlp/data/urgency_cues.yaml`` by default);
* **a low score with strongly negative text** (the classifier's overall sentiment score);
* **the classifier's learned reading** of the whole answer (:mod:`nps_nlp.urgency_model`), which adds alerts that no
  cue phrase names and vetoes cue alerts in answers it reads as calm;
* with a trained model, a **learned fusion** of all of these (:mod:`nps_nlp.urgency_fusion`), which decides the alert
  from what the cues saw (including cues that were negated or sit in a negated sentence), the model's probabilities
  and the score.

Example:
    >>> detector = UrgencyDetector()
    >>> detector.assess("Found glass in a jar of pasta sauce", score=3).level
    'critical'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nps_nlp._results import Evidence
from nps_nlp.errors import ConfigError

if TYPE_CHECKING:
    from nps_nlp.urgency_fusion import UrgencyFusion

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
        code: a cue id (``safety``, ``food_safety``, ``data_breach``, ``fraud``, ``threat``, ``legal``, ``outage``,
            ``churn``, ``escalation``, ``vulnerable``, ``stranded``, ``repeated_contact`` or a custom cue's), ``model``
            (the classifier's learned reading) or ``low_score_negative``.
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
_NEGATORS = frozenset("""never no not nothing nobody zero without hardly barely nooit geen niet nie niks niets niemand
zonder nauwelijks aldri ingen inga ikke ikkje ingenting null uten utan sjelden""".split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _negated(text: str, start: int, window: int = 3) -> bool:
    before = [w.lower() for w in _WORD.findall(re.split(r"[.!?;,:]", text[:start])[-1])[-window:]]
    # "no" negates only right before the cue ("no outage"); in Nynorsk it means "now" ("no er nettet nede")
    return any(w in _NEGATORS for w in before[:-1] if w != "no") or bool(before and before[-1] in _NEGATORS)


_SENTENCE_END = re.compile(r"[.!?;\n]")
_NO_ONE = re.compile(r"\bno[ -]one\b", re.IGNORECASE)


def _sentence_negated(text: str, start: int, end: int) -> bool:
    """A negator anywhere else in the cue's sentence ("niemand is gewond geraakt", "injured? nobody"): too far
    from the cue to cancel it outright, but a sign that the harm may not have happened."""
    sentence = _SENTENCE_END.split(text[:start])[-1] + " " + _SENTENCE_END.split(text[end:])[0]
    return bool(_NO_ONE.search(sentence)) or any(w.lower() in _NEGATORS and w.lower() != "no"
                                                 for w in _WORD.findall(sentence))


_MODEL_LABEL = {"en": "read as urgent by the model", "nl": "door het model als urgent gelezen",
                "nb": "lest som hastesak av modellen", "nn": "lese som hastesak av modellen"}
_SCORE_LABEL = {"en": "low score with strongly negative text", "nl": "lage score met zeer negatieve tekst",
                "nb": "lav score med svært negativ tekst", "nn": "låg score med svært negativ tekst"}


@dataclass(frozen=True)
class _Cue:
    code: str
    level: str
    labels: dict[str, str]
    pattern: re.Pattern[str]
    combine: dict[str, str] = field(default_factory=dict)
    keep_for_promoters: bool = False


@dataclass(frozen=True)
class _Cues:
    """A cue file: the cues, the figures of speech that are no cue, and the markers of a solved problem."""

    cues: tuple[_Cue, ...]
    not_literal: re.Pattern[str] | None
    resolved: re.Pattern[str] | None


def _compile(alternatives: list[str], where: str) -> re.Pattern[str]:
    try:
        return re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in alternatives) + r")(?!\w)", re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression: {exc}") from None


def _phrases(raw: Any, where: str) -> re.Pattern[str] | None:
    """One pattern from a mapping language -> list of expressions (``None`` when the section is absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping language -> list of patterns")
    alternatives = [p for pats in raw.values() for p in (pats or [])]
    for p in alternatives:
        if not isinstance(p, str):
            raise ConfigError(f"{where}: pattern {p!r} is not a string; quote a pattern that contains ': ' or starts "
                              "with one of [ { ' \"")
    return _compile(alternatives, where) if alternatives else None


def _cue(code: str, raw: Any, source: str) -> _Cue:
    where = f"{source}: cue {code!r}"
    if not isinstance(raw, dict) or "patterns" not in raw:
        raise ConfigError(f"{where}: needs 'level', 'label' and 'patterns' (a mapping language -> list)")
    level = str(raw.get("level", "high"))
    if level_rank(level) == 0:
        raise ConfigError(f"{where}: level 'none' makes no sense for a cue")
    labels = raw.get("label") or {}
    if isinstance(labels, str):
        labels = {"en": labels}
    pattern = _phrases(raw["patterns"], where)
    if pattern is None:
        raise ConfigError(f"{where}: no patterns")
    combine = raw.get("combine") or {}
    if not isinstance(combine, dict):
        raise ConfigError(f"{where}: 'combine' must map another cue's id to a level")
    for other_level in combine.values():
        level_rank(str(other_level))
    return _Cue(str(code), level, {str(k): str(v) for k, v in labels.items()}, pattern,
                {str(k): str(v) for k, v in combine.items()}, bool(raw.get("keep_for_promoters", False)))


@cache
def _load_cues(path: str | None) -> _Cues:
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
    cues = tuple(_cue(str(code), raw, source) for code, raw in data["cues"].items())
    unknown = sorted({other for c in cues for other in c.combine} - {c.code for c in cues})
    if unknown:
        raise ConfigError(f"{source}: 'combine' names cues that do not exist: {', '.join(unknown)}")
    return _Cues(cues, _phrases(data.get("not_literal"), f"{source}: not_literal"),
                 _phrases(data.get("resolved"), f"{source}: resolved"))


def _step(level: str, steps: int) -> str:
    """``level`` moved ``steps`` levels (negative: down), never below ``low`` nor above ``critical``."""
    return LEVELS[min(len(LEVELS) - 1, max(1, level_rank(level) + steps))]


class UrgencyDetector:
    """Give every answer an urgency level with reasons.

    Args:
        cues: a YAML file of cues (see ``nps_nlp/data/urgency_cues.yaml``); ``None`` for the default.
        alert_level: answers at or above this level are ``urgent`` (raise an alert).
        strong_negative: overall sentiment score (-1..1) at or below which text counts as strongly negative.
        low_score_level: the level of a detractor scoring 0-3 with strongly negative text and no cue (4-6: one
            level lower). An ordinary angry detractor is a case for the team's feed, not an alert; cues decide
            alerts.
        promoter_discount: lower cue levels by one step for promoters (9-10), except cues marked
            ``keep_for_promoters`` (safety, food, data, fraud, threats, legal), because a promoter who mentions an
            outage is rarely about to leave.
        model_veto: when the classifier's learned reading (``signal``) gives the answer a probability of needing
            an alert below this, cues that would raise an alert drop to the level below ``alert_level``: they stay
            in the team's feed with their evidence, but nobody is paged for "the sofa was damaged in transport".
            Cue phrases cannot see the rest of the answer; the reading of the whole answer can. 0: no veto.
        detractor_floor: with a fusion (see :meth:`assess`), a detractor (0-6) whose answer the cue rules call
            ``critical``, with no cue in a sentence that holds a negator, stays ``critical`` whatever the fusion
            says: a literal report of harm from an unhappy customer ("the technician threatened to hit me") always
            reaches a person, even when the learned reading has seen too few answers like it.
    """

    def __init__(self, cues: str | Path | None = None, alert_level: str = "high", strong_negative: float = -0.5,
                 low_score_level: str = "medium", promoter_discount: bool = True, model_veto: float = 0.3,
                 detractor_floor: bool = True) -> None:
        level_rank(alert_level)
        level_rank(low_score_level)
        if not 0.0 <= model_veto < 1.0:
            raise ConfigError(f"model_veto {model_veto} must be at least 0 and below 1")
        self.model_veto = model_veto
        self.detractor_floor = detractor_floor
        self.cues = cues
        self.alert_level = alert_level
        self.strong_negative = strong_negative
        self.low_score_level = low_score_level
        self.promoter_discount = promoter_discount
        self._cues = _load_cues(str(cues) if cues is not None else None)

    def assess(self, text: str, score: float | None = None, sentiment_score: float | None = None,
               lang: str | None = None, signal: dict[str, Any] | None = None,
               fusion: UrgencyFusion | None = None) -> UrgencyResult:
        """The urgency of one answer.

        A cue counts unless it is negated ("never had an outage") or inside a `not_literal` phrase of the cue file
        (a figure of speech such as "dangerously good"); cues that the file combines (a vulnerable customer and an
        outage) give the combined level; when the answer says the problem was solved or is long past, every cue
        drops two levels.

        Args:
            text: the answer.
            score: its 0-10 score, if known.
            sentiment_score: the classifier's overall sentiment score (-1..1), if known.
            lang: the answer's language, used for the reasons' labels.
            signal: the classifier's learned reading (``FeedbackResult.urgency_signal``): its ``level``, when not
                ``none``, is one more reason (code ``model``); its alert probability (``high``) can veto cue alerts
                (``model_veto``).
            fusion: a fitted :class:`~nps_nlp.urgency_fusion.UrgencyFusion` (a trained model's, see
                :class:`~nps_nlp.FeedbackPipeline`): with it and a ``signal``, the fusion of cues, signal and score
                decides whether and how urgently the answer alerts (``model_veto`` and the signal's own level are
                then not used); cue reasons keep their evidence, capped at the fused level (at ``medium`` when the
                fusion says no alert), and a ``model`` reason carries a fused level that no cue gives (see also
                ``detractor_floor``).
        """
        text = text or ""
        scan = self._matches(text)
        reasons = self._cue_reasons(text, score, lang, scan)
        model_label = _MODEL_LABEL.get(lang or "en", _MODEL_LABEL["en"])
        if fusion is not None and signal and "critical" in signal and "high" in signal:
            features = self._features(text, scan, reasons)
            fused = fusion.decide(features, float(signal["critical"]), float(signal["high"]), score)[0]
            if self.detractor_floor and score is not None and score <= 6 and features.get("level>=4") and \
                    not any(v for k, v in features.items() if k.startswith("negated_sentence:")):
                fused = "critical"
            # the fusion decides whether the answer alerts: cues keep their evidence, at most at its level
            cap = level_rank(fused) if fused != "none" else level_rank("medium")
            for reason in reasons:
                reason.level = LEVELS[min(level_rank(reason.level), cap)]
            if fused != "none" and not any(r.level == fused for r in reasons):
                reasons.append(UrgencyReason("model", fused, model_label))
        else:
            if signal and self.model_veto and float(signal.get("high", 1.0)) < self.model_veto:
                for reason in reasons:
                    if level_rank(reason.level) >= level_rank(self.alert_level):
                        reason.level = LEVELS[level_rank(self.alert_level) - 1]
            if signal and signal.get("level") in ("high", "critical"):
                reasons.append(UrgencyReason("model", str(signal["level"]), model_label))
        if score is not None and sentiment_score is not None and sentiment_score <= self.strong_negative and score <= 6:
            level = self.low_score_level if score <= 3 else _step(self.low_score_level, -1)
            reasons.append(UrgencyReason("low_score_negative", level, _SCORE_LABEL.get(lang or "en", _SCORE_LABEL["en"])))
        if not reasons:
            return UrgencyResult()
        reasons.sort(key=lambda r: -level_rank(r.level))
        level = reasons[0].level
        return UrgencyResult(level, level_rank(level) >= level_rank(self.alert_level), reasons)

    def _matches(self, text: str) -> tuple[dict[str, list[re.Match[str]]], dict[str, bool], bool]:
        """Per cue id: its literal matches (not negated, not in a figure of speech), whether it matched only
        otherwise, and whether the answer says the problem was solved."""
        figures = [m.span() for m in self._cues.not_literal.finditer(text)] if self._cues.not_literal else []

        def literal(m: re.Match[str]) -> bool:
            return not _negated(text, m.start()) and not any(a <= m.start() and m.end() <= b for a, b in figures)

        resolved = self._cues.resolved is not None and any(literal(m) for m in self._cues.resolved.finditer(text))
        found: dict[str, list[re.Match[str]]] = {}
        discarded: dict[str, bool] = {}
        for cue in self._cues.cues:
            matches = list(cue.pattern.finditer(text))
            found[cue.code] = [m for m in matches if literal(m)]
            discarded[cue.code] = bool(matches) and not found[cue.code]
        return found, discarded, resolved

    def cue_features(self, text: str, score: float | None = None) -> dict[str, float]:
        """What the cues see in one answer, as named 0/1 features for :class:`nps_nlp.urgency_fusion.UrgencyFusion`:
        per cue id, a literal match (``cue:ID``), a match that was negated or figurative (``discarded:ID``) and a
        literal match whose sentence holds a negator elsewhere (``negated_sentence:ID``); ``resolved``; and
        ``level>=K``: the level of the cue reasons that :meth:`assess` would give, as thresholds."""
        text = text or ""
        scan = self._matches(text)
        return self._features(text, scan, self._cue_reasons(text, score, None, scan))

    @staticmethod
    def _features(text: str, scan: tuple[dict[str, list[re.Match[str]]], dict[str, bool], bool],
                  reasons: list[UrgencyReason]) -> dict[str, float]:
        """:meth:`cue_features` from an answer's :meth:`_matches` and the cue reasons they gave (before any cap)."""
        found, discarded, resolved = scan
        out: dict[str, float] = {"resolved": float(resolved)}
        for code, matches in found.items():
            out[f"cue:{code}"] = float(bool(matches))
            out[f"discarded:{code}"] = float(discarded[code])
            out[f"negated_sentence:{code}"] = float(bool(matches) and all(
                _sentence_negated(text, m.start(), m.end()) for m in matches))
        top = max((level_rank(r.level) for r in reasons), default=0)
        out.update({f"level>={k}": float(top >= k) for k in range(1, len(LEVELS))})
        return out

    def _cue_reasons(self, text: str, score: float | None, lang: str | None,
                     scan: tuple[dict[str, list[re.Match[str]]], dict[str, bool], bool]) -> list[UrgencyReason]:
        matches, _, resolved = scan
        promoter = score is not None and score >= 9
        found = {cue.code: (cue, matches[cue.code][0]) for cue in self._cues.cues if matches[cue.code]}
        reasons = []
        for cue, match in found.values():
            level = max([cue.level] + [lvl for other, lvl in cue.combine.items() if other in found], key=level_rank)
            if promoter and self.promoter_discount and not cue.keep_for_promoters:
                level = _step(level, -1)
            if resolved:
                level = _step(level, -2)
            label = cue.labels.get(lang or "en") or cue.labels.get("en") or cue.code
            reasons.append(UrgencyReason(cue.code, level, label, Evidence(match.group(0), match.start(), match.end())))
        return reasons

    def __repr__(self) -> str:
        return f"UrgencyDetector(cues={self.cues!r}, alert_level={self.alert_level!r})"
