"""ONNX Runtime backend: the transformer is exported to ONNX once, cached by a fingerprint of its weights,
and run with ONNX Runtime.

Same float32 results as torch (token states agree to rounding), and faster on the small batches of a real-time
service; on larger batches torch in native bfloat16 is faster, so where the CPU runs bfloat16 natively the
classifier sends only batches of up to :data:`SMALL_BATCH` answers to ONNX Runtime (:meth:`OnnxTransformer.serves`).
Training always runs in torch; only inference uses the exported graph.

>>> from nps_nlp.encoders import load_encoder
>>> load_encoder(backend="onnx").encode(["Snelle levering!"]).shape       # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nps_nlp.encoders._quantize import quantize_onnx
from nps_nlp.encoders._sentence_transformers import SentenceTransformerEncoder
from nps_nlp.errors import EncoderError, MissingDependencyError

__all__ = ["SMALL_BATCH", "OnnxEncoder", "OnnxTransformer", "quantize_onnx", "run_each_alone"]

#: Largest batch that ONNX Runtime (float32) runs faster than torch in native bfloat16.
SMALL_BATCH = 8


def _physical_cores() -> int:
    """The cores ONNX Runtime would use by default (physical cores where psutil knows them)."""
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except ImportError:  # pragma: no cover - psutil comes with the service and benchmarks
        return max(1, os.cpu_count() or 1)


def run_each_alone(session: Any, pool: Any, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Token states ``[batch, tokens, dim]`` of a padded batch with each answer run alone on its own tokens (its
    ``mask`` positions), the answers spread over ``pool`` (a ``concurrent.futures`` executor); padded positions
    are left zero. An answer's states then do not depend on the others in the batch, nor on the padding."""
    keeps = [row.astype(bool) for row in mask]

    def one(row: int) -> np.ndarray:
        return session.run(None, {"input_ids": ids[row : row + 1, keeps[row]],
                                  "attention_mask": mask[row : row + 1, keeps[row]]})[0][0]

    rows = list(pool.map(one, range(len(ids))))
    out = np.zeros((*ids.shape, rows[0].shape[-1] if rows else 0), dtype=np.float32)
    for row, states in enumerate(rows):
        out[row, keeps[row]] = states
    return out


def _weights_fingerprint(backbone: Any) -> str:
    """A hash of every weight and buffer of the transformer (and its class), so a tuned encoder gets its own
    exported graph. A 4-bit word-embedding table is hashed as the float32 table it stands for, a slice at a time,
    so that the compact and the plain model share one graph."""
    import torch

    from nps_nlp.encoders._q4_embedding import Q4Embedding

    def as_bytes(tensor: Any) -> bytes:
        return tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()

    compact = {f"{name}.blocks": (name, module) for name, module in backbone.named_modules()
               if isinstance(module, Q4Embedding)}
    digest = hashlib.blake2b(type(backbone).__name__.encode(), digest_size=16)
    for name, tensor in backbone.state_dict().items():
        if name in compact:
            module_name, module = compact[name]
            digest.update(f"{module_name}.weight".encode())
            for rows in module.row_chunks():
                digest.update(as_bytes(rows))
            continue
        digest.update(name.encode())
        digest.update(as_bytes(tensor))
    return digest.hexdigest()


def export_onnx(backbone: Any, tokenizer: Any, path: Path) -> Path:
    """Export a transformers encoder (``input_ids``, ``attention_mask`` -> last hidden state) to ``path``.

    The export traces a copy, so the live model is left untouched (a 4-bit word-embedding table is exported as
    the plain float32 lookup it stands for); dynamic batch and sequence axes; written to a temporary file and
    renamed, so an interrupted export leaves no half-written graph behind."""
    import torch

    from nps_nlp.encoders._q4_embedding import plain_word_embeddings

    class LastHiddenState(torch.nn.Module):  # keyword call: the exporter passes inputs by position
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    path.parent.mkdir(parents=True, exist_ok=True)
    model = LastHiddenState(plain_word_embeddings(copy.deepcopy(backbone)).float().eval())
    # two answers of different lengths: the trace must see padding so the attention mask stays in the graph
    enc = tokenizer(["query: a short answer", "query: a somewhat longer answer with a few more words in it"],
                    padding=True, return_tensors="pt")
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (enc["input_ids"], enc["attention_mask"]), str(tmp), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17)
    tmp.replace(path)
    return path


class OnnxTransformer:
    """A transformer encoder run by ONNX Runtime: ``model(input_ids, attention_mask)`` -> token states.

    Args:
        backbone: the torch transformer (a ``transformers`` encoder model) to export.
        tokenizer: its tokenizer (for the export's example inputs).
        cache_dir: where exported graphs are kept (``<cache_dir>/onnx/<fingerprint>.onnx``).
        quantize: run the int8 graph (``<fingerprint>-int8-sq1.onnx``, made once, calibrated on the shipped
            answers): see :func:`nps_nlp.encoders._quantize.quantize_onnx`.
        threads: ONNX Runtime intra-op threads of the float32 graph; with the int8 graph, how many answers run
            side by side, one thread each (default: the physical cores).
        verbose: say on stderr when an export starts (about 10 s).

    Raises:
        MissingDependencyError: onnxruntime or onnx is not installed.
    """

    def __init__(self, backbone: Any, tokenizer: Any, cache_dir: str | Path, *, quantize: bool = False,
                 threads: int | None = None, verbose: bool = False) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError("onnxruntime", extra="onnx") from exc
        path = Path(cache_dir) / "onnx" / f"{_weights_fingerprint(backbone)}.onnx"
        if not path.is_file():
            try:
                import onnx  # noqa: F401  (the exporter needs it)
            except ImportError as exc:
                raise MissingDependencyError("onnx", extra="onnx") from exc
            if verbose:
                print(f"Exporting the encoder to ONNX in {path} (once)...", file=sys.stderr)
            export_onnx(backbone, tokenizer, path)
        if quantize:
            path = quantize_onnx(path, tokenizer, verbose=verbose)
        self.quantized = quantize
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._pool: Any = None
        if quantize:  # answers run one at a time (see __call__), `threads` of them side by side, one thread each
            from concurrent.futures import ThreadPoolExecutor

            options.intra_op_num_threads = 1
            self._pool = ThreadPoolExecutor(max_workers=threads or _physical_cores(), thread_name_prefix="nps-int8")
        elif threads:
            options.intra_op_num_threads = threads
        # idle worker threads sleep instead of spinning, so a service's event loop keeps its CPU between batches
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a corrupt cached graph: say where it is
            raise EncoderError(f"ONNX Runtime could not load {path}: {exc}; delete the file to re-export it") from exc
        self.path = path

    def serves(self, batch_size: int) -> bool:
        """Whether a batch of this size should run here rather than in torch: always for the int8 graph and
        where torch runs in float32, only small batches where the CPU computes bfloat16 natively (torch is faster
        on large ones)."""
        from nps_nlp.encoders._precision import resolve_precision

        return self.quantized or batch_size <= SMALL_BATCH or resolve_precision() == "fp32"

    def __call__(self, input_ids: Any, attention_mask: Any) -> np.ndarray:
        """Token states ``[batch, tokens, dim]`` (float32) for int64 ``input_ids`` and ``attention_mask``.

        The int8 graph quantizes each MatMul's input with one scale measured over the whole input tensor, so
        another answer in the batch (or padding) would change an answer's states and, now and then, its tags.
        There each answer runs alone, on its own tokens (padded positions are left zero), so that its reading
        is the same in any batch: one at a time, in any chunk size, in the service's micro-batches."""
        ids = np.asarray(input_ids, dtype=np.int64)
        mask = np.asarray(attention_mask, dtype=np.int64)
        if not self.quantized:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return run_each_alone(self.session, self._pool, ids, mask)


class OnnxEncoder(SentenceTransformerEncoder):
    """A sentence-transformers model whose transformer runs in ONNX Runtime (mean pooling, normalised).

    Args:
        model_name_or_path: sentence-transformers directory or hub id (its transformer is exported).
        name: identifier saved with trained models.
        cache_dir: where exported graphs are kept.
        batch_size: default batch size.
        quantize: run the int8 graph (faster, slightly less exact: :func:`nps_nlp.encoders._quantize.quantize_onnx`).
        threads: the threads of the graph (see :class:`OnnxTransformer`).

    Raises:
        EncoderError: the model does not pool by the mean of its token states.
    """

    def __init__(self, model_name_or_path: str | Path, *, name: str | None = None, cache_dir: str | Path,
                 batch_size: int = 64, quantize: bool = False, threads: int | None = None) -> None:
        super().__init__(model_name_or_path, name=name, batch_size=batch_size)
        pooling = self.model[1] if len(self.model) > 1 else None
        mean = getattr(pooling, "pooling_mode", None) == "mean" or getattr(pooling, "pooling_mode_mean_tokens", False)
        if not mean or not getattr(pooling, "include_prompt", True):
            raise EncoderError(f"the onnx backend supports mean-pooling models; {self.name!r} pools otherwise: "
                               "use backend='torch'")
        self.transformer = OnnxTransformer(self.model[0].auto_model, self.model.tokenizer, cache_dir, quantize=quantize,
                                           threads=threads, verbose=True)

    def _encode(self, texts: list[str], *, prompt: str, batch_size: int | None, show_progress_bar: bool) -> np.ndarray:
        prefix = str((self.model.prompts or {}).get(prompt) or "")
        size = batch_size or self.batch_size
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), size)
        if show_progress_bar:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="encoding", unit="batch")
        for start in starts:
            idx = order[start : start + size]
            enc = self.model.preprocess([prefix + texts[i] for i in idx])
            mask = enc["attention_mask"].numpy()
            states = self.transformer(enc["input_ids"].numpy(), mask)
            pooled = (states * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
