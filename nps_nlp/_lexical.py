"""A lexical view of theme detection: character and word n-gram TF-IDF with one logistic regression per
theme. It sees spelling the encoder's frozen states blur (dish names, product words, typos) and is blended
into the label-attention head's probabilities (``lexical_weight``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class LexicalThemeModel:
    """Per-theme logistic regressions on char(2-5) + word(1-2) TF-IDF features.

    Args:
        C: inverse regularisation strength of each regression.
        random_state: seed for the solvers.
    """

    def __init__(self, C: float = 10.0, random_state: int = 0) -> None:
        self.C = C
        self.random_state = random_state

    def fit(self, texts: Sequence[str], targets: np.ndarray) -> LexicalThemeModel:
        """Fit on texts and a ``[n, n_labels]`` 0/1 matrix; labels with one class only predict that class."""
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
        self.word_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        texts = list(texts)
        features = hstack([self.char_.fit_transform(texts), self.word_.fit_transform(texts)]).tocsr()
        self.models_: list[Any] = []
        for j in range(targets.shape[1]):
            y = targets[:, j] > 0.5
            if y.all() or not y.any():
                self.models_.append(float(y.mean()))
            else:
                model = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced", random_state=self.random_state)
                self.models_.append(model.fit(features, y))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``[n, n_labels]`` probabilities."""
        from scipy.sparse import hstack
        from sklearn import config_context

        texts = list(texts)
        out = np.zeros((len(texts), len(self.models_)), dtype=np.float32)
        if not texts:
            return out
        # the vectorizers were fitted here and get plain strings: skip scikit-learn's per-call checks, a third of
        # the time of a call on a few answers (a service's micro-batch)
        with config_context(assume_finite=True, skip_parameter_validation=True):
            features = hstack([self.char_.transform(texts), self.word_.transform(texts)]).tocsr()
        weights, bias, constant = self._stacked()
        # one sparse product for all themes instead of one predict_proba call per theme (same numbers)
        logits = np.asarray(features @ weights).reshape(len(texts), -1) + bias
        out[:] = 1.0 / (1.0 + np.exp(-logits))
        fixed = ~np.isnan(constant)
        out[:, fixed] = constant[fixed]
        return out

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The per-theme regressions as one weight matrix ``[n_features, n_labels]``, biases, and the constant
        probability of single-class themes (NaN elsewhere); built once."""
        cached = getattr(self, "_stack", None)
        if cached is None:
            n_features = len(self.char_.vocabulary_) + len(self.word_.vocabulary_)
            weights = np.zeros((n_features, len(self.models_)), dtype=np.float64)
            bias = np.zeros(len(self.models_))
            constant = np.full(len(self.models_), np.nan)
            for j, model in enumerate(self.models_):
                if isinstance(model, float):
                    constant[j] = model
                else:
                    weights[:, j] = model.coef_[0]
                    bias[j] = model.intercept_[0]
            cached = self._stack = (weights, bias, constant)
        return cached
