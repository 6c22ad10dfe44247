"""Is model B really better than model A? A paired bootstrap over answers of the theme F1 difference.

Both models predict every answer once. A bootstrap replicate draws answers with replacement (the *same*
draw for both models, so the comparison is paired), sums each model's true positives, false positives and
false negatives per theme over the drawn answers, and computes micro-F1 and macro-F1 (mean over the themes
present in the replicate's gold labels) of A and of B. The 2.5% and 97.5% percentiles of B - A over the
replicates give the 95% confidence interval; the share of replicates with B > A is reported too.

Themes scored: every theme at least one of the two models can predict (trained or zero-shot): a theme only
B knows counts as missed by A, and false positives count whether or not the theme occurs in the gold labels
(gold themes neither model knows are left out). Macro-F1 averages over the themes with gold support.
When the data has no theme labels, the overall sentiment classes are scored instead (each answer has one
gold and one predicted class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nps_nlp import FeedbackClassifier
from nps_nlp.datasets import Example
from nps_nlp.errors import DataValidationError
from nps_nlp.model_dir import resolve_model_dir

__all__ = ["compare_examples", "compare_models", "paired_bootstrap", "verdict"]


@dataclass
class _Counts:
    tp: np.ndarray  # [n answers, n labels]
    fp: np.ndarray
    fn: np.ndarray


def _counts(gold: Sequence[set[str]], pred: Sequence[set[str]], labels: Sequence[str]) -> _Counts:
    g = np.array([[label in s for label in labels] for s in gold], dtype=bool).reshape(len(gold), len(labels))
    p = np.array([[label in s for label in labels] for s in pred], dtype=bool).reshape(len(pred), len(labels))
    return _Counts((g & p).astype(np.int32), (~g & p).astype(np.int32), (g & ~p).astype(np.int32))


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Micro and macro F1 from per-label counts ``[..., labels]`` (macro over labels with gold support)."""
    micro_den = 2 * tp.sum(-1) + fp.sum(-1) + fn.sum(-1)
    micro = np.divide(2 * tp.sum(-1), micro_den, out=np.zeros(micro_den.shape), where=micro_den > 0)
    den = 2 * tp + fp + fn
    per = np.divide(2 * tp, den, out=np.zeros(den.shape), where=den > 0)
    support = (tp + fn) > 0
    n_sup = support.sum(-1)
    macro = np.divide((per * support).sum(-1), n_sup, out=np.zeros(n_sup.shape), where=n_sup > 0)
    return micro, macro


def paired_bootstrap(gold: Sequence[set[str]], pred_a: Sequence[set[str]], pred_b: Sequence[set[str]],
                     labels: Sequence[str], *, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
                     ) -> dict[str, Any]:
    """Paired bootstrap of micro- and macro-F1 differences (B - A) over answers.

    Args:
        gold, pred_a, pred_b: per answer, the gold and each model's predicted label sets.
        labels: the labels to score.
        n_boot: bootstrap replicates.
        seed: random seed of the resampling.
        confidence: width of the interval.

    Returns:
        ``{"n", "micro_f1": block, "macro_f1": block}``, each block ``{"a", "b", "diff", "ci_low", "ci_high",
        "p_b_better", "significant"}`` where ``p_b_better`` is the share of replicates with B > A.
    """
    n = len(gold)
    if n == 0:
        raise DataValidationError("nothing to compare: no labelled answers")
    a, b = _counts(gold, pred_a, labels), _counts(gold, pred_b, labels)
    rng = np.random.default_rng(seed)
    # weights[r, i] = how often answer i is drawn in replicate r
    weights = np.zeros((n_boot, n), dtype=np.int32)
    for r in range(n_boot):
        weights[r] = np.bincount(rng.integers(0, n, n), minlength=n)

    def stats(c: _Counts, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if w is None:
            return _f1(c.tp.sum(0), c.fp.sum(0), c.fn.sum(0))
        return _f1(w @ c.tp, w @ c.fp, w @ c.fn)

    point_a, point_b = stats(a, None), stats(b, None)
    boot_a, boot_b = stats(a, weights), stats(b, weights)
    tail = (1 - confidence) / 2 * 100
    out: dict[str, Any] = {"n": n, "n_boot": n_boot, "confidence": confidence}
    for k, name in enumerate(("micro_f1", "macro_f1")):
        diff = boot_b[k] - boot_a[k]
        low, high = np.percentile(diff, [tail, 100 - tail])
        point = float(point_b[k] - point_a[k])
        out[name] = {"a": round(float(point_a[k]), 4), "b": round(float(point_b[k]), 4), "diff": round(point, 4),
                     "ci_low": round(float(low), 4), "ci_high": round(float(high), 4),
                     "p_b_better": round(float((diff > 0).mean()), 4),
                     "significant": bool(low > 0 or high < 0)}
    return out


def verdict(block: dict[str, Any], what: str = "micro-F1") -> str:
    """One line: ``"B is better: +0.031 [0.012, 0.050] micro-F1"`` or ``"no significant difference: ..."``."""
    ci = f"{block['diff']:+.3f} [{block['ci_low']:+.3f}, {block['ci_high']:+.3f}] {what}"
    if block["ci_low"] > 0:
        return f"B is better: {ci}"
    if block["ci_high"] < 0:
        return f"A is better: {ci}"
    return f"no significant difference: {ci}"


def compare_examples(model_a: FeedbackClassifier, model_b: FeedbackClassifier, examples: Sequence[Example], *,
                     n_boot: int = 1000, seed: int = 0, batch_size: int = 256) -> dict[str, Any]:
    """Compare two models on labelled examples (read with their scores, where given): overall and per language
    (the examples' ``lang``, else the language model A detects).

    Returns:
        ``{"target", "labels", "overall": paired_bootstrap(...), "per_language": {lang: ...}, "verdict"}``.

    Raises:
        DataValidationError: the examples have neither theme nor sentiment labels.
    """
    themed = [e for e in examples if e.themes is not None]
    if themed:
        known = set(model_a.labels_) | set(model_a.zero_shot_labels_) | set(model_b.labels_) | set(model_b.zero_shot_labels_)
        chosen = themed
        labels = sorted(known)
        target = "themes"
    else:
        chosen = [e for e in examples if e.sentiment is not None]
        labels = sorted({str(e.sentiment) for e in chosen})
        target = "sentiment"
    if not chosen:
        raise DataValidationError("nothing to compare: the data has neither theme nor sentiment labels")
    texts, scores = [e.text for e in chosen], [e.score for e in chosen]
    preds = []
    lang_of: list[str] = [e.lang or "" for e in chosen]
    for model in (model_a, model_b):
        results: list[Any] = []
        for start in range(0, len(texts), batch_size):
            results += model.predict(texts[start : start + batch_size], scores=scores[start : start + batch_size])
        preds.append([{t.theme for t in r.themes} if target == "themes" else {r.sentiment} for r in results])
        # slices by the data's lang column, else by model A's detected language
        lang_of = [lang or r.lang for lang, r in zip(lang_of, results, strict=True)]
    gold = [set(e.themes or {}) & set(labels) if target == "themes" else {str(e.sentiment)} for e in chosen]
    out: dict[str, Any] = {"target": target, "labels": labels,
                           "overall": paired_bootstrap(gold, preds[0], preds[1], labels, n_boot=n_boot, seed=seed)}
    per_language = {}
    for lang in sorted(set(lang_of)):
        idx = [i for i, code in enumerate(lang_of) if code == lang]
        per_language[lang] = paired_bootstrap([gold[i] for i in idx], [preds[0][i] for i in idx],
                                              [preds[1][i] for i in idx], labels, n_boot=n_boot, seed=seed)
    out["per_language"] = per_language
    out["verdict"] = verdict(out["overall"]["micro_f1"], "micro-F1" if target == "themes" else "sentiment micro-F1")
    return out


def compare_models(model_a: str | Path, model_b: str | Path, data: str | Path, *, format: str | None = None,  # noqa: A002
                   columns: dict[str, str] | None = None, label_map: Any = None, languages: Sequence[str] = (),
                   n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Load two models and a labelled dataset (any supported format) and :func:`compare_examples`."""
    from nps_nlp.datasets import load_examples
    a, b = FeedbackClassifier.load(resolve_model_dir(model_a)), FeedbackClassifier.load(resolve_model_dir(model_b))
    examples = load_examples(data, format=format, columns=columns, label_map=label_map)
    if languages:
        examples = [e for e in examples if e.lang in set(languages)]
    out = compare_examples(a, b, examples, n_boot=n_boot, seed=seed)
    out.update(model_a=str(model_a), model_b=str(model_b), data=str(data))
    return out
