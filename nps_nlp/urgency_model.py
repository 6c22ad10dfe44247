"""A learned reading of urgency: how likely an answer is ``critical`` or needs an alert, from its meaning.

Cue phrases (:mod:`nps_nlp.urgency`) are precise but cannot list every way of saying "I fell on your stairs" or
"3 payments I never made". :class:`UrgencyModel` reads the encoder's vector of the whole answer (mean of its
token states) together with their element-wise maximum with a multinomial logistic regression over the levels
``none``, ``high`` and ``critical``: the mean carries what the whole answer is about, the maximum the one alarming
sentence that a long answer about other things would otherwise average away. Its
two thresholds are chosen on out-of-fold predictions of the training answers: the lowest probability at which
the model's own ``critical`` and ``high or critical`` calls reach the wanted precision, so that the model only
adds alerts it is sure of. :class:`~nps_nlp.urgency.UrgencyDetector` takes its signal as one more reason.

Example:
    >>> model = UrgencyModel()
    >>> vectors = model.vectors(token_states)                                   # doctest: +SKIP
    >>> model.fit(vectors, ["none", "critical", ...])                            # doctest: +SKIP
    >>> model.signal(vectors[:1])                                               # doctest: +SKIP
    [{'critical': 0.91, 'high': 0.97, 'level': 'critical'}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_nlp._logistic import Logistic
from nps_nlp._urgency_levels import URGENCY_CLASSES, class_of, precision_threshold, score_bands
from nps_nlp.errors import DataValidationError
from nps_nlp.urgency_fusion import UrgencyFusion

__all__ = ["POOLINGS", "URGENCY_CLASSES", "UrgencyModel", "pool_states"]


POOLINGS = ("mean", "mean+max")
"""How an answer's token states become the model's input: their mean, or their mean and element-wise maximum."""


def pool_states(states: Sequence[Any], pooling: str = "mean+max") -> np.ndarray:
    """``[n, D]`` (``mean``) or ``[n, 2D]`` (``mean+max``) vectors of n answers' ``[T_i, D]`` token states."""
    if pooling not in POOLINGS:
        raise DataValidationError(f"unknown urgency pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
    if not len(states):
        return np.zeros((0, 0))
    arrays = [np.asarray(s, dtype=np.float32) for s in states]
    mean = np.stack([a.mean(0) for a in arrays])
    return mean if pooling == "mean" else np.concatenate([mean, np.stack([a.max(0) for a in arrays])], 1)


class UrgencyModel:
    """Urgency levels from answer vectors.

    Args:
        C: inverse regularisation of the logistic regression (strong by default: the vectors have hundreds of
            dimensions and the urgent answers number in the hundreds).
        precision: the precision its ``critical`` and alert calls must reach on out-of-fold predictions: the model
            only adds alerts about as trustworthy as the product promises for alerts (0.95).
        folds: folds for those predictions.
        random_state: seed of the fold split.
        pooling: how :meth:`vectors` pools token states (:data:`POOLINGS`).

    Attributes:
        oof_proba_: after :meth:`fit`, the ``[n, 3]`` out-of-fold probabilities of the training answers (what an
            :class:`~nps_nlp.urgency_fusion.UrgencyFusion` learns from; not saved).
        fusion_: the fusion of cues, this reading and the score fitted with it
            (:meth:`nps_nlp.FeedbackClassifier.fit_urgency`), or ``None``; saved with the model.
    """

    def __init__(self, C: float = 0.1, precision: float = 0.95, folds: int = 5, random_state: int = 0,
                 pooling: str = "mean+max") -> None:
        if pooling not in POOLINGS:
            raise DataValidationError(f"unknown urgency pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.C = C
        self.precision = precision
        self.folds = folds
        self.random_state = random_state

    def vectors(self, states: Sequence[Any]) -> np.ndarray:
        """The model's input for answers' ``[T_i, D]`` token states (pooled as :attr:`pooling` says)."""
        return pool_states(states, self.pooling)

    def fit(self, vectors: np.ndarray, levels: Sequence[str], scores: Sequence[float | None] | None = None
            ) -> UrgencyModel:
        """Fit on answer vectors (:meth:`vectors`) and their gold levels, then choose the thresholds out of fold. With ``scores``
        (the answers' 0-10 NPS scores, ``None`` where missing) the model also reads the score's band: an answer
        that sounds alarming weighs more from a customer who gave a 1 than from one who gave a 10.

        Raises:
            DataValidationError: lengths differ, an unknown level, or fewer than ``folds`` answers of the
                ``high`` or ``critical`` levels together.
        """
        from sklearn.model_selection import StratifiedKFold

        X = np.asarray(vectors, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(levels) or (scores is not None and len(scores) != len(levels)):
            raise DataValidationError(f"urgency model: {X.shape} vectors for {len(levels)} levels"
                                      + ("" if scores is None else f" and {len(scores)} scores"))
        self.uses_scores_ = scores is not None
        if self.uses_scores_:
            X = np.concatenate([X, score_bands(scores, len(X))], 1)
        y = np.array([class_of(str(level)) for level in levels])
        if int((y > 0).sum()) < 2 * self.folds:
            raise DataValidationError(f"urgency model: {int((y > 0).sum())} answers labelled high or critical; it needs "
                                      f"at least {2 * self.folds}")
        oof = np.zeros((len(X), 3))
        counts = np.bincount(y, minlength=3)
        splits = min(self.folds, int(counts[counts > 0].min()))
        if splits >= 2:
            folds = StratifiedKFold(splits, shuffle=True, random_state=self.random_state)
            for train, test in folds.split(X, y):
                oof[test] = Logistic.fit(X[train], y[train], self.C, "balanced").proba(X[test])
        self.oof_proba_ = oof if splits >= 2 else None
        self.critical_threshold_ = precision_threshold(oof[:, 2], y == 2, self.precision) if splits >= 2 else 1.01
        self.alert_threshold_ = precision_threshold(oof[:, 1] + oof[:, 2], y > 0, self.precision) if splits >= 2 else 1.01
        self.model_ = Logistic.fit(X, y, self.C, "balanced")
        self.n_examples_ = {URGENCY_CLASSES[k]: int(counts[k]) for k in range(3)}
        self.fusion_ = None
        return self

    def predict_proba(self, vectors: np.ndarray, scores: Sequence[float | None] | None = None) -> np.ndarray:
        """``[n, 3]`` probabilities of ``none``, ``high``, ``critical`` (``scores``: see :meth:`fit`; ignored by a
        model fitted without them)."""
        X = np.asarray(vectors, dtype=np.float64)
        if self.uses_scores_:
            X = np.concatenate([X, score_bands(scores, len(X))], 1)
        return self.model_.proba(X)

    def signal(self, vectors: np.ndarray, scores: Sequence[float | None] | None = None) -> list[dict[str, Any]]:
        """Per answer: ``critical`` = P(critical), ``high`` = P(high or critical), rounded, and ``level``: the
        level the model calls with its thresholds (``none`` when it is not sure)."""
        out = []
        for p in self.predict_proba(vectors, scores):
            critical, alert = float(p[2]), float(p[1] + p[2])
            level = "critical" if critical >= self.critical_threshold_ else "high" if alert >= self.alert_threshold_ \
                else "none"
            out.append({"critical": round(critical, 4), "high": round(alert, 4), "level": level})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"C": self.C, "precision": self.precision, "pooling": self.pooling, "critical_threshold": self.critical_threshold_,
                "alert_threshold": self.alert_threshold_, "n_examples": self.n_examples_,
                "uses_scores": self.uses_scores_, "model": self.model_.to_dict(),
                **({"fusion": self.fusion_.to_dict()} if getattr(self, "fusion_", None) is not None else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UrgencyModel:
        # models saved before pooling was a setting read the mean alone
        model = cls(C=float(data.get("C", 1.0)), precision=float(data.get("precision", 0.95)),
                    pooling=str(data.get("pooling", "mean")))
        model.critical_threshold_ = float(data["critical_threshold"])
        model.alert_threshold_ = float(data["alert_threshold"])
        model.n_examples_ = dict(data.get("n_examples", {}))
        model.model_ = Logistic.from_dict(data["model"])
        model.uses_scores_ = bool(data.get("uses_scores", False))
        model.fusion_ = None
        if data.get("fusion"):
            model.fusion_ = UrgencyFusion.from_dict(data["fusion"])
        return model

    def __repr__(self) -> str:
        fitted = f", fitted on {sum(self.n_examples_.values())} answers" if hasattr(self, "model_") else ""
        return f"UrgencyModel(precision={self.precision}{fitted})"
