"""Fixtures for the batch tests."""

from __future__ import annotations

import pytest
from batch_helpers import TEXTS, FakePipeline


@pytest.fixture
def fake_pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def rows() -> list[dict]:
    """30 rows with ids, texts, scores and timestamps, plus a few rows that must be rejected."""
    out = []
    for i in range(30):
        out.append({"id": f"r{i:03d}", "text": TEXTS[i % len(TEXTS)] + f" #{i}", "score": str(i % 11),
                    "timestamp": f"2024-{1 + i % 3:02d}-{1 + i % 27:02d}T10:00:00Z", "channel": "web" if i % 2 else "app"})
    out[4]["text"] = ""
    out[9]["text"] = "   "
    out[13]["score"] = "eleven"
    out[17]["score"] = "12"
    return out
