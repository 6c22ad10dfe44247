"""Fixtures for the training tests: a small labelled set in the project format and one tiny trained run
(tiny random encoder, a few epochs) shared by the evaluate/compare/registry tests; for the analyst tools
(suggest, audit, discover), a small model on the tiny encoder, seed samples, and e5 vectors of a seed sample
computed once per session."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from training_rows import make_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def seed_like(tmp_path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", make_rows())


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_encoder_dir) -> Path:
    """One training run directory (train on 36 answers, dev on 18) with the tiny encoder."""
    from training import TrainingArguments, train

    root = tmp_path_factory.mktemp("tiny-run")
    data = write_jsonl(root / "train.jsonl", make_rows(4))
    dev = write_jsonl(root / "dev.jsonl", [{**r, "id": "d" + r["id"]} for r in make_rows(2)])
    args = TrainingArguments(data=str(data), dev_data=str(dev), output=str(root / "run"),
                             encoder=str(tiny_encoder_dir), epochs=3, seed=0)
    train(args, show_progress_bar=False)
    return root / "run"


@pytest.fixture(autouse=True)
def _cache(monkeypatch):
    """The session's encoder cache (where e5_dir builds the real encoder), without building it: only the tests
    that use the real encoder (through e5_dir) pay for it."""
    monkeypatch.setenv("NPS_CACHE_DIR", os.environ.get("NPS_CACHE_DIR") or str(ROOT / ".cache" / "nps-nlp"))


@pytest.fixture(scope="session")
def seed_train():
    from nps_nlp.datasets import load_examples

    return load_examples(ROOT / "data" / "seed" / "train.jsonl")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_encoder_dir, seed_train, tmp_path_factory) -> Path:
    """A FeedbackClassifier on the tiny random encoder, trained for a few epochs on 160 seed answers."""
    from nps_nlp import FeedbackClassifier

    sample = random.Random(1).sample(seed_train, 160)
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=3, lexical_weight=0.0)
    clf.fit([e.text for e in sample], [e.themes for e in sample], sentiment=[e.sentiment for e in sample])
    return clf.save(tmp_path_factory.mktemp("tiny-model") / "model")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from nps_nlp import FeedbackClassifier

    return FeedbackClassifier.load(tiny_model_dir)


@pytest.fixture(scope="session")
def seed_sample(seed_train):
    """360 seed-train answers (a fixed random sample over all languages)."""
    return random.Random(0).sample(seed_train, 360)


@pytest.fixture(scope="session")
def seed_sample_vectors(seed_sample, e5_dir) -> np.ndarray:
    """e5 ``query:`` vectors of :func:`seed_sample`, encoded once."""
    from training.audit import embed_texts

    return embed_texts([e.text for e in seed_sample], encoder=str(e5_dir))
