"""The served model: loaded once, reloaded next to the old one and swapped atomically on promotion."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from api.services.heap import freeze_heap
from nps_nlp.registry import ModelRegistry, shipped_default_model

log = logging.getLogger("nps_nlp.api.models")


# answers of two sentences in each language family, so the lazily built parts (language models, spaCy's sentence
# splitter per family: up to 1 s each) are built before the first request rather than stalling a live batch
WARM_UP = ["The invoice was wrong. Nobody called back.", "De factuur klopte niet. Niemand belde terug.",
           "Fakturaen var feil. Ingen ringte tilbake.", "Rekninga var feil. Ingen ringde attende."]


class Pipeline(Protocol):
    """What the service needs from a pipeline (``FeedbackPipeline`` or a test double)."""

    @property
    def taxonomy(self) -> Any: ...

    def analyze(self, texts: Any, scores: Any = None, langs: Any = None) -> list[Any]: ...


@dataclass
class LoadedModel:
    """A pipeline with where it came from."""

    pipeline: Pipeline
    model_id: str
    path: Path | None
    source: str  # "setting", "registry", "default" or "injected"
    registry_version: tuple[str | None, str | None] = (None, None)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def card(self) -> str | None:
        if self.path is not None and (self.path / "README.md").is_file():
            return (self.path / "README.md").read_text(encoding="utf-8")
        return None

    def metrics(self) -> dict[str, Any] | None:
        if self.path is not None and (self.path / "metrics.json").is_file():
            data: dict[str, Any] = json.loads((self.path / "metrics.json").read_text(encoding="utf-8"))
            return data
        return None


def _load_pipeline(path: Path) -> Pipeline:
    from nps_nlp.pipeline import FeedbackPipeline

    return FeedbackPipeline.load(path)


class ModelManager:
    """Holds the active :class:`LoadedModel`; ``current`` is swapped in one assignment.

    Args:
        model: a pinned model directory (``NPS_MODEL``), or ``None`` to follow the registry.
        registry_dir: the registry to follow.
        loader: builds a pipeline from a model directory (tests pass a fake).
    """

    def __init__(self, model: Path | None, registry_dir: Path, loader: Callable[[Path], Pipeline] = _load_pipeline) -> None:
        self.model = model
        self.registry = ModelRegistry(registry_dir)
        self.loader = loader
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()

    @classmethod
    def injected(cls, pipeline: Pipeline, model_id: str = "injected", registry_dir: Path = Path("registry")) -> ModelManager:
        """A manager around a ready pipeline (tests, embedding)."""
        manager = cls(None, registry_dir)
        manager._current = LoadedModel(pipeline, model_id, None, "injected")
        manager.loader = lambda path: pipeline
        return manager

    @property
    def current(self) -> LoadedModel:
        if self._current is None:
            raise RuntimeError("no model loaded yet")
        return self._current

    @property
    def ready(self) -> bool:
        return self._current is not None

    def _resolve(self) -> tuple[Path, str, str, tuple[str | None, str | None]]:
        if self.model is not None:
            return self.model, self.model.name, "setting", (None, None)
        version = self.registry.active_version()
        if version[0]:
            entry = self.registry.get(version[0])
            return entry.path, entry.id, "registry", version
        return shipped_default_model(), "default", "default", version

    def load(self) -> LoadedModel:
        """Load the model that should be active and swap it in (the old one keeps serving until then)."""
        with self._lock:
            path, model_id, source, version = self._resolve()
            log.info("loading model", extra={"model_id": model_id, "path": str(path), "source": source})
            pipeline = self.loader(path)
            # warm up before serving: lazy parts (language detector, first forward pass) load now, not on a request
            pipeline.analyze(WARM_UP, [0, 5, 9, 10], None)
            self._current = LoadedModel(pipeline, model_id, path, source, version)
            freeze_heap()
            log.info("model active", extra={"model_id": model_id})
            return self._current

    def stale(self) -> bool:
        """Was another model promoted in the registry since the current one was loaded?"""
        if self.model is not None or self._current is None:
            return False
        return self.registry.active_version() != self._current.registry_version

    async def watch(self, interval_s: float, on_reload: Callable[[LoadedModel], None] | None = None) -> None:
        """Poll the registry and reload when a new model was promoted (runs until cancelled)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                if await asyncio.to_thread(self.stale):
                    loaded = await asyncio.to_thread(self.load)
                    if on_reload is not None:
                        on_reload(loaded)
            except Exception:  # keep serving the old model; the next poll retries
                log.exception("model reload failed; still serving the previous model")
