"""Urgency fusion: one learned decision from the cue phrases, the model's reading and the NPS score.

The cue phrases (:mod:`nps_nlp.urgency`) are precise on what they name but blind to the rest of the answer: "no one
was hurt" still holds "hurt", and a scorched cable "replaced there and then" still holds "scorched". The learned
reading (:mod:`nps_nlp.urgency_model`) sees the whole answer but is unsure of situations it has few examples of.
:class:`UrgencyFusion` weighs the two: a multinomial logistic regression over ``none``, ``high`` and ``critical``
whose inputs are what the cues see (:meth:`nps_nlp.urgency.UrgencyDetector.cue_features`: which cues matched,
which matched only negated or figuratively, which sit in a sentence with a negator, whether the problem was solved,
the level the cue rules give), the model's probabilities of ``critical`` and of an alert (as log-odds) and the
score's band. It is fitted on out-of-fold probabilities of the model, so it learns how far to trust the model on
answers the model has not seen; its two thresholds are chosen out of fold as well, at the precision alerts promise.

Example:
    >>> fusion = UrgencyFusion().fit(features, critical, alert, scores, levels)     # doctest: +SKIP
    >>> fusion.decide(features[0], critical[0], alert[0], scores[0])                # doctest: +SKIP
    ('critical', 0.97, 0.99)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_nlp._logistic import Logistic
from nps_nlp._urgency_levels import class_of, precision_threshold, score_bands
from nps_nlp.errors import DataValidationError

__all__ = ["UrgencyFusion"]

_EPS = 1e-4


def _log_odds(p: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


class UrgencyFusion:
    """The urgency level of an answer from its cue features, the model's probabilities and its score.

    Args:
        C: inverse regularisation of the logistic regression.
        precision: the precision its ``critical`` calls and its alerts must reach out of fold. A step above the
            learned reading's own (0.95): the fusion decides every alert, including those a cue alone used to raise,
            so its false alerts on calm answers are the product's.
        folds: folds for the out-of-fold thresholds.
        random_state: seed of the fold split.
    """

    def __init__(self, C: float = 0.3, precision: float = 0.96, folds: int = 5, random_state: int = 1) -> None:
        if not 0.5 <= precision < 1.0:
            raise DataValidationError(f"urgency fusion: precision {precision} must be at least 0.5 and below 1")
        self.C = C
        self.precision = precision
        self.folds = folds
        self.random_state = random_state

    def _raw(self, features: Sequence[dict[str, float]], critical: Sequence[float] | np.ndarray,
             alert: Sequence[float] | np.ndarray, scores: Sequence[float | None]) -> np.ndarray:
        """Unscaled inputs: the cue features in :attr:`feature_names_` order (0 for a name an answer lacks, e.g.
        a cue of another cue file), the two log-odds and the score's band."""
        cues = np.array([[float(f.get(name, 0.0)) for name in self.feature_names_] for f in features],
                        dtype=np.float64).reshape(len(features), len(self.feature_names_))
        return np.concatenate([cues, _log_odds(critical)[:, None], _log_odds(alert)[:, None],
                               score_bands(scores, len(features))], 1)

    def fit(self, features: Sequence[dict[str, float]], critical: Sequence[float], alert: Sequence[float],
            scores: Sequence[float | None] | None, levels: Sequence[str]) -> UrgencyFusion:
        """Fit on the training answers.

        Args:
            features: per answer, :meth:`~nps_nlp.urgency.UrgencyDetector.cue_features`.
            critical, alert: per answer, the learned reading's out-of-fold probability of ``critical`` and of
                ``high`` or ``critical`` (probabilities of answers it trained on would make it look infallible).
            scores: 0-10 scores (``None`` where missing, or ``None`` for all).
            levels: gold levels (``low`` and ``medium`` count as ``none``).

        Raises:
            DataValidationError: lengths differ, unknown levels, or too few urgent answers for the folds.
        """
        from sklearn.model_selection import StratifiedKFold

        n = len(levels)
        scores = list(scores) if scores is not None else [None] * n
        if not (len(features) == len(critical) == len(alert) == len(scores) == n):
            raise DataValidationError(f"urgency fusion: {len(features)} feature rows, {len(critical)} / {len(alert)} "
                                      f"probabilities, {len(scores)} scores and {n} levels")
        y = np.array([class_of(str(level)) for level in levels])
        counts = np.bincount(y, minlength=3)
        if counts.min() < self.folds:
            raise DataValidationError(f"urgency fusion: it needs at least {self.folds} answers of each of none, high "
                                      f"and critical; got {counts.tolist()}")
        self.feature_names_ = sorted({name for f in features for name in f})
        raw = self._raw(features, critical, alert, scores)
        self.mean_, self.scale_ = raw.mean(0), raw.std(0) + 1e-6
        X = (raw - self.mean_) / self.scale_
        oof = np.zeros((n, 3))
        for train, test in StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state).split(X, y):
            oof[test] = Logistic.fit(X[train], y[train], self.C).proba(X[test])
        self.critical_threshold_ = precision_threshold(oof[:, 2], y == 2, self.precision, lowest=0.05)
        self.alert_threshold_ = precision_threshold(oof[:, 1] + oof[:, 2], y > 0, self.precision, lowest=0.05)
        self.model_ = Logistic.fit(X, y, self.C)
        self.n_examples_ = {name: int(counts[k]) for k, name in enumerate(("none", "high", "critical"))}
        return self

    def predict_proba(self, features: Sequence[dict[str, float]], critical: Sequence[float], alert: Sequence[float],
                      scores: Sequence[float | None] | None = None) -> np.ndarray:
        """``[n, 3]`` probabilities of ``none``, ``high``, ``critical``."""
        scores = list(scores) if scores is not None else [None] * len(features)
        return self.model_.proba((self._raw(features, critical, alert, scores) - self.mean_) / self.scale_)

    def decide(self, features: dict[str, float], critical: float, alert: float, score: float | None = None
               ) -> tuple[str, float, float]:
        """The level of one answer (``critical``, ``high`` or ``none``) with the fused probabilities of ``critical``
        and of an alert."""
        p = self.predict_proba([features], [critical], [alert], [score])[0]
        p_critical, p_alert = float(p[2]), float(p[1] + p[2])
        level = "critical" if p_critical >= self.critical_threshold_ else "high" \
            if p_alert >= self.alert_threshold_ else "none"
        return level, round(p_critical, 4), round(p_alert, 4)

    def to_dict(self) -> dict[str, Any]:
        return {"C": self.C, "precision": self.precision, "feature_names": self.feature_names_,
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "critical_threshold": self.critical_threshold_, "alert_threshold": self.alert_threshold_,
                "n_examples": self.n_examples_, "model": self.model_.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UrgencyFusion:
        fusion = cls(C=float(data["C"]), precision=float(data["precision"]))
        fusion.feature_names_ = [str(name) for name in data["feature_names"]]
        fusion.mean_ = np.asarray(data["mean"], dtype=np.float64)
        fusion.scale_ = np.asarray(data["scale"], dtype=np.float64)
        fusion.critical_threshold_ = float(data["critical_threshold"])
        fusion.alert_threshold_ = float(data["alert_threshold"])
        fusion.n_examples_ = dict(data.get("n_examples", {}))
        fusion.model_ = Logistic.from_dict(data["model"])
        return fusion

    def __repr__(self) -> str:
        fitted = f", fitted on {sum(self.n_examples_.values())} answers" if hasattr(self, "model_") else ""
        return f"UrgencyFusion(precision={self.precision}{fitted})"
