"""bfloat16 inference: same answers as float32, where the CPU runs it natively."""

import numpy as np
import pytest

from nps_nlp.encoders._precision import inference_autocast, native_bf16, resolve_precision
from nps_nlp.errors import ConfigError


def test_resolve_precision(monkeypatch):
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") == ("bf16" if native_bf16() else "fp32")
    with pytest.raises(ConfigError, match="unknown encoder precision"):
        resolve_precision("fp8")
    import contextlib

    assert isinstance(inference_autocast("fp32"), contextlib.nullcontext)
    assert isinstance(inference_autocast("bf16", device="cuda"), contextlib.nullcontext)


@pytest.mark.skipif(not native_bf16(), reason="this CPU has no native bfloat16: auto keeps float32")
def test_bf16_gives_the_same_tags_as_fp32(default_model, seed_test, monkeypatch):
    from nps_nlp._settings import get_settings

    texts = [e.text for e in seed_test[:120]]
    results = {}
    for precision in ("fp32", "bf16"):
        monkeypatch.setenv("NPS_ENCODER_PRECISION", precision)
        get_settings.cache_clear()
        results[precision] = (default_model.predict_proba(texts), default_model.predict(texts))
    get_settings.cache_clear()
    proba32, res32 = results["fp32"]
    proba16, res16 = results["bf16"]
    assert np.abs(proba32 - proba16).max() < 0.05
    same_themes = np.mean([{t.theme for t in a.themes} == {t.theme for t in b.themes} for a, b in zip(res32, res16, strict=True)])
    same_sentiment = np.mean([a.sentiment == b.sentiment for a, b in zip(res32, res16, strict=True)])
    assert same_themes >= 0.97 and same_sentiment >= 0.97
