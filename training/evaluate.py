"""Evaluation: per-language and per-label precision/recall/F1 (micro and macro), confusion between themes,
calibration (expected calibration error) of theme confidences and sentiment, polarity accuracy given the
gold themes, overall sentiment, and agreement with NPS score bands."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nps_nlp import FeedbackClassifier
from nps_nlp._network import POLARITIES
from nps_nlp.datasets import Example, load_examples
from nps_nlp.model_dir import resolve_model_dir
from nps_nlp.score_fusion import contradicts


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def label_metrics(gold: Sequence[set[str]], pred: Sequence[set[str]], labels: Sequence[str]) -> dict[str, Any]:
    """Multi-label micro/macro P/R/F1 over ``labels`` (sets per example)."""
    per: dict[str, dict[str, float]] = {}
    tp_all = fp_all = fn_all = 0
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if label in g and label in p)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if label not in g and label in p)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if label in g and label not in p)
        per[label] = _prf(tp, fp, fn)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    micro = _prf(tp_all, fp_all, fn_all)
    with_support = [m for m in per.values() if m["support"]]
    macro = {k: round(float(np.mean([m[k] for m in with_support])), 4) if with_support else 0.0
             for k in ("precision", "recall", "f1")}
    return {"micro": micro, "macro": macro, "per_label": per, "n": len(gold)}


def theme_confusion(gold: Sequence[set[str]], pred: Sequence[set[str]]) -> dict[str, Any]:
    """For each gold theme: how often it was missed, and which themes were predicted instead on those answers.

    Returns:
        ``{theme: {"support", "missed", "predicted_instead": {theme: count}, "nothing_predicted",
        "false_positives", "false_positive_with": {gold theme: count}}}``; counts are answers.
    """
    out: dict[str, Any] = {}
    for label in sorted({label for g in gold for label in g} | {label for p in pred for label in p}):
        support = missed = nothing = fp = 0
        instead: Counter[str] = Counter()
        fp_with: Counter[str] = Counter()
        for g, p in zip(gold, pred, strict=True):
            if label in g:
                support += 1
                if label not in p:
                    missed += 1
                    wrong = p - g
                    instead.update(wrong)
                    nothing += not p
            elif label in p:
                fp += 1
                fp_with.update(g or {"(no theme)"})
        out[label] = {"support": support, "missed": missed, "predicted_instead": dict(instead.most_common()),
                      "nothing_predicted": nothing, "false_positives": fp,
                      "false_positive_with": dict(fp_with.most_common())}
    return out


def expected_calibration_error(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                               n_bins: int = 10) -> dict[str, Any]:
    """Expected calibration error: sum over equal-width confidence bins of (bin share) x |accuracy - confidence|.

    Returns:
        ``{"ece", "n", "bins": [{"low", "high", "n", "confidence", "accuracy"}, ...]}`` (empty bins left out).
    """
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if not len(conf):
        return {"ece": None, "n": 0, "bins": []}
    which = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = which == b
        if not mask.any():
            continue
        c, a = float(conf[mask].mean()), float(hit[mask].mean())
        ece += mask.mean() * abs(a - c)
        bins.append({"low": b / n_bins, "high": (b + 1) / n_bins, "n": int(mask.sum()), "confidence": round(c, 4),
                     "accuracy": round(a, 4)})
    return {"ece": round(ece, 4), "n": int(len(conf)), "bins": bins}


def _band(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def _predict(model: FeedbackClassifier, texts: list[str], scores: Sequence[float | None], batch_size: int,
             themes: list[list[str]] | None = None) -> list[Any]:
    results: list[Any] = []
    for start in range(0, len(texts), batch_size):
        part = slice(start, start + batch_size)
        results += model.predict(texts[part], scores=scores[part], themes=themes[part] if themes else None)
    return results


def evaluate_examples(model: FeedbackClassifier, examples: Sequence[Example], *, batch_size: int = 256,
                      use_scores: bool = True) -> dict[str, Any]:
    """Evaluate a model on labelled examples.

    Theme metrics use the examples that have theme labels, over the model's themes (gold labels the model
    cannot predict are reported as ``unknown_gold_labels``). Micro precision counts every predicted theme,
    also themes that never occur in the gold labels (listed with their counts in
    ``themes.predicted_without_gold``); macro averages over the themes with gold support. Sentiment metrics use examples with an overall
    sentiment. ``micro_f1``/``macro_f1`` at the top are for themes, or for sentiment classes when the data
    has no theme labels.

    Returns:
        A JSON-ready dict with ``micro_f1``, ``macro_f1``, ``themes``, ``theme_confusion`` (see
        :func:`theme_confusion`), ``calibration`` (``theme_confidence``: predicted themes' confidence vs.
        being right; ``theme_probability``: every trained theme's probability vs. being a gold theme;
        ``sentiment``: the overall sentiment's top probability vs. being right; each from
        :func:`expected_calibration_error`), ``theme_polarity``, ``sentiment``, ``per_language`` and
        ``nps_bands`` blocks. Per-language slices use each example's ``lang``, else the detected language.
        With ``use_scores`` (default) answers are read with their NPS scores, as the product reads them, and
        ``sentiment_text_only`` gives the overall sentiment's accuracy read from the text alone.
    """
    texts = [e.text for e in examples]
    scores = [e.score if use_scores else None for e in examples]
    run = _Run(model, examples, texts, scores, _predict(model, texts, scores, batch_size), batch_size)
    out: dict[str, Any] = {"n_examples": len(examples), "model_themes": run.labels,
                           "read_with_scores": any(s is not None for s in scores)}
    calibration: dict[str, Any] = {}
    if run.themed:
        out.update(_theme_blocks(run, calibration))
    if run.sent_idx and run.raw is not None and getattr(model, "has_sentiment_", True):
        probs = run.raw.sentiment[[run.row_of[i] for i in run.sent_idx]]
        calibration["sentiment"] = expected_calibration_error(
            probs.max(axis=1), [POLARITIES[int(p.argmax())] == examples[i].sentiment
                                for p, i in zip(probs, run.sent_idx, strict=True)])
    if calibration:
        out["calibration"] = calibration
    if run.sent_idx:
        out.update(_sentiment_blocks(run, read_with_scores=out["read_with_scores"]))
    out["per_language"] = _per_language(run)
    if any(e.score is not None for e in examples):
        out["nps_bands"] = _nps_bands(run)
    if "themes" in out:
        out["micro_f1"], out["macro_f1"] = out["themes"]["micro"]["f1"], out["themes"]["macro"]["f1"]
    elif "sentiment" in out:
        out["micro_f1"], out["macro_f1"] = out["sentiment"]["micro"]["f1"], out["sentiment"]["macro"]["f1"]
    return out


class _Run:
    """The predictions of one evaluation and the indices the blocks of :func:`evaluate_examples` read."""

    def __init__(self, model: FeedbackClassifier, examples: Sequence[Example], texts: list[str],
                 scores: list[int | None], results: list[Any], batch_size: int) -> None:
        self.model, self.examples, self.texts, self.scores, self.results = model, examples, texts, scores, results
        self.batch_size = batch_size
        self.labels = list(model.labels_) + list(model.zero_shot_labels_)
        self.themed = [i for i, e in enumerate(examples) if e.themes is not None]
        self.sent_idx = [i for i, e in enumerate(examples) if e.sentiment is not None]
        self.lang_of = [e.lang or r.lang for e, r in zip(examples, results, strict=True)]
        # one forward pass over the labelled answers for what predict() does not expose: every theme's
        # probability, the polarity head given the gold themes, the overall sentiment probabilities
        labelled = sorted(set(self.themed) | set(self.sent_idx))
        self.raw = model.head_outputs([texts[i] for i in labelled]) if labelled else None
        self.row_of = {i: r for r, i in enumerate(labelled)}

    def theme_block(self, idx: list[int]) -> dict[str, Any]:
        """Theme P/R/F1 over the answers ``idx``."""
        gold = [{k for k in self.examples[i].themes or {} if k in self.labels} for i in idx]
        pred = [{t.theme for t in self.results[i].themes} for i in idx]
        # every theme with gold support or a prediction: false positives of themes absent from the
        # gold labels count against micro precision; macro averages over themes with support only
        scored = [label for label in self.labels if any(label in g for g in gold) or any(label in p for p in pred)]
        block = label_metrics(gold, pred, scored)
        # per_label keeps the themes with gold support; predictions of the others are listed apart
        unsupported = {k: sum(k in p for p in pred) for k, v in block["per_label"].items() if not v["support"]}
        block["per_label"] = {k: v for k, v in block["per_label"].items() if v["support"]}
        block["predicted_without_gold"] = unsupported
        return block


def _theme_blocks(run: _Run, calibration: dict[str, Any]) -> dict[str, Any]:
    """``themes``, ``unknown_gold_labels``, ``theme_confusion`` and ``theme_polarity``; adds the themes'
    calibration to ``calibration``."""
    examples, results, themed, model = run.examples, run.results, run.themed, run.model
    out: dict[str, Any] = {"themes": run.theme_block(themed)}
    out["unknown_gold_labels"] = sorted({k for i in themed for k in examples[i].themes or {}} - set(run.labels))
    out["theme_confusion"] = theme_confusion([set(examples[i].themes or {}) & set(run.labels) for i in themed],
                                             [{t.theme for t in results[i].themes} for i in themed])
    # calibration of the confidence of every predicted theme: is a 0.8 right 80% of the time?
    conf, hit = [], []
    for i in themed:
        gold = set(examples[i].themes or {})
        for t in results[i].themes:
            conf.append(t.confidence)
            hit.append(t.theme in gold)
    calibration["theme_confidence"] = expected_calibration_error(conf, hit)
    if run.raw is not None and model.labels_:
        proba = run.raw.detect[[run.row_of[i] for i in themed]]
        gold_m = np.array([[label in (examples[i].themes or {}) for label in model.labels_] for i in themed])
        calibration["theme_probability"] = expected_calibration_error(proba.ravel(), gold_m.ravel())
    polarity = _theme_polarity(run)
    if polarity is not None:
        out["theme_polarity"] = polarity
    return out


def _theme_polarity(run: _Run) -> dict[str, Any] | None:
    """Per-theme sentiment given the gold themes, as predict() reports it (whole answer and evidence clause),
    and from the whole answer alone (the head's answer-level polarity, without the clause)."""
    examples, model = run.examples, run.model
    polar = {i: {label: pol for label, pol in (examples[i].themes or {}).items()
                 if pol is not None and label in model.labels_} for i in run.themed}
    polar = {i: gold for i, gold in polar.items() if gold}
    if not polar or run.raw is None:
        return None
    idx = list(polar)
    given = _predict(model, [run.texts[i] for i in idx], [run.scores[i] for i in idx], run.batch_size,
                     themes=[list(polar[i]) for i in idx])
    ok = whole = 0
    per_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, result in zip(idx, given, strict=True):
        said = {t.theme: t.sentiment for t in result.themes}
        for label, polarity in polar[i].items():
            right = said.get(label) == polarity
            ok += right
            whole += POLARITIES[int(run.raw.polarity[run.row_of[i], model.labels_.index(label)].argmax())] == polarity
            counts = per_lang[run.lang_of[i]]
            counts[0] += right
            counts[1] += 1
    total = sum(len(gold) for gold in polar.values())
    return {"accuracy": round(ok / total, 4), "n": total, "answer_level_accuracy": round(whole / total, 4),
            "per_language": {k: {"accuracy": round(a / b, 4), "n": b} for k, (a, b) in per_lang.items()}}


def _sentiment_blocks(run: _Run, *, read_with_scores: bool) -> dict[str, Any]:
    """``sentiment`` (P/R/F1, accuracy, confusion), ``sentiment_text_only`` and ``contradictions``."""
    examples, results, sent_idx = run.examples, run.results, run.sent_idx
    gold_s = [{str(examples[i].sentiment)} for i in sent_idx]
    pred_s = [{results[i].sentiment} for i in sent_idx]
    sentiment = label_metrics(gold_s, pred_s, [p for p in POLARITIES if any(p in g for g in gold_s)])
    sentiment["accuracy"] = round(float(np.mean([g == p for g, p in zip(gold_s, pred_s, strict=True)])), 4)
    confusion = {g: dict.fromkeys(POLARITIES, 0) for g in POLARITIES}
    for i in sent_idx:
        confusion[str(examples[i].sentiment)][results[i].sentiment] += 1
    sentiment["confusion"] = {gold: row for gold, row in confusion.items() if sum(row.values())}
    out: dict[str, Any] = {"sentiment": sentiment}
    if read_with_scores:
        text_only = _predict(run.model, [run.texts[i] for i in sent_idx], [None] * len(sent_idx), run.batch_size)
        out["sentiment_text_only"] = {"accuracy": round(float(np.mean(
            [r.sentiment == examples[i].sentiment for r, i in zip(text_only, sent_idx, strict=True)])), 4)}
    out["contradictions"] = sum(contradicts(r) for r in results)
    return out


def _per_language(run: _Run) -> dict[str, Any]:
    """Theme metrics, sentiment accuracy and language-id accuracy per language."""
    examples, results = run.examples, run.results
    per_language: dict[str, Any] = {}
    for lang in sorted(set(run.lang_of)):
        block: dict[str, Any] = {}
        idx = [i for i in run.themed if run.lang_of[i] == lang]
        if idx:
            block["themes"] = run.theme_block(idx)
        sidx = [i for i in run.sent_idx if run.lang_of[i] == lang]
        if sidx:
            block["sentiment_accuracy"] = round(float(np.mean([results[i].sentiment == examples[i].sentiment
                                                               for i in sidx])), 4)
            block["sentiment_n"] = len(sidx)
        detected = [results[i].lang for i in range(len(examples)) if examples[i].lang == lang]
        if detected:
            block["language_id_accuracy"] = round(float(np.mean([d == lang for d in detected])), 4)
        per_language[lang] = block
    return per_language


def _nps_bands(run: _Run) -> dict[str, Any]:
    """The predicted overall sentiment per NPS band of the answers with a score."""
    bands: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(POLARITIES, 0))
    for i, example in enumerate(run.examples):
        if example.score is not None:
            bands[_band(int(example.score or 0))][run.results[i].sentiment] += 1
    return {
        band: {**counts, "n": sum(counts.values()),
               "share_negative_or_neutral": round((counts["negative"] + counts["neutral"]) / max(1, sum(counts.values())), 4)}
        for band, counts in sorted(bands.items())
    }


def evaluate(model: str | Path | FeedbackClassifier, data: str | Path, *, format: str | None = None,
             columns: dict[str, str] | None = None, label_map: Any = None, **reader_options: Any) -> dict[str, Any]:
    """Load a model and a dataset (any supported format) and evaluate."""
    clf = model if isinstance(model, FeedbackClassifier) else FeedbackClassifier.load(resolve_model_dir(model))
    examples = load_examples(data, format=format, columns=columns, label_map=label_map, **reader_options)
    return evaluate_examples(clf, examples)
