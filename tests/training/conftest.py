"""Fixtures for the training tests: a small labelled set in the project format and one tiny trained run
(tiny random encoder, a few epochs) shared by the evaluate/compare/registry tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_rows import make_rows, write_jsonl


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
