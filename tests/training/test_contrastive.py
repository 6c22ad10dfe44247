"""Training mode 2: contrastive fine-tuning, then heads; the model directory stays self-contained."""

import json
import shutil

import numpy as np
import pytest

from nps_nlp import FeedbackClassifier
from nps_nlp.errors import DataValidationError
from training.contrastive import MARKER, _pairs, contrastive_finetune

ROWS = [
    ("rude staff at the desk", {"staff_attitude": "negative"}),
    ("friendly staff, very helpful", {"staff_attitude": "positive"}),
    ("the invoice was wrong", {"billing_payment": "negative"}),
    ("factuur was fout", {"billing_payment": "negative"}),
    ("feil faktura igjen", {"billing_payment": "negative"}),
    ("delivery was late", {"delivery_waiting": "negative"}),
    ("pakke kom sent", {"delivery_waiting": "negative"}),
    ("levering snel", {"delivery_waiting": "positive"}),
] * 3


def test_pairs_follow_label_overlap():
    import random

    labels = [frozenset({"a"}), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
    pairs = _pairs(labels, 8, random.Random(0))
    for i, j, target in pairs:
        union = labels[i] | labels[j]
        assert target == pytest.approx(len(labels[i] & labels[j]) / len(union))
    assert any(t == 1.0 for _, _, t in pairs) and any(t == 0.0 for _, _, t in pairs)


def test_contrastive_then_heads_roundtrip(tmp_path, tiny_encoder_dir):
    texts, labels = [t for t, _ in ROWS], [lab for _, lab in ROWS]
    tuned = contrastive_finetune(texts, labels, encoder=str(tiny_encoder_dir), output_dir=tmp_path / "enc",
                                 epochs=1, pairs_per_example=4, seed=0, show_progress_bar=False)
    marker = json.loads((tuned / MARKER).read_text())
    assert marker["base"] == str(tiny_encoder_dir) and marker["pairs"] > 0
    clf = FeedbackClassifier(encoder=str(tuned), epochs=3, random_state=0, show_progress_bar=False)
    clf.fit(texts, labels)
    before = clf.predict_proba(["friendly staff", "factuur fout"])
    clf.save(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["params"]["encoder"] == str(tiny_encoder_dir)  # the base, not the temporary tuned directory
    assert config["encoder_tuning"]["method"].startswith("contrastive")
    shutil.rmtree(tuned)  # the model must not depend on the tuned encoder directory
    loaded = FeedbackClassifier.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(["friendly staff", "factuur fout"]), before, atol=1e-5)
    # the loaded encoder carries the tuned weights, not the base encoder's
    from transformers import BertModel

    key = "encoder.layer.0.attention.self.query.weight"
    base = BertModel.from_pretrained(str(tiny_encoder_dir.parent / "hf"), local_files_only=True).state_dict()[key]
    assert not np.allclose(loaded.load_encoder().model.state_dict()[key].numpy(), base.numpy())


def test_contrastive_needs_labels(tmp_path, tiny_encoder_dir):
    with pytest.raises(DataValidationError, match="at least 2"):
        contrastive_finetune(["x"], [{"a": "negative"}], encoder=str(tiny_encoder_dir), output_dir=tmp_path)
    with pytest.raises(DataValidationError, match="none were given"):
        contrastive_finetune(["x", "y"], [None, {}], encoder=str(tiny_encoder_dir), output_dir=tmp_path)
