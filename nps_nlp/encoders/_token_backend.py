"""Token-level encoder: per-token states and character offsets of each answer, in torch or ONNX Runtime.

The classifier's head reads token states, not pooled sentence vectors. :class:`TokenEncoder` loads the same
sentence-transformers model as :class:`~nps_nlp.encoders.SentenceTransformerEncoder`, and runs its transformer
either in torch or, when ``NPS_ENCODER_BACKEND`` is ``onnx`` / ``onnx-int8``, in ONNX Runtime
(:class:`~nps_nlp.encoders._onnx.OnnxTransformer`, exported once per set of weights). As a
:class:`~nps_nlp.encoders.BaseEncoder` it also gives sentence vectors: the mean of the token states.

>>> from nps_nlp.encoders import load_token_encoder
>>> enc = load_token_encoder()                                              # doctest: +SKIP
>>> states, offsets = enc.token_states(["Snelle levering!"])               # doctest: +SKIP
>>> states[0].shape                                                         # doctest: +SKIP
torch.Size([7, 384])
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nps_nlp.encoders._base import BaseEncoder
from nps_nlp.encoders._precision import inference_autocast
from nps_nlp.encoders._row_blocks import make_batch_invariant

__all__ = ["TokenEncoder"]

# a fast tokenizer is one Rust object whose padding/truncation state a call may set: a service that runs several
# batches at once (NPS_MICROBATCH_WORKERS) tokenizes one batch at a time
_TOKENIZER_LOCK = threading.Lock()


class TokenEncoder(BaseEncoder):
    """A transformer encoder that returns token states (and, through :meth:`encode`, mean-pooled vectors).

    Args:
        model: the torch transformer (a ``transformers`` encoder model, ``model.encoder.layer`` its layers).
        tokenizer: its fast tokenizer (offsets are needed).
        name: identifier saved with trained models.
        prompts: the model's prompts (``{"query": "query: ", ...}``); :meth:`token_states` uses ``query``.
        dim: size of a token state.
        cache_dir: where exported ONNX graphs are kept.

    Attributes:
        model: the torch transformer; training tunes its top layers in place.
        onnx: the transformer exported to ONNX Runtime once :meth:`token_states` used it, else ``None``; set it to
            ``None`` to go back to torch (a later call with an ONNX backend exports or finds the graph again).
    """

    def __init__(self, model: Any, tokenizer: Any, *, name: str, prompts: dict[str, str] | None, dim: int,
                 cache_dir: str | Path | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.prompts = dict(prompts or {})
        self.prefix = str(self.prompts.get("query") or "")
        self.dim = dim
        self.cache_dir = cache_dir
        self.onnx: Any = None
        # the same bits for an answer in any batch, on CPUs whose bfloat16 product depends on the row count
        self.row_blocks = model.device.type == "cpu" and make_batch_invariant(model)

    @property
    def device(self) -> Any:
        """The torch device the transformer is on."""
        return self.model.device

    @property
    def layers(self) -> Any:
        """The transformer's layers (``model.encoder.layer``), bottom first."""
        return self.model.encoder.layer

    def token_counts(self, texts: Sequence[str], max_length: int, prefix: str | None = None) -> list[int]:
        """Tokens per text (``prefix``, default the query prompt, and special tokens included; at most
        ``max_length``)."""
        prefix = self.prefix if prefix is None else prefix
        with _TOKENIZER_LOCK:
            ids = self.tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)
        return [len(x) for x in ids["input_ids"]]

    def tokenize(self, texts: Sequence[str], max_length: int, length: int | None = None, prefix: str | None = None
                 ) -> Any:
        """Token ids, mask and offsets as torch tensors, padded to ``length`` tokens (default: the longest text);
        each text is preceded by ``prefix`` (default: the query prompt)."""
        prefix = self.prefix if prefix is None else prefix
        with _TOKENIZER_LOCK:
            return self.tokenizer(
                [prefix + t for t in texts], padding="max_length" if length else True, truncation=True,
                max_length=length or max_length, return_offsets_mapping=True, return_tensors="pt",
            )

    def onnx_runtime(self, *, exact: bool = False) -> Any:
        """The transformer in ONNX Runtime when ``NPS_ENCODER_BACKEND`` is ``onnx`` or ``onnx-int8`` (exported on
        first use, cached by a fingerprint of its weights, so a fine-tuned encoder gets its own graph), else
        ``None``. ``exact``: never the int8 graph (training features come from the float32 encoder). A
        transformer off the CPU always runs in torch."""
        from nps_nlp._settings import get_settings

        settings = get_settings()
        if settings.encoder_backend not in ("onnx", "onnx-int8"):
            return None
        quantize = settings.encoder_backend == "onnx-int8"
        if (quantize and exact) or self.model.device.type != "cpu":
            return None
        if self.onnx is None or self.onnx.quantized != quantize:
            from nps_nlp.encoders._onnx import OnnxTransformer

            self.onnx = OnnxTransformer(self.model, self.tokenizer, self.cache_dir or settings.cache_dir,
                                        quantize=quantize, threads=settings.encoder_threads, verbose=True)
        return self.onnx

    def token_states(self, texts: Sequence[str], *, batch_size: int = 32, max_length: int = 128,
                     layer: int | None = None, exact: bool = False, show_progress_bar: bool = False,
                     desc: str = "encoding", prompt: str = "query") -> tuple[list, list]:
        """Token states ``[T_i, D]`` (float32 torch tensors) and character offsets ``[T_i, 2]`` (numpy, into the
        text, the prompt removed) of each text, in the order given.

        Texts are batched by :func:`nps_nlp._network.bucketed_batches` and padded to their bucket's length, so a
        text's states do not depend on the other texts of a call.

        Args:
            texts: the texts.
            batch_size: texts per forward pass.
            max_length: tokens per text (longer texts are truncated).
            layer: the output of that many layers instead of the last (0: the embeddings); always torch.
            exact: never run the int8 graph (see :meth:`onnx_runtime`).
            show_progress_bar: a progress bar for more than one batch.
            desc: the progress bar's label.
            prompt: the model's prompt put before each text (``query`` or ``passage`` for e5 models).
        """
        from nps_nlp._network import bucketed_batches

        if not len(texts):  # the tokenizer cannot take an empty batch
            return [], []
        states: list[Any] = [None] * len(texts)
        offsets: list[Any] = [None] * len(texts)
        prefix = self.prefix if prompt == "query" else str(self.prompts.get(prompt) or "")
        batches: Any = bucketed_batches(self.token_counts(texts, max_length, prefix), batch_size, cap=max_length)
        if show_progress_bar and len(texts) > batch_size:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=desc, unit="batch")
        shift = len(prefix)
        onnx = self.onnx_runtime(exact=exact) if layer is None else None
        for length, idx in batches:
            enc = self.tokenize([texts[i] for i in idx], max_length, length, prefix)
            mask = enc["attention_mask"].bool()
            hidden = self._hidden(enc, layer, onnx if onnx is not None and onnx.serves(len(idx)) else None)
            for row, i in enumerate(idx):
                n = int(mask[row].sum())
                states[i] = hidden[row, :n].clone()
                offsets[i] = enc["offset_mapping"][row, :n].numpy() - shift
        return states, offsets

    def _hidden(self, enc: Any, layer: int | None, onnx: Any) -> Any:
        """The padded batch's states ``[B, T, D]`` (float32, CPU) from ONNX Runtime or torch."""
        import torch

        if onnx is not None:
            return torch.from_numpy(onnx(enc["input_ids"].numpy(), enc["attention_mask"].numpy()))
        device = self.model.device
        with torch.no_grad(), inference_autocast(device=device.type):
            out = self.model(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                             output_hidden_states=layer is not None)
        return (out.last_hidden_state if layer is None else out.hidden_states[layer]).float().cpu()

    def _encode(self, texts: list[str], *, prompt: str, batch_size: int | None, show_progress_bar: bool) -> np.ndarray:
        """Mean of the token states (prompt tokens included, as sentence-transformers pools), L2-normalised."""
        import torch

        states = self.token_states(texts, batch_size=batch_size or 32, max_length=512,
                                   show_progress_bar=show_progress_bar, prompt=prompt)[0]
        vectors = torch.stack([s.mean(0) for s in states])
        return (vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()

