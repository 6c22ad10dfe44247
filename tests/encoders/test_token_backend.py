"""The token-level encoder behind the classifier: token states, offsets and mean-pooled vectors."""

from __future__ import annotations

import numpy as np
import pytest

from nps_nlp.encoders import BaseEncoder, TokenEncoder, load_encoder, load_token_encoder

TEXTS = ["great staff but the invoice was wrong again", "levering pakket laat", "ok",
         "eg er ikkje nøgd med rekninga, men dei tilsette var hyggelege og svarte raskt på telefonen"]


@pytest.fixture(scope="module")
def token_encoder(tiny_encoder_dir) -> TokenEncoder:
    return load_token_encoder(str(tiny_encoder_dir))


def test_token_states_and_offsets_point_into_the_text(token_encoder):
    states, offsets = token_encoder.token_states(TEXTS, batch_size=2, max_length=128)
    assert isinstance(token_encoder, BaseEncoder) and token_encoder.prefix == "query: "
    for text, s, off in zip(TEXTS, states, offsets, strict=True):
        assert s.shape[1] == token_encoder.dim and len(s) == len(off)
        real = off[(off[:, 1] > off[:, 0]) & (off[:, 0] >= 0)]  # not the special tokens, not the prompt's
        assert real[0, 0] == 0 and real.max() == len(text)  # offsets into the answer, the prompt removed


def test_a_text_reads_the_same_whatever_else_is_in_the_call(token_encoder, fp32_inference):
    alone = [token_encoder.token_states([t], batch_size=8, max_length=32)[0][0] for t in TEXTS]
    together = token_encoder.token_states(TEXTS, batch_size=8, max_length=32)[0]
    for a, b in zip(alone, together, strict=True):
        assert a.shape == b.shape and np.allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_truncation_and_hidden_layers(token_encoder):
    long = " ".join(["word"] * 100)
    assert len(token_encoder.token_states([long], max_length=16)[0][0]) == 16
    embeddings = token_encoder.token_states(TEXTS[:1], layer=0)[0][0]
    last = token_encoder.token_states(TEXTS[:1])[0][0]
    assert embeddings.shape == last.shape and not np.allclose(embeddings.numpy(), last.numpy())


def test_encode_gives_the_sentence_transformers_vectors(tiny_encoder_dir, token_encoder, fp32_inference):
    expected = load_encoder(str(tiny_encoder_dir), backend="torch").encode(TEXTS)
    vectors = token_encoder.encode(TEXTS, batch_size=3)
    assert vectors.shape == expected.shape and vectors.dtype == np.float32
    assert np.min(np.sum(vectors * expected, axis=1)) > 0.9999
    assert token_encoder.encode([]).shape == (0, token_encoder.dim)


def test_head_outputs_pool_the_same_sentence_vectors(tiny_encoder_dir, fp32_inference):
    from nps_nlp import FeedbackClassifier

    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=2, batch_size=8, lexical_weight=0)
    clf.fit(TEXTS * 3, [["billing_payment"], ["delivery_waiting"], [], ["staff_attitude"]] * 3)
    out = clf.head_outputs(TEXTS)
    assert out.detect.shape == (len(TEXTS), len(clf.labels_)) and out.sentiment.shape == (len(TEXTS), 3)
    assert out.polarity.shape == (len(TEXTS), len(clf.labels_), 3) and len(out.offsets) == len(TEXTS)
    assert np.allclose(out.detect, clf.predict_proba(TEXTS))
    vectors = out.sentence_vectors()
    assert np.min(np.sum(vectors * clf.load_encoder().encode(TEXTS), axis=1)) > 0.9999
    assert clf.head_outputs([]).sentence_vectors().shape == (0, clf.dim)
