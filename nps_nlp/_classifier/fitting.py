"""``FeedbackClassifier.fit`` end to end: check the data, encode it once, train the heads (one, or an ensemble of
complete fits with their own seeds), tune thresholds, fit the lexical model and calibrate zero-shot matching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_nlp._classifier import lexical, splits
from nps_nlp._classifier.head_training import HeadTrainer
from nps_nlp._classifier.labels import check_training_data, targets
from nps_nlp._classifier.layers import TunedLayers
from nps_nlp._classifier.thresholds import tune_thresholds
from nps_nlp._classifier.zero_shot import fit_zero_shot
from nps_nlp.encoders._device import resolve_device
from nps_nlp.errors import DataValidationError

__all__ = ["fit"]


def _move(model: Any, device: Any) -> None:
    """Move the encoder and the head (when there is one) to ``device``."""
    model.load_encoder().model.to(device)
    head = getattr(model, "head_", None)
    if head is not None:
        head.to(device)


def fit(model: Any, X: Sequence[str], y: Any, sentiment: Sequence[str | None] | None,
        groups: Sequence[str] | None = None) -> Any:
    """Train ``model`` (a :class:`nps_nlp.FeedbackClassifier`) in place; see its ``fit``.

    Everything that can be checked is checked before the encoder loads. The frozen part of the encoder runs once:
    its output is cached and training runs only the head (and the tuned top layers) over the cache.
    """
    data, space = check_training_data(X, y, sentiment, model.taxonomy, model.zero_shot)
    model.taxonomy_, model.labels_ = space.taxonomy, space.labels
    model.zero_shot_labels_, model.has_sentiment_ = space.zero_shot_labels, space.has_sentiment
    texts = data.texts
    frozen = model.finetune_layers <= 0
    n_heads = splits.n_heads(model.ensemble, frozen=frozen, n=len(texts), cv=model.cv,
                             finetune_layers=model.finetune_layers)  # a bad setting fails before any compute
    if groups is not None and len(groups) != len(texts):
        raise DataValidationError(f"groups has {len(groups)} entries for {len(texts)} answers")
    device = resolve_device(model.device)
    model.lexical_ = None
    encoder = model.load_encoder()
    _move(model, device)
    # an exported graph of the encoder is stale once fine-tuning changes the weights; one made later in this fit
    # (zero-shot calibration runs after training) is of the final weights
    encoder.onnx = None
    import torch

    n = len(texts)
    goal = targets(data.themes, data.sentiments, model.labels_)
    layers = TunedLayers(encoder.model, model.finetune_layers)
    cache = model.token_states(texts, desc="encoding answers", layer=layers.start)[0]
    # each run (hold-out, fold, refit) starts from the tuned layers' pre-trained weights, also when this object was
    # fitted before (its encoder then holds the previous fit's weights)
    tuned_at_load, initial = model.initial_layer_weights()
    if tuned_at_load != model.finetune_layers:  # changed after the encoder was loaded: its weights as they are now
        initial = layers.weights()
    # languages of the training answers, detected once: the lexical model is gated by them
    langs = [r.lang for r in model.detect_languages(texts)] if model.lexical_weight > 0 else []
    trainer = HeadTrainer(len(model.labels_), encoder.dim, layers, model.learning_rate, model.encoder_learning_rate,
                          model.batch_size, model.random_state, model.show_progress_bar)
    # each head of the ensemble is a complete fit of its own (split, epoch, thresholds, refit) with its own seed;
    # the first is the single-head model, so ensemble=1 is exactly that model
    members = [_fit_member(model, trainer, texts, goal, cache, initial, langs, groups, frozen, model.random_state + m)
               for m in range(n_heads)]
    if n_heads > 1:
        from nps_nlp._network import HeadEnsemble

        model.head_ = HeadEnsemble([m["head"] for m in members])
    else:
        model.head_ = members[0]["head"]
    # the heads' probabilities are averaged, and so are their thresholds
    model.thresholds_ = {label: float(np.mean([m["thresholds"][label] for m in members])) for label in model.labels_}
    model.best_epoch_ = int(np.median([m["best_epoch"] for m in members]))
    model.validation_scores_ = splits.mean_scores([m["scores"] for m in members])
    _fit_lexical(model, texts, goal, np.arange(n), langs)
    calibrate = members[0]["calibrate"]  # zero-shot threshold: on held-out answers, else on all
    model.zero_shot_threshold_, model.prototypes_, model.prototype_owner_ = fit_zero_shot(
        model.taxonomy_, model.labels_, model.zero_shot_labels_, [texts[i] for i in calibrate],
        goal["detect"][calibrate], goal["has_themes"][calibrate], model.token_states, encoder.dim)
    model.n_examples_ = n
    del cache
    torch.set_grad_enabled(True)
    return model


def _fit_lexical(model: Any, texts: list[str], goal: dict[str, np.ndarray], idx: np.ndarray, langs: list[str]) -> None:
    model.lexical_, model.lexical_languages_ = lexical.fit_lexical(
        texts, goal["detect"], goal["has_themes"], idx, langs, weight=model.lexical_weight, labels=model.labels_,
        random_state=model.random_state)


def _fit_member(model: Any, trainer: HeadTrainer, texts: list[str], goal: dict[str, np.ndarray], cache: list,
                initial: dict[str, Any], langs: list[str], groups: Sequence[str] | None, frozen: bool, seed: int
                ) -> dict[str, Any]:
    """One head: pick the epoch and tune the thresholds on held-out answers (one hold-out, or out-of-fold over
    ``cv`` folds), then (frozen encoder, or ``refit``) train again on all answers for that many epochs."""
    rng = np.random.default_rng(seed)
    n = len(texts)
    folds = splits.fold_indices(n, splits.n_folds(model.cv, n, frozen), model.validation_fraction, rng, groups)
    all_idx = np.arange(n)
    n_fit = n - (len(folds[0]) if folds else 0)
    epochs = model.epochs or (splits.auto_epochs(n_fit, model.batch_size) if frozen else 20)
    none = np.array([], dtype=int)
    if not folds:
        trainer.layers.restore(initial)
        best = trainer.train(goal, all_idx, none, epochs, cache, seed=seed)
        return {"head": best["head"], "thresholds": dict.fromkeys(model.labels_, 0.5), "best_epoch": best["epoch"],
                "scores": best["scores"], "calibrate": all_idx}
    val_idx = np.sort(np.concatenate(folds))
    val_proba = np.zeros((n, len(model.labels_)), dtype=np.float32)
    runs = []
    for fold in folds:
        rest = np.setdiff1d(all_idx, fold)
        trainer.layers.restore(initial)
        best = trainer.train(goal, rest, fold, epochs, cache, seed=seed)
        _fit_lexical(model, texts, goal, rest, langs)
        if best["val_proba"] is not None:
            val_proba[fold] = model.blend_lexical(best["val_proba"], [texts[i] for i in fold], [langs[i] for i in fold]) \
                if model.lexical_ is not None else best["val_proba"]
        runs.append(best)
    # few-shot data (under 1,000 answers, or k folds) get one global threshold: per-theme thresholds tuned on a
    # sample with evenly many answers per theme over-predict rare themes on real data
    thresholds = tune_thresholds(model.labels_, val_proba[val_idx], goal["detect"][val_idx], goal["has_themes"][val_idx],
                                 per_theme=len(folds) == 1 and n >= 1000)
    best_epoch = int(np.median([r["epoch"] for r in runs]))
    scores = splits.mean_scores([r["scores"] for r in runs])
    head = runs[-1]["head"]
    if frozen if model.refit is None else model.refit:  # on everything, for the epoch count that worked best
        trainer.layers.restore(initial)
        head = trainer.train(goal, all_idx, none, best_epoch, cache, seed=seed)["head"]
    return {"head": head, "thresholds": thresholds, "best_epoch": best_epoch, "scores": scores, "calibrate": val_idx}
