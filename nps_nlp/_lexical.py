"""A lexical view of theme detection: character and word n-gram TF-IDF with one logistic regression per
theme. It sees spelling the encoder's frozen states blur (dish names, product words, typos) and is blended
into the label-attention head's probabilities (``lexical_weight``).

It is fitted with scikit-learn and then kept as plain arrays (:class:`nps_nlp._tfidf.NgramTfidf` per vectorizer,
the regressions stacked into one weight matrix), saved as JSON and safetensors and applied with numpy: loading
and predicting neither imports scikit-learn nor unpickles anything, and gives scikit-learn's numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nps_nlp._tfidf import NgramTfidf, Sparse

__all__ = ["LexicalThemeModel"]

#: ``format`` of the saved JSON part, checked when it is read
FORMAT = "nps-nlp-lexical/1"


class LexicalThemeModel:
    """Per-theme logistic regressions on char(2-5) + word(1-2) TF-IDF features.

    Args:
        C: inverse regularisation strength of each regression.
        random_state: seed for the solvers.

    Attributes (fitted):
        char_, word_: the two vectorizers as plain data.
        weights_: ``[n_features, n_labels]`` regression weights over the char then word columns.
        bias_: ``[n_labels]`` intercepts.
        constant_: ``[n_labels]`` the fixed probability of a theme that had one class only in training, NaN for
            the others.
    """

    char_: NgramTfidf
    word_: NgramTfidf
    weights_: np.ndarray
    bias_: np.ndarray
    constant_: np.ndarray

    def __init__(self, C: float = 10.0, random_state: int = 0) -> None:
        self.C = C
        self.random_state = random_state

    def fit(self, texts: Sequence[str], targets: np.ndarray) -> LexicalThemeModel:
        """Fit on texts and a ``[n, n_labels]`` 0/1 matrix; labels with one class only predict that class."""
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
        word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        texts = list(texts)
        features = hstack([char.fit_transform(texts), word.fit_transform(texts)]).tocsr()
        models: list[Any] = []
        for j in range(targets.shape[1]):
            y = targets[:, j] > 0.5
            if y.all() or not y.any():
                models.append(float(y.mean()))
            else:
                model = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced", random_state=self.random_state)
                models.append(model.fit(features, y))
        self._set_fitted(char, word, models)
        return self

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LexicalThemeModel:
        """The model a pickled (``lexical.joblib``) model's attributes describe: ``C``, ``random_state``, the
        fitted vectorizers ``char_`` and ``word_`` and ``models_``, one fitted binary logistic regression or
        constant probability per theme. The objects may be scikit-learn's or plain attribute holders.

        Raises:
            ValueError: the state is not of such a model.
        """
        model = cls(C=float(state.get("C", 10.0)), random_state=int(state.get("random_state", 0)))
        missing = {"char_", "word_", "models_"} - set(state)
        if missing:
            raise ValueError(f"not a fitted lexical theme model: {sorted(missing)} missing")
        model._set_fitted(state["char_"], state["word_"], list(state["models_"]))
        return model

    def _set_fitted(self, char: Any, word: Any, models: list[Any]) -> None:
        """Keep fitted vectorizers and per-theme regressions (or constants) as plain data."""
        self.char_, self.word_ = NgramTfidf.from_sklearn(char), NgramTfidf.from_sklearn(word)
        n_features = len(self.char_.vocabulary) + len(self.word_.vocabulary)
        self.weights_ = np.zeros((n_features, len(models)), dtype=np.float64)
        self.bias_ = np.zeros(len(models), dtype=np.float64)
        self.constant_ = np.full(len(models), np.nan)
        for j, model in enumerate(models):
            if isinstance(model, float):
                self.constant_[j] = model
                continue
            fitted = vars(model)
            coef, classes = np.asarray(fitted["coef_"], dtype=np.float64), list(fitted["classes_"])
            if coef.shape != (1, n_features) or classes != [False, True]:
                raise ValueError(f"theme {j}: expected a binary regression over {n_features} features with classes "
                                 f"[False, True], got coef {coef.shape} and classes {classes}")
            self.weights_[:, j] = coef[0]
            self.bias_[j] = float(np.asarray(fitted["intercept_"]).reshape(-1)[0])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``[n, n_labels]`` probabilities (float32)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.bias_)), dtype=np.float32)
        if not texts:
            return out
        features = Sparse.hstack([self.char_.transform(texts), self.word_.transform(texts)])
        # one product for all themes, summed in scikit-learn's order: the numbers of one predict_proba per theme
        logits = features.dot(self.weights_) + self.bias_
        out[:] = 1.0 / (1.0 + np.exp(-logits))
        fixed = ~np.isnan(self.constant_)
        out[:, fixed] = self.constant_[fixed]
        return out

    def save(self, meta_path: str | Path, arrays_path: str | Path) -> None:
        """Write the settings and vocabularies as JSON (``meta_path``) and the arrays as safetensors."""
        from safetensors.numpy import save_file

        arrays = {"weights": self.weights_, "bias": self.bias_, "constant": self.constant_}
        for name, vectorizer in (("char", self.char_), ("word", self.word_)):
            if vectorizer.idf is not None:
                arrays[f"{name}.idf"] = vectorizer.idf
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(arrays_path))
        meta = {"format": FORMAT, "C": self.C, "random_state": self.random_state,
                "char": self.char_.options(), "word": self.word_.options()}
        Path(meta_path).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, meta_path: str | Path, arrays_path: str | Path) -> LexicalThemeModel:
        """The model :meth:`save` wrote.

        Raises:
            ValueError: the JSON part is not of this format.
        """
        from safetensors.numpy import load_file

        meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{meta_path}: lexical model format {meta.get('format')!r}, expected {FORMAT!r}")
        arrays = load_file(str(arrays_path))
        model = cls(C=meta["C"], random_state=meta["random_state"])
        model.char_ = NgramTfidf.from_options(meta["char"], arrays.get("char.idf"))
        model.word_ = NgramTfidf.from_options(meta["word"], arrays.get("word.idf"))
        model.weights_, model.bias_, model.constant_ = arrays["weights"], arrays["bias"], arrays["constant"]
        n_features = len(model.char_.vocabulary) + len(model.word_.vocabulary)
        if model.weights_.shape != (n_features, len(model.bias_)):
            raise ValueError(f"{arrays_path}: weights {model.weights_.shape} for {n_features} n-grams")
        return model
