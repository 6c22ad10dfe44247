"""A BERT encoder in plain torch, for the default encoder's inference and fine-tuning.

The default encoder (multilingual-e5-small) is a BERT encoder: embeddings and twelve layers of self-attention and
feed-forward. Loading it as a ``transformers`` ``AutoModel`` imports ``transformers.modeling_utils``, which pulls in
``torch._dynamo``, sympy and accelerate: some 130 MB that a tagging job or a service would hold for its whole life
without using them. :class:`BertEncoder` is the same computation, op for op and in the same order as
``transformers``' ``BertModel`` with its default ``sdpa`` attention (the same bits: tested against it), with the same
parameter names, so that saved fine-tuned layers, the 4-bit word embeddings, the row-blocked feed-forward outputs
and the ONNX export work on it unchanged. Only plain BERT encoders load this way (:meth:`BertConfig.read`); any
other model stays with ``transformers``.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BertConfig", "BertEncoder", "EncoderOutput", "load_bert_encoder"]


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT encoder, from its ``config.json``."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    pad_token_id: int = 0

    @classmethod
    def read(cls, path: str | Path) -> BertConfig | None:
        """The config of the model directory ``path`` when it is a plain BERT encoder (absolute positions, exact GELU,
        no decoder, no chunked feed-forward), else ``None``."""
        try:
            raw = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        plain = (raw.get("model_type") == "bert" and raw.get("hidden_act", "gelu") == "gelu"
                 and raw.get("position_embedding_type", "absolute") == "absolute" and not raw.get("is_decoder")
                 and not raw.get("add_cross_attention") and not raw.get("chunk_size_feed_forward")
                 and raw.get("hidden_size", 0) % max(1, raw.get("num_attention_heads", 1)) == 0)
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING}
        if not plain or not required <= set(raw):
            return None
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass
class EncoderOutput:
    """What :class:`BertEncoder` returns: the last layer's token states ``[B, T, D]`` and, when asked for, the
    embeddings' and every layer's output (``hidden_states[0]`` the embeddings)."""

    last_hidden_state: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None


class _Embeddings(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        # left uninitialised (untouched pages cost no memory): :func:`load_bert_encoder` puts the saved table in
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id,
                                            _weight=torch.empty(c.vocab_size, c.hidden_size))
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(c.max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = self.position_ids[:, : input_ids.shape[1]]
        # word + token type (all 0) first, then position: the order of transformers' BertEmbeddings
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(torch.zeros_like(positions))
        embeddings = embeddings + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(embeddings))


class _SelfAttention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.heads, self.head_size = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        shape = (*x.shape[:-1], -1, self.head_size)
        q, k, v = (proj(x).view(*shape).transpose(1, 2) for proj in (self.query, self.key, self.value))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout.p if self.training else 0.0,
                                             scale=self.head_size ** -0.5, is_causal=False)
        return out.transpose(1, 2).contiguous().reshape(*x.shape[:-1], -1).contiguous()


class _DenseResidual(nn.Module):
    """``LayerNorm(dropout(dense(x)) + residual)``: the output block of attention and of the feed-forward."""

    def __init__(self, n_in: int, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class _Attention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _DenseResidual(c.hidden_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class _Intermediate(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _DenseResidual(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        attended = self.attention(x, mask)
        return self.output(self.intermediate(attended), attended)


class _Encoder(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class _Pooler(nn.Module):  # kept so that the state dict is BertModel's; the token states never use it
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)


class BertEncoder(nn.Module):
    """A BERT encoder: ``model(input_ids=..., attention_mask=...)`` gives :class:`EncoderOutput`. Made by
    :func:`load_bert_encoder` (a new one's word embeddings are not initialised).

    Args:
        config: its sizes.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)
        self.pooler = _Pooler(config)

    @property
    def device(self) -> torch.device:
        return self.embeddings.position_ids.device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                output_hidden_states: bool = False) -> EncoderOutput:
        hidden = self.embeddings(input_ids)
        states = [hidden] if output_hidden_states else None
        mask = _attention_mask(attention_mask, input_ids.shape)
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask)
            if states is not None:
                states.append(hidden)
        return EncoderOutput(hidden, tuple(states) if states is not None else None)


def _attention_mask(attention_mask: torch.Tensor | None, shape: torch.Size) -> torch.Tensor | None:
    """The boolean ``[B, 1, T, T]`` mask that ``transformers`` gives ``sdpa`` (the padding mask repeated for every
    query, in the same memory layout), or ``None`` when nothing is padded (as it does, so that the same attention
    kernel runs); a traced graph always keeps the mask."""
    if attention_mask is None:
        return None
    tracing = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
    if not tracing and bool(attention_mask.all()):
        return None
    batch, length = shape
    return attention_mask.bool()[:, None, None, :].expand(batch, -1, length, length).contiguous()


def load_bert_encoder(path: str | Path) -> BertEncoder | None:
    """The BERT encoder of the model directory ``path`` (its ``config.json`` and ``model.safetensors``), in eval mode,
    or ``None`` when it is not a plain BERT encoder stored that way (load it with ``transformers``).

    Raises:
        ValueError: the weights file lacks a weight of the model, has one it does not know, or cannot be read.
    """
    path = Path(path)
    config = BertConfig.read(path)
    weights = path / "model.safetensors"
    if config is None or not weights.is_file():
        return None
    from safetensors import SafetensorError, safe_open

    # safetensors maps the file copy-on-write: a tensor's pages are read when first touched (as transformers loads
    # them), so the word-embedding table that the 4-bit one replaces never takes its whole size in memory
    try:
        with safe_open(str(weights), framework="pt") as f:
            state = {key.removeprefix("bert."): f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    except (OSError, SafetensorError) as exc:
        raise ValueError(f"{weights}: cannot read the weights ({exc})") from exc
    model = BertEncoder(config)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise ValueError(f"{weights}: missing weights {missing[:5]}, unknown weights {unexpected[:5]}")
    return model.eval()
