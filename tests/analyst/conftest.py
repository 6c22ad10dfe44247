"""Fixtures for the analyst tools: a small model on the tiny encoder (fast), seed samples, and e5 vectors of a
seed sample computed once per session (shared by the audit and discover tests)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


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
