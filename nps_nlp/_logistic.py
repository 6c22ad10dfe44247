"""A multinomial logistic regression kept as plain arrays: fitted with scikit-learn, saved as JSON (no pickle),
applied with numpy. Used by the score fusion and the urgency model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_nlp.errors import DataValidationError


@dataclass
class Logistic:
    """A fitted multinomial logistic regression kept as plain arrays (saved as JSON, no pickle)."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    def proba(self, X: np.ndarray, n_classes: int = 3) -> np.ndarray:
        """``[n, n_classes]`` probabilities (classes absent from the training labels get 0)."""
        logits = X @ self.coef.T + self.intercept
        logits -= logits.max(1, keepdims=True)
        exp = np.exp(logits)
        p = exp / exp.sum(1, keepdims=True)
        out = np.zeros((len(X), n_classes))
        out[:, self.classes] = p
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"coef": self.coef.tolist(), "intercept": self.intercept.tolist(), "classes": self.classes.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        return cls(np.asarray(data["coef"], dtype=np.float64), np.asarray(data["intercept"], dtype=np.float64),
                   np.asarray(data["classes"], dtype=np.int64))

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, C: float, class_weight: str | None = None) -> Logistic:
        """Fit on features ``X`` and integer classes ``y`` (at least two distinct)."""
        from sklearn.linear_model import LogisticRegression

        classes = np.unique(y)
        if len(classes) < 2:
            raise DataValidationError(f"a logistic regression needs at least two classes, got {classes.tolist()}")
        model = LogisticRegression(C=C, max_iter=3000, class_weight=class_weight).fit(X, y)
        coef, intercept = model.coef_, model.intercept_
        if len(classes) == 2:  # scikit-learn keeps one row for two classes: make it a two-row softmax
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        return cls(coef, intercept, model.classes_.astype(np.int64))
