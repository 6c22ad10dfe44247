"""The model registry: a directory of trained models with ids, and one *active* (promoted) model.

Layout::

    REGISTRY/
        models/<id>/        a model directory (config.json, weights, metrics.json, README.md model card)
        active.json         {"id": ..., "promoted_at": ..., "history": [...]}, replaced atomically

Promoting only rewrites ``active.json`` (write to a temporary file, then ``os.replace``), so a service that
watches :meth:`ModelRegistry.active_version` can load the new model next to the old one and swap them
without a restart and without dropping requests.

Example:
    >>> registry = ModelRegistry("registry")                      # doctest: +SKIP
    >>> entry = registry.register("models/my-run/model-best")     # doctest: +SKIP
    >>> registry.promote(entry.id)                                # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nps_nlp.errors import ConfigError, ModelLoadError
from nps_nlp.model_dir import shipped_default_model

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class ModelEntry:
    """One model in the registry.

    Attributes:
        id: the registry id (``<name>-<UTC timestamp>`` unless given).
        path: the model directory.
        created_at: when it was registered (ISO 8601, UTC).
        active: whether it is the promoted model.
        data_fingerprint: fingerprint of the training data (from the model's config).
        metrics: headline metrics (micro/macro-F1, polarity, sentiment) from ``metrics.json``.
        trained_with: library versions and training arguments from the model's config.
    """

    id: str
    path: Path
    created_at: str
    active: bool = False
    data_fingerprint: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_with: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: metrics[k] for k in ("micro_f1", "macro_f1", "n_examples") if k in metrics}
    if "theme_polarity" in metrics:
        out["theme_polarity"] = metrics["theme_polarity"].get("accuracy")
    if "sentiment" in metrics:
        out["sentiment_accuracy"] = metrics["sentiment"].get("accuracy")
    return out


class ModelRegistry:
    """A directory of models with one active model.

    Args:
        root: the registry directory (created on first write).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def _models(self) -> Path:
        return self.root / "models"

    @property
    def _active_file(self) -> Path:
        return self.root / "active.json"

    def _read_active(self) -> dict[str, Any]:
        try:
            return json.loads(self._active_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{self._active_file} is corrupt ({exc}); promote a model again to rewrite it") from None

    def _entry(self, path: Path, active_id: str | None) -> ModelEntry:
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            config = {}
        meta = config.get("metadata") or config  # train() stores its metadata at the top level of config.json
        registry_meta = config.get("registry") or {}
        metrics: dict[str, Any] = {}
        if (path / "metrics.json").is_file():
            metrics = _headline(json.loads((path / "metrics.json").read_text(encoding="utf-8")))
        created = registry_meta.get("created_at") or datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
        return ModelEntry(path.name, path, created, path.name == active_id, meta.get("data_fingerprint"), metrics,
                          {"versions": config.get("versions", {}), "training_arguments": meta.get("training_arguments", {})})

    def list(self) -> list[ModelEntry]:
        """All models, newest first."""
        if not self._models.is_dir():
            return []
        active_id = self._read_active().get("id")
        entries = [self._entry(p, active_id) for p in self._models.iterdir() if (p / "config.json").is_file()]
        return sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)

    def get(self, model_id: str) -> ModelEntry:
        """The model with this id.

        Raises:
            ModelLoadError: no such model (the message lists the known ids).
        """
        path = self._models / model_id
        if not (path / "config.json").is_file():
            known = ", ".join(e.id for e in self.list()) or "none"
            raise ModelLoadError(f"no model {model_id!r} in registry {self.root} (known: {known})")
        return self._entry(path, self._read_active().get("id"))

    def register(self, model_dir: str | Path, model_id: str | None = None) -> ModelEntry:
        """Copy a trained model directory into the registry.

        Args:
            model_dir: a model directory written by ``FeedbackClassifier.save`` / ``nps-nlp train``.
            model_id: registry id (default ``<directory name>-<UTC timestamp>``).

        Raises:
            ModelLoadError: ``model_dir`` is not a model directory.
            ConfigError: the id is malformed or already taken.
        """
        source = Path(model_dir)
        if not (source / "config.json").is_file():
            raise ModelLoadError(f"{source} is not a model directory (no config.json); train one with nps-nlp train")
        now = datetime.now(UTC)
        name = source.name if source.name not in ("model-best", "model-last") else f"{source.parent.name}-{source.name}"
        model_id = model_id or f"{name}-{now:%Y%m%dT%H%M%S}"
        if not _ID.match(model_id):
            raise ConfigError(f"model id {model_id!r} may only hold letters, digits, '.', '_' and '-'")
        target = self._models / model_id
        if target.exists():
            raise ConfigError(f"model id {model_id!r} is already in registry {self.root}; choose another --id")
        self._models.mkdir(parents=True, exist_ok=True)
        tmp = self._models / f".{model_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp)
        config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
        config["registry"] = {"id": model_id, "created_at": now.isoformat(), "source": str(source.resolve())}
        (tmp / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.rename(target)
        return self.get(model_id)

    def promote(self, model_id: str) -> ModelEntry:
        """Make ``model_id`` the active model (atomic; the previous one is kept in the history)."""
        entry = self.get(model_id)
        current = self._read_active()
        history = list(current.get("history", []))
        now = datetime.now(UTC).isoformat()
        history.append({"id": model_id, "promoted_at": now, "previous": current.get("id")})
        tmp = self.root / ".active.json.tmp"
        tmp.write_text(json.dumps({"id": model_id, "promoted_at": now, "history": history}, indent=2), encoding="utf-8")
        os.replace(tmp, self._active_file)
        entry.active = True
        return entry

    def active(self) -> ModelEntry | None:
        """The promoted model, or ``None`` when nothing was promoted."""
        model_id = self._read_active().get("id")
        return self.get(model_id) if model_id else None

    def active_version(self) -> tuple[str | None, str | None]:
        """``(id, promoted_at)`` of the active model: cheap to poll for changes."""
        data = self._read_active()
        return data.get("id"), data.get("promoted_at")


def resolve_model_path(model: str | Path | None = None) -> Path:
    """Which model to use: ``model`` if given, else ``NPS_MODEL``, else the registry's active model
    (``NPS_REGISTRY_DIR``), else the shipped default model."""
    from nps_nlp._settings import get_settings

    if model:
        return Path(model)
    settings = get_settings()
    if settings.model:
        return Path(settings.model)
    active = ModelRegistry(settings.registry_dir).active()
    return active.path if active else shipped_default_model()
