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

    @abstractmethod
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"
