"""Encoder backed by sentence-transformers (torch): the default backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nps_nlp.encoders._base import BaseEncoder
from nps_nlp.encoders._precision import inference_autocast
from nps_nlp.errors import EncoderError, MissingDependencyError


@contextmanager
def quiet_weight_loading() -> Iterator[None]:
    """Without transformers' per-call "Loading weights" / "Writing model shards" progress bars (a bar for a
    sub-second step is noise in a CLI's output and in service logs); the previous setting is restored."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class SentenceTransformerEncoder(BaseEncoder):
    """Wraps any sentence-transformers model: a local directory or a hub id.

    Args:
        model_name_or_path: directory or hub id (a hub id needs network access).
        name: identifier saved with trained models (defaults to ``model_name_or_path``).
        device: torch device, ``"cpu"`` by default.
        batch_size: default batch size.
    """

    def __init__(self, model_name_or_path: str | Path, *, name: str | None = None, device: str = "cpu",
                 batch_size: int = 64) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise MissingDependencyError("sentence-transformers") from exc
        try:
            with quiet_weight_loading():
                self.model = SentenceTransformer(str(model_name_or_path), device=device)
        except Exception as exc:
            raise EncoderError(
                f"could not load the sentence-transformers model {str(model_name_or_path)!r}: {exc}. "
                "Give a local model directory, or a hub id when a model hub is reachable."
            ) from exc
        self.name = name or str(model_name_or_path)
        self.dim = int(self.model.get_embedding_dimension() or 0)
        self.batch_size = batch_size

    def _encode(self, texts: list[str], *, prompt: str, batch_size: int | None, show_progress_bar: bool) -> np.ndarray:
        prompt_name = prompt if prompt in (self.model.prompts or {}) else None
        with inference_autocast(device=str(self.model.device.type)):
            vectors = self.model.encode(
                texts, prompt_name=prompt_name, batch_size=batch_size or self.batch_size,
                show_progress_bar=show_progress_bar, convert_to_tensor=True, normalize_embeddings=True,
            )
        return vectors.float().cpu().numpy()
