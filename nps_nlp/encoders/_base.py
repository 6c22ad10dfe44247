"""The encoder plug-in interface: anything that turns texts into L2-normalised vectors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class BaseEncoder(ABC):
    """Turns texts into L2-normalised ``float32`` vectors of size :attr:`dim`.

    Attributes:
        name: identifier saved with a trained model so it can be reloaded with the same encoder.
        dim: vector size.
    """

    name: str
    dim: int

    def encode(
        self,
        texts: Sequence[str],
        *,
        prompt: str = "query",
        batch_size: int | None = None,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """Encode texts.

        Args:
            texts: the texts; an empty sequence gives an array of shape ``(0, dim)``.
            prompt: ``"query"`` or ``"passage"`` for e5-style models; ignored by models without prompts.
            batch_size: texts per forward pass (``None``: the encoder's default).
            show_progress_bar: show a progress bar for long inputs.

        Returns:
            Array of shape ``(len(texts), dim)``, rows L2-normalised.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, prompt=prompt, batch_size=batch_size, show_progress_bar=show_progress_bar)

    @abstractmethod
    def _encode(self, texts: list[str], *, prompt: str, batch_size: int | None, show_progress_bar: bool) -> np.ndarray:
        """Encode a non-empty list of texts (the backend's part of :meth:`encode`)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"
