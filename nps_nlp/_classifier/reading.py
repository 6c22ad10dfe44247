"""The text-only reading of each answer: language, overall sentiment, themes with polarity and evidence, zero-shot
themes and the urgency signal, before the NPS score is fused in (:func:`nps_nlp.score_fusion.final_readings`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nps_nlp._classifier.evidence import clause_scores
from nps_nlp._classifier.zero_shot import add_zero_shot
from nps_nlp._network import POLARITIES
from nps_nlp._results import Evidence, FeedbackResult, ThemeResult
from nps_nlp.language import SUPPORTED
from nps_nlp.text import split_clauses

CLAUSE_WEIGHT = 0.75
"""Weight of a theme's evidence clause in its polarity, against the whole answer's (1 - this): the clause that
names the theme says most about it ("great staff, but the invoice was wrong"); the whole answer keeps its context.
Chosen on the dev split."""

__all__ = ["Reading", "given_themes", "readings"]

#: One answer's reading: its result (themes in the order of the polarity probabilities, not yet sorted), its
#: overall sentiment probabilities and each theme's polarity probabilities.
Reading = tuple[FeedbackResult, np.ndarray, list[np.ndarray]]


def given_themes(themes: Any, labels: list[str], n: int, single: bool) -> list[list[int]]:
    """Column indices of the themes given to ``predict`` (one list per answer, or one list for one answer).

    Raises:
        ValueError: not one list per answer, or a theme the model has no head for.
    """
    per_answer = [themes] if single else list(themes)
    if len(per_answer) != n or any(isinstance(t, str) for t in per_answer):
        raise ValueError(f"themes: expected one list of theme ids per answer ({n}), got {themes!r:.80}")
    index = {label: j for j, label in enumerate(labels)}
    unknown = sorted({t for ts in per_answer for t in ts} - set(index))
    if unknown:
        raise ValueError(f"themes: the model has no head for {', '.join(unknown)}; it knows {', '.join(labels)}")
    return [sorted({index[t] for t in ts}) for ts in per_answer]


def readings(model: Any, texts: list[str], lang: Any, given: list[list[int]] | None,
             scores: list[float | None] | None = None) -> list[Reading]:
    """The text-only reading of each answer.

    Args:
        model: a fitted :class:`nps_nlp.FeedbackClassifier`.
        texts: the answers.
        lang: a language hint, or one per answer.
        given: per answer the theme columns to report (see :func:`given_themes`), or ``None``: the detected ones
            (probability at or above the theme's threshold) and the zero-shot matches.
        scores: the answers' 0-10 scores (``None`` where missing), read by a score-aware urgency model.
    """
    from nps_nlp._settings import get_settings

    hints: list[str | None] = list(lang) if isinstance(lang, (list, tuple)) else [lang] * len(texts)
    langs = model.detect_languages(texts, hints)
    out = model.head_outputs(texts, langs=[r.lang for r in langs]) if texts else None
    thresholds = np.array([model.thresholds_.get(label, 0.5) for label in model.labels_])
    clauses, detected = [], []
    for i, text in enumerate(texts):
        code = langs[i].lang if langs[i].lang in SUPPORTED else None
        clauses.append(split_clauses(text, code) if text.strip() else [])
        if given is not None:
            detected.append(given[i] if text.strip() else [])
        else:
            detected.append(np.flatnonzero(out.detect[i] >= thresholds).tolist() if text.strip() else [])
    # clause-level scores where they can change the evidence: answers with a theme and several clauses
    multi = [i for i in range(len(texts)) if detected[i] and len(clauses[i]) > 1]
    encode = (lambda parts: model.token_states(parts, desc="evidence")[0]) \
        if get_settings().evidence == "clauses" else None
    per_clause = dict(zip(multi, clause_scores(
        [clauses[i] for i in multi], [langs[i].lang for i in multi], [out.states[i] for i in multi],
        [out.offsets[i] for i in multi], head=model.head_, n_labels=len(model.labels_), batch_size=model.batch_size,
        blend=model.blend_lexical, encode=encode), strict=True)) if multi else {}
    results = [_result(model, text, langs[i], out, i, clauses[i], detected[i], per_clause.get(i),
                       zero_shot=given is None) for i, text in enumerate(texts)]
    urgency = getattr(model, "urgency_model_", None)
    filled = [i for i, text in enumerate(texts) if text.strip()]
    if urgency is not None and filled:
        signals = urgency.signal(urgency.vectors([out.states[i] for i in filled]),
                                 None if scores is None else [scores[i] for i in filled])
        for i, signal in zip(filled, signals, strict=True):
            results[i][0].urgency_signal = signal
    return results


def _result(model: Any, text: str, lang: Any, out: Any, i: int, clauses: list, detected: list[int],
            clause_out: dict[str, Any] | None, zero_shot: bool = True) -> Reading:
    """The text-only reading of answer ``i`` of ``out`` (:class:`~nps_nlp._classifier.outputs.HeadOutputs`).

    A theme's evidence is the clause that scores highest for it (one clause: that clause), and its polarity the
    blend of the whole answer's and that clause's (:data:`CLAUSE_WEIGHT`), so "great staff | but the invoice was
    wrong" splits cleanly."""
    sent_p = out.sentiment[i] if text.strip() else np.array([0.0, 1.0, 0.0])
    result = FeedbackResult(text, lang.lang, lang.confidence, POLARITIES[int(sent_p.argmax())],
                            round(float(sent_p[2] - sent_p[0]), 4))
    theme_p: list[np.ndarray] = []
    if not text.strip():
        return result, sent_p, theme_p
    code = lang.lang if lang.lang in SUPPORTED else None
    offsets = out.offsets[i]
    for j in detected:
        pol = out.polarity[i, j]
        if clause_out is None:
            best = clauses[0] if clauses else None
        else:
            k = int(clause_out["detect"][:, j].argmax())
            best = clause_out["clauses"][k]
            pol = (1 - CLAUSE_WEIGHT) * pol + CLAUSE_WEIGHT * clause_out["polarity"][k, j]
        found = Evidence(best.text, best.start, best.end) if best else None
        result.themes.append(ThemeResult(model.labels_[j], round(float(out.detect[i, j]), 4),
                                         POLARITIES[int(pol.argmax())], round(float(pol[2] - pol[0]), 4), found))
        theme_p.append(np.asarray(pol, dtype=np.float64))
    if zero_shot and len(model.prototypes_):
        add_zero_shot(result, text, code, out.states[i], offsets, theme_p, labels=model.zero_shot_labels_,
                      prototypes=model.prototypes_, owner=model.prototype_owner_,
                      threshold=model.zero_shot_threshold_, head=model.head_, dim=model.dim)
    return result, sent_p, theme_p

