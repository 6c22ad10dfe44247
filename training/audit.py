"""Label audit: find labelled answers that are probably mislabelled, with a suggested correction.

>>> from nps_nlp.datasets import load_examples
>>> from training.audit import audit_labels
>>> report = audit_labels(load_examples("data/seed/train.jsonl"))          # doctest: +SKIP
>>> report.flags[0].gold, report.flags[0].suggested                      # doctest: +SKIP
('billing_payment:negative', 'delivery_waiting:negative')

Cheap and honest on a laptop: every answer is embedded once with the encoder (e5 ``query:`` vectors),
then K-fold cross-validation trains light per-theme logistic regressions (on the vectors, blended with a
character/word n-gram model) and predicts each answer from the folds it was *not* trained on. A label is
suspect when the out-of-fold probability disagrees with it as strongly as a typical example of the other
class agrees (confident learning, Northcutt et al. 2021): per theme, ``t1`` is the mean out-of-fold
probability of the answers labelled with the theme and ``t0`` the mean probability of the others;
a gold theme with ``p <= t0`` is flagged as unlikely, a missing theme with ``p >= t1`` as missing. Overall
sentiment is checked the same way with a three-class regression.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nps_nlp._network import POLARITIES
from nps_nlp.datasets import Example
from nps_nlp.errors import DataValidationError

__all__ = ["AuditReport", "LabelFlag", "audit_labels", "embed_texts", "format_themes"]


def embed_texts(texts: Sequence[str], *, encoder: str | None = None, cache_dir: str | None = None,
                batch_size: int | None = None, show_progress_bar: bool = False) -> np.ndarray:
    """Embed answers once with the encoder (``query:`` prompt for e5).

    Args:
        texts: the answers.
        encoder: encoder name or sentence-transformers directory (default: ``NPS_ENCODER`` or e5).
        cache_dir: cache root for the converted default encoder.
        batch_size: encoder batch size.
        show_progress_bar: progress bar on stderr.

    Returns:
        ``[n, dim]`` L2-normalised vectors.
    """
    from nps_nlp.encoders import load_encoder

    model = load_encoder(encoder, cache_dir=cache_dir, batch_size=batch_size)
    return model.encode(list(texts), prompt="query", show_progress_bar=show_progress_bar)


def format_themes(themes: dict[str, str | None] | None) -> str:
    """``{"a": "negative", "b": None}`` -> ``"a:negative;b"`` (the project's CSV theme format)."""
    if themes is None:
        return ""
    return ";".join(f"{k}:{v}" if v else k for k, v in themes.items())


@dataclass
class LabelFlag:
    """One labelled answer whose labels the cross-validated model disagrees with.

    Attributes:
        row: 0-based position in the data.
        id: the example's id.
        text: the answer.
        lang: its language (as given in the data).
        gold: the labels as given (``theme:polarity;...`` plus ``| sentiment=...`` when it was checked).
        suggested: the labels with the suggested corrections applied, same format.
        confidence: how sure the audit is that something is wrong, 0..1: the strongest issue's out-of-fold
            probability against the gold label (``1 - p`` for an unlikely gold theme, ``p`` for a missing one).
        issues: one line per disagreement, e.g. ``"missing theme 'billing_payment' (p=0.91)"``.
        kinds: the issue kinds: ``theme_unlikely``, ``theme_missing``, ``sentiment``.
    """

    row: int
    id: str
    text: str
    lang: str | None
    gold: str
    suggested: str
    confidence: float
    issues: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


@dataclass
class AuditReport:
    """Result of :func:`audit_labels`.

    Attributes:
        flags: suspect answers, most confident first.
        labels: themes that were audited (enough examples to cross-validate).
        skipped_labels: themes with fewer labelled answers than folds (not audited), with their counts.
        oof_proba: out-of-fold theme probabilities ``[n, len(labels)]``.
        oof_sentiment: out-of-fold sentiment probabilities ``[n, 3]`` (NaN where not computed).
        thresholds: per theme ``(t0, t1)``; ``"sentiment"`` maps to the three class thresholds.
        n_examples: answers read; n_audited: answers with theme labels.
    """

    flags: list[LabelFlag]
    labels: list[str]
    skipped_labels: dict[str, int]
    oof_proba: np.ndarray
    oof_sentiment: np.ndarray
    thresholds: dict[str, Any]
    n_examples: int
    n_audited: int


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(order[f::k]) for f in range(k)]


def _oof_themes(X: np.ndarray, Y: np.ndarray, folds: list[np.ndarray], C: float, seed: int, bar: Any) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    oof = np.zeros(Y.shape, dtype=float)
    for test in folds:
        train = np.setdiff1d(np.arange(len(X)), test)
        for j in range(Y.shape[1]):
            y = Y[train, j]
            if y.all() or not y.any():
                oof[test, j] = float(y.mean())
                continue
            model = LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=seed)
            oof[test, j] = model.fit(X[train], y).predict_proba(X[test])[:, 1]
        if bar is not None:
            bar.update(1)
    return oof


def _oof_sentiment(X: np.ndarray, y: np.ndarray, folds: list[np.ndarray], C: float, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    oof = np.full((len(X), 3), np.nan)
    for test in folds:
        train = np.setdiff1d(np.arange(len(X)), test)
        classes = np.unique(y[train])
        if len(classes) < 2:
            continue
        model = LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=seed).fit(X[train], y[train])
        oof[np.ix_(test, classes)] = model.predict_proba(X[test])
        oof[np.ix_(test, np.setdiff1d(np.arange(3), classes))] = 0.0
    return oof


def audit_labels(
    examples: Sequence[Example],
    *,
    embeddings: np.ndarray | None = None,
    encoder: str | None = None,
    folds: int = 5,
    check_sentiment: bool = True,
    min_confidence: float = 0.0,
    C: float = 10.0,
    random_state: int = 0,
    show_progress_bar: bool = False,
) -> AuditReport:
    """List labelled answers whose labels are probably wrong, most confident first.

    Args:
        examples: labelled answers (from :func:`nps_nlp.datasets.load_examples`); theme labels are audited
            for examples with ``themes`` (``{}`` counts as "no theme"), sentiment for those with ``sentiment``.
        embeddings: precomputed ``[n, dim]`` sentence vectors (skips the encoder).
        encoder: encoder name or path used when ``embeddings`` is None (default: e5).
        folds: cross-validation folds (2..20); each answer is judged by a model that never saw it.
        check_sentiment: also audit the overall sentiment labels.
        min_confidence: keep flags at least this confident.
        C: inverse regularisation of the logistic regressions.
        random_state: seed of the fold assignment and solvers.
        show_progress_bar: progress bars on stderr.

    Returns:
        An :class:`AuditReport`.

    Raises:
        DataValidationError: too few examples, no labels to audit, bad ``folds``, or embeddings of the wrong
            shape; checked before any encoding.
    """
    examples = list(examples)
    themed, with_sentiment = _audited(examples, folds, check_sentiment, embeddings)
    counts: dict[str, int] = {}
    for e in examples:
        for theme in e.themes or {}:
            counts[theme] = counts.get(theme, 0) + 1
    labels = [t for t, c in counts.items() if c >= folds]
    skipped = {t: c for t, c in counts.items() if c < folds}
    texts = [e.text for e in examples]
    if embeddings is None:
        embeddings = embed_texts(texts, encoder=encoder, show_progress_bar=show_progress_bar)
    X = np.asarray(embeddings, dtype=float)
    oof, thresholds = _theme_probabilities(examples, X, themed, labels, folds, C, random_state, show_progress_bar)
    sent = _sentiment_probabilities(examples, X, with_sentiment, folds, C, random_state, thresholds)
    flags = []
    for i, ex in enumerate(examples):
        flag = _flag(i, ex, labels, oof, sent, thresholds, bool(themed[i]), bool(with_sentiment[i]), min_confidence)
        if flag is not None:
            flags.append(flag)
    flags.sort(key=lambda f: (-f.confidence, f.row))
    return AuditReport(flags, labels, skipped, oof, sent, thresholds, len(examples), int(themed.sum()))


def _audited(examples: list[Example], folds: int, check_sentiment: bool,
             embeddings: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Which examples have theme labels and which a sentiment to audit, after checking the inputs.

    Raises:
        DataValidationError: see :func:`audit_labels`.
    """
    if not 2 <= folds <= 20:
        raise DataValidationError(f"folds must be between 2 and 20, found {folds}")
    if len(examples) < 2 * folds:
        raise DataValidationError(f"the audit needs at least {2 * folds} labelled answers for {folds} folds, "
                                  f"found {len(examples)}; add data or lower --folds")
    themed = np.array([e.themes is not None for e in examples])
    with_sentiment = np.array([e.sentiment is not None for e in examples]) if check_sentiment else np.zeros(len(examples), bool)
    if not themed.any() and not with_sentiment.any():
        raise DataValidationError("nothing to audit: no example has theme labels (a 'themes' column) or an overall "
                                  "'sentiment'; pass labelled data, e.g. data/seed/train.jsonl")
    if embeddings is not None and (embeddings.ndim != 2 or len(embeddings) != len(examples)):
        raise DataValidationError(f"expected embeddings of shape [{len(examples)}, dim], found {tuple(embeddings.shape)}")
    return themed, with_sentiment


def _theme_probabilities(examples: list[Example], X: np.ndarray, themed: np.ndarray, labels: list[str], folds: int,
                         C: float, random_state: int, show_progress_bar: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """Out-of-fold theme probabilities ``[n, labels]`` and, per theme, the mean probability of the answers
    without and with it."""
    bar = None
    if show_progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=folds, desc="cross-validating", unit="fold", file=sys.stderr)
    idx = np.flatnonzero(themed)
    oof = np.zeros((len(examples), len(labels)))
    thresholds: dict[str, Any] = {}
    Y = np.array([[t in (examples[i].themes or {}) for t in labels] for i in idx], dtype=bool).reshape(len(idx), len(labels))
    if len(idx) >= 2 * folds and labels:
        oof[idx] = _oof_themes(X[idx], Y, _folds(len(idx), folds, random_state),
                               C, random_state, bar)
        for j, label in enumerate(labels):
            p, y = oof[idx, j], Y[:, j]
            thresholds[label] = (round(float(p[~y].mean()), 4) if (~y).any() else 0.0, round(float(p[y].mean()), 4))
    if bar is not None:
        bar.close()
    return oof, thresholds


def _sentiment_probabilities(examples: list[Example], X: np.ndarray, with_sentiment: np.ndarray, folds: int, C: float,
                             random_state: int, thresholds: dict[str, Any]) -> np.ndarray:
    """Out-of-fold sentiment probabilities ``[n, 3]`` (NaN where not audited); adds each gold class's mean
    probability to ``thresholds["sentiment"]``."""
    sent = np.full((len(examples), 3), np.nan)
    sidx = np.flatnonzero(with_sentiment)
    if len(sidx) >= 2 * folds:
        y_sent = np.array([POLARITIES.index(examples[i].sentiment) for i in sidx])  # type: ignore[arg-type]
        sent[sidx] = _oof_sentiment(X[sidx], y_sent, _folds(len(sidx), folds, random_state + 1), C, random_state)
        ok = ~np.isnan(sent[sidx]).any(1)
        thresholds["sentiment"] = {POLARITIES[c]: round(float(sent[sidx][ok & (y_sent == c), c].mean()), 4)
                                   for c in range(3) if (ok & (y_sent == c)).any()}
    return sent


def _theme_issues(ex: Example, row: np.ndarray, labels: list[str], thresholds: dict[str, Any]
                  ) -> tuple[list[tuple[float, str, str]], dict[str, str | None] | None]:
    """The theme issues of one answer (probability ``row`` per label) and the themes it should have."""
    issues: list[tuple[float, str, str]] = []
    gold_themes = dict(ex.themes) if ex.themes is not None else None
    new_themes = dict(gold_themes) if gold_themes is not None else None
    removed: list[str | None] = []
    for j, label in enumerate(labels):
        t0, t1 = thresholds.get(label, (0.0, 1.0))
        p = float(row[j])
        if gold_themes is not None and label in gold_themes and p <= t0 and p < t1:
            issues.append((1 - p, "theme_unlikely", f"gold theme {label!r} unlikely (p={p:.2f})"))
            removed.append(gold_themes[label])
            new_themes.pop(label, None)  # type: ignore[union-attr]
    for j, label in enumerate(labels):
        t0, t1 = thresholds.get(label, (0.0, 1.0))
        p = float(row[j])
        if gold_themes is not None and label not in gold_themes and p >= t1 and p > t0:
            issues.append((p, "theme_missing", f"missing theme {label!r} (p={p:.2f})"))
            # a swapped label keeps its polarity; otherwise the answer's overall sentiment
            polarity = removed[0] if len(removed) == 1 else ex.sentiment
            new_themes[label] = polarity  # type: ignore[index]
    return issues, new_themes


def _sentiment_issue(ex: Example, probs: np.ndarray, thresholds: dict[str, Any]) -> tuple[float, str, str, str] | None:
    """``(confidence, kind, message, suggested sentiment)`` when the gold sentiment looks wrong, else None."""
    gold_c = POLARITIES.index(ex.sentiment)  # type: ignore[arg-type]
    t = thresholds["sentiment"]
    others = [c for c in range(3) if c != gold_c and POLARITIES[c] in t and probs[c] >= t[POLARITIES[c]]]
    if not others or probs[gold_c] >= t.get(POLARITIES[gold_c], 1.0):
        return None
    best = max(others, key=lambda c: probs[c])
    return (float(probs[best]), "sentiment", f"sentiment {ex.sentiment!r} unlikely (p={probs[gold_c]:.2f}), "
            f"{POLARITIES[best]!r} p={probs[best]:.2f}", POLARITIES[best])


def _flag(i: int, ex: Example, labels: list[str], oof: np.ndarray, sent: np.ndarray, thresholds: dict[str, Any],
          themed: bool, with_sentiment: bool, min_confidence: float) -> LabelFlag | None:
    """The flag of answer ``i``, or None when its labels look right (or the flag is below ``min_confidence``)."""
    issues: list[tuple[float, str, str]] = []
    gold_themes = dict(ex.themes) if ex.themes is not None else None
    new_themes = dict(gold_themes) if gold_themes is not None else None
    if themed:
        issues, new_themes = _theme_issues(ex, oof[i], labels, thresholds)
    new_sentiment = ex.sentiment
    if with_sentiment and not np.isnan(sent[i]).any() and "sentiment" in thresholds:
        found = _sentiment_issue(ex, sent[i], thresholds)
        if found is not None:
            *issue, new_sentiment = found
            issues.append(tuple(issue))  # type: ignore[arg-type]
    if not issues:
        return None
    confidence = max(c for c, _, _ in issues)
    if confidence < min_confidence:
        return None
    gold = format_themes(gold_themes) + (f" | sentiment={ex.sentiment}" if with_sentiment else "")
    suggested = format_themes(new_themes) + (f" | sentiment={new_sentiment}" if with_sentiment else "")
    return LabelFlag(row=i, id=ex.id, text=ex.text, lang=ex.lang, gold=gold, suggested=suggested,
                     confidence=round(confidence, 4), issues=[m for _, _, m in issues],
                     kinds=sorted({k for _, k, _ in issues}))
