"""How ``fit`` spends its data: epochs, cross-validation folds or one hold-out, and the heads of an ensemble."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nps_nlp.errors import ConfigError

__all__ = ["DEFAULT_ENSEMBLE", "auto_epochs", "fold_indices", "mean_scores", "n_folds", "n_heads"]

DEFAULT_ENSEMBLE = 5  # heads averaged by default with a frozen encoder and 1,000 answers or more (``ensemble=None``)


def auto_epochs(n_train: int, batch_size: int, min_steps: int = 1000, floor: int = 40, cap: int = 250) -> int:
    """Epochs for a head on a frozen encoder: ``floor``, or enough for ``min_steps`` optimiser steps on small
    data, at most ``cap``."""
    steps_per_epoch = max(1, -(-n_train // batch_size))
    return int(min(cap, max(floor, -(-min_steps // steps_per_epoch))))


def n_folds(cv: int | None, n: int, frozen: bool) -> int:
    """Folds for picking the epoch and thresholds (1: one hold-out): ``cv``, by default 5 below 1,000 answers.

    Folds only with a frozen encoder: fine-tuning changes the encoder, so each fold would start from the previous
    fold's weights."""
    return (cv if cv is not None else (5 if n < 1000 else 1)) if frozen else 1


def n_heads(ensemble: int | None, *, frozen: bool, n: int, cv: int | None, finetune_layers: int = 0) -> int:
    """How many heads the model averages for ``n`` training answers: ``ensemble``, or by default
    :data:`DEFAULT_ENSEMBLE` with a frozen encoder where each head is picked on a hold-out (1,000 answers or more,
    or ``cv=1``) and 1 elsewhere (below 1,000 answers each head's epoch and threshold already come from
    out-of-fold predictions).

    Raises:
        ConfigError: ``ensemble`` is not a whole number >= 1, or more than 1 with tuned encoder layers.
    """
    if ensemble is None:
        return DEFAULT_ENSEMBLE if frozen and n_folds(cv, n, frozen) <= 1 else 1
    if isinstance(ensemble, bool) or not isinstance(ensemble, int) or ensemble < 1:
        raise ConfigError(f"ensemble must be a whole number of heads >= 1 (or None for the default), got {ensemble!r}")
    if ensemble > 1 and not frozen:
        raise ConfigError(f"ensemble={ensemble} needs a frozen encoder: with finetune_layers={finetune_layers} "
                          "each head would need its own tuned layers; set ensemble=1")
    return ensemble


def fold_indices(n: int, k: int, validation_fraction: float, rng: np.random.Generator,
                 groups: Sequence[str] | None = None) -> list[np.ndarray]:
    """Held-out index sets: ``k`` folds (cross-validation), one hold-out of ``validation_fraction`` (``k`` <= 1),
    or none below 20 answers; answers of one group are never split.

    Args:
        n: answers.
        k: folds (see :func:`n_folds`).
        validation_fraction: the hold-out's share of the answers.
        rng: the random order of answers (or groups).
        groups: per answer, its group id.
    """
    if n < 20:
        return []
    codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)[1] \
        if groups is not None else np.arange(n)
    n_groups = int(codes.max()) + 1
    if n_groups == n:  # every answer its own group: the plain split (the same as without groups)
        perm = rng.permutation(n)
        if k <= 1:
            return [np.sort(perm[: int(round(n * validation_fraction))])]
        return [np.sort(fold) for fold in np.array_split(perm, k)]
    order = rng.permutation(n_groups)
    if k <= 1:  # whole groups, in random order, until the hold-out has its share of answers
        size = np.bincount(codes, minlength=n_groups)[order]
        held = order[: int(np.searchsorted(np.cumsum(size), n * validation_fraction)) + 1]
        return [np.flatnonzero(np.isin(codes, held))]
    return [np.flatnonzero(np.isin(codes, part)) for part in np.array_split(order, k)]


def mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each validation score that every run (fold, or head of an ensemble) has."""
    keys = set.intersection(*(set(s) for s in scores))
    return {k: float(np.mean([s[k] for s in scores])) for k in sorted(keys)}
