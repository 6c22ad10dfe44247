"""The transformer, tokenizer and prompts of a sentence-transformers directory, loaded with ``transformers`` alone.

:class:`~nps_nlp.encoders.TokenEncoder` runs only the first module of a sentence-transformers model (the Hugging
Face transformer) and reads its prompts; it pools on its own. Importing ``sentence_transformers`` for that also
imports pandas, datasets, scikit-learn and sympy, which a tagging job or a service would then hold for its whole
life. A directory laid out as ``SentenceTransformer.save`` writes it (``modules.json`` with a transformer module at
the directory's root, ``config_sentence_transformers.json`` with the prompts) is read here directly; a plain BERT
encoder (the default encoder) runs as :class:`~nps_nlp.encoders._bert.BertEncoder`, the same computation as
``transformers``' ``BertModel`` without its modelling code, any other model as the ``AutoModel`` that
sentence-transformers would load, with the same weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nps_nlp.errors import EncoderError

__all__ = ["LoadedTransformer", "load_transformer"]


@dataclass
class LoadedTransformer:
    """A transformer ready for :class:`~nps_nlp.encoders.TokenEncoder`.

    Attributes:
        model: the transformer (:class:`~nps_nlp.encoders._bert.BertEncoder` or a ``transformers`` ``AutoModel``), on
            the CPU.
        tokenizer: its fast tokenizer.
        prompts: the sentence-transformers prompts (``{"query": "query: ", ...}``).
        dim: the size of a token state.
    """

    model: Any
    tokenizer: Any
    prompts: dict[str, str]
    dim: int


def _plain_layout(path: Path) -> bool:
    """Whether ``path`` is a local sentence-transformers directory whose first module is a transformer stored at
    the directory's root and tokenizing as its tokenizer does (no ``do_lower_case``)."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        first = min(modules, key=lambda m: int(m["idx"]))
        settings_file = path / "sentence_bert_config.json"
        settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (str(first.get("type", "")).endswith(".Transformer") and first.get("path", "") == ""
            and not settings.get("do_lower_case") and (path / "config.json").is_file())


def load_transformer(path: str | Path, *, compact_tokenizer: bool = False) -> LoadedTransformer | None:
    """Load the transformer, tokenizer and prompts of a sentence-transformers directory without sentence-transformers.

    Args:
        path: a local model directory (anything else gives ``None``).
        compact_tokenizer: a Unigram tokenizer segments with
            :class:`~nps_nlp.encoders._unigram.UnigramSegmenter` (the same tokens in far less memory; it encodes
            but cannot turn ordinary ids back into text); other tokenizers load as usual.

    Returns:
        The loaded transformer, or ``None`` when ``path`` is not a directory of the plain layout (a hub id, a
        transformer in a sub-folder, a lower-casing tokenizer): load those with sentence-transformers.

    Raises:
        EncoderError: the directory has the plain layout but its model or tokenizer cannot be loaded.
    """
    path = Path(path)
    if not _plain_layout(path):
        return None
    try:
        model = _load_model(path)
        tokenizer = None
        if compact_tokenizer:
            from nps_nlp.encoders._unigram import compact_unigram_tokenizer

            tokenizer = compact_unigram_tokenizer(path)
        if tokenizer is None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(path))
        st_config = path / "config_sentence_transformers.json"
        prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts") if st_config.is_file() else None
    except (OSError, ValueError) as exc:
        raise EncoderError(f"could not load the transformer in {path}: {exc}") from exc
    max_positions = getattr(model.config, "max_position_embeddings", -1)
    if max_positions and max_positions > 0:  # as sentence-transformers caps it
        tokenizer.model_max_length = min(tokenizer.model_max_length, max_positions)
    return LoadedTransformer(model, tokenizer, dict(prompts or {}), int(model.config.hidden_size))


def _load_model(path: Path) -> Any:
    """A plain BERT encoder as :class:`~nps_nlp.encoders._bert.BertEncoder` (the same bits as ``transformers``'
    ``BertModel``, without importing its modelling code), any other model as ``AutoModel``."""
    from nps_nlp.encoders._bert import load_bert_encoder

    model = load_bert_encoder(path)
    if model is not None:
        return model
    from transformers import AutoConfig, AutoModel

    from nps_nlp.encoders._sentence_transformers import quiet_weight_loading

    config = AutoConfig.from_pretrained(str(path))
    if hasattr(config, "use_cache"):  # an encoder keeps no cache (as sentence-transformers loads it)
        config.use_cache = False
    with quiet_weight_loading():
        return AutoModel.from_pretrained(str(path), config=config)
