"""Int8 quantization of the exported graph: smoothing keeps the float32 function and takes outlier channels'
range out of the int8 inputs; the graph is made once per recipe."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the onnx backend needs the onnx extra: pip install 'nps-nlp[onnx]'")
onnx = pytest.importorskip("onnx", reason="the onnx backend needs the onnx extra: pip install 'nps-nlp[onnx]'")

from nps_nlp.encoders._onnx import export_onnx  # noqa: E402
from nps_nlp.encoders._quantize import (  # noqa: E402
    QUANTIZATION,
    calibration_answers,
    calibration_feeds,
    channel_ranges,
    quantize_onnx,
    smooth,
    weight_matmuls,
)

TEXTS = ["great staff but the invoice was wrong again", "levering pakket laat", "appen er nede igjen", "ok"]


def _run(path_or_model, feeds: list[dict]) -> list[np.ndarray]:
    import onnxruntime as ort

    source = path_or_model.SerializeToString() if hasattr(path_or_model, "SerializeToString") else str(path_or_model)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return [session.run(None, feed)[0] for feed in feeds]


@pytest.fixture(scope="module")
def tiny(tiny_encoder_dir, tmp_path_factory):
    """The tiny encoder's transformer, tokenizer and float32 export."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_onnx(st[0].auto_model, st.tokenizer, path)
    return st[0].auto_model, st.tokenizer, path


def test_the_calibration_answers_are_real_answers_in_every_language():
    answers = calibration_answers()
    assert len(answers) == 256 and len(set(answers)) == 256
    assert all(isinstance(a, str) and a.strip() for a in answers)
    assert any("ikkje" in a for a in answers) and any(" het " in a for a in answers)  # nn and nl among them


def test_query_key_and_value_share_one_input_group(tiny):
    groups = weight_matmuls(onnx.load(str(tiny[2])))
    sizes = sorted(len(nodes) for nodes in groups.values())
    # per layer: query+key+value on one input, then the attention output, the feed-forward up and down
    assert sizes == [1] * 6 + [3] * 2


def test_channel_ranges_leave_padding_out(tiny):
    _, tokenizer, path = tiny
    model = onnx.load(str(path))
    short, long = channel_ranges(model, _feeds(tokenizer, TEXTS[3:])), channel_ranges(model, _feeds(tokenizer, TEXTS[:1]))
    padded = channel_ranges(model, _feeds(tokenizer, [TEXTS[3], TEXTS[0]], batch=True))
    assert set(padded) == set(weight_matmuls(model))
    for name, peak in padded.items():  # the padded batch's range is exactly that of its two answers
        assert (peak > 0).all() and np.allclose(peak, np.maximum(short[name], long[name]), atol=1e-5)


def _feeds(tokenizer, texts: list[str], batch: bool = False) -> list[dict]:
    """Feeds of ``texts`` one by one, or in one padded batch."""
    groups = [texts] if batch else [[t] for t in texts]
    feeds = []
    for group in groups:
        enc = tokenizer(["query: " + t for t in group], padding=True, return_tensors="np")
        feeds.append({"input_ids": enc["input_ids"].astype(np.int64),
                      "attention_mask": enc["attention_mask"].astype(np.int64)})
    return feeds


def test_smoothing_keeps_the_float32_function(tiny):
    _, tokenizer, path = tiny
    model = onnx.load(str(path))
    feeds = calibration_feeds(tokenizer, "query: ")[:2]
    before = _run(model, feeds)
    groups = weight_matmuls(model)
    smoothed = smooth(model, channel_ranges(model, feeds))
    assert sum(n.op_type == "Mul" and n.name.endswith("/smooth") for n in smoothed.graph.node) == len(groups)
    for a, b in zip(before, _run(smoothed, feeds), strict=True):
        assert np.allclose(a, b, atol=1e-4)


def test_the_int8_graph_is_made_once_and_an_older_recipe_is_not_reused(tiny, tmp_path):
    _, tokenizer, path = tiny
    graph = tmp_path / "enc.onnx"
    graph.write_bytes(path.read_bytes())
    (tmp_path / "enc-int8.onnx").write_bytes(b"an int8 graph made by the recipe before")
    made = quantize_onnx(graph, tokenizer)
    assert made.name == "enc-int8-sq1.onnx" and QUANTIZATION == "int8-sq1"
    mtime = made.stat().st_mtime_ns
    assert quantize_onnx(graph, tokenizer) == made and made.stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob("*.tmp*"))
    ops = {n.op_type for n in onnx.load(str(made)).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear", "Mul"} <= ops
