"""The same tags every time: an answer's reading does not depend on the batch it is read in."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _decisions(answer):
    r = answer.result
    themes = tuple(sorted((t.theme, t.sentiment, t.source, (t.evidence.start, t.evidence.end) if t.evidence else None)
                          for t in r.themes))
    return r.lang, r.sentiment, themes, answer.urgency.level, answer.band


def test_two_thousand_seed_answers_read_the_same_in_any_batch(default_model):
    from nps_nlp import FeedbackPipeline

    lines = (ROOT / "data" / "seed" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[:2000]]
    texts, scores = [r["text"] for r in rows], [r["score"] for r in rows]
    pipe = FeedbackPipeline(default_model)
    default_model.show_progress_bar = False

    def read(chunk: int) -> list:
        out = []
        for start in range(0, len(texts), chunk):
            out += pipe.analyze(texts[start : start + chunk], scores[start : start + chunk])
        return out

    ways = {"one batch": read(len(texts)), "chunks of 7": read(7), "chunks of 200": read(200)}
    reference = [_decisions(a) for a in ways["one batch"]]
    for name, answers in ways.items():
        differ = [texts[i] for i, a in enumerate(answers) if _decisions(a) != reference[i]]
        assert not differ, f"{name}: {len(differ)} answers read differently, e.g. {differ[:3]}"
    # and one at a time, for the answers most likely to sit on a threshold: the shortest
    shortest = sorted(range(len(texts)), key=lambda i: len(texts[i]))[:150]
    alone = [pipe.analyze_one(texts[i], scores[i]) for i in shortest]
    assert [_decisions(a) for a in alone] == [reference[i] for i in shortest]


def test_the_int8_backend_reads_an_answer_the_same_in_any_batch(default_model, monkeypatch):
    """The int8 graph quantizes each input with one scale measured over what it is given, so answers run alone
    (nps_nlp.encoders._onnx.OnnxTransformer); without that, one in ten answers changed its tags with its batch."""
    import pytest

    pytest.importorskip("onnxruntime", reason="the onnx-int8 backend needs the onnx extra")
    from nps_nlp import FeedbackPipeline
    from nps_nlp._settings import get_settings

    monkeypatch.setenv("NPS_ENCODER_BACKEND", "onnx-int8")
    get_settings.cache_clear()
    lines = (ROOT / "data" / "seed" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[:300]]
    texts, scores = [r["text"] for r in rows], [r["score"] for r in rows]
    pipe = FeedbackPipeline(default_model)
    default_model.show_progress_bar = False
    try:
        reference = [_decisions(a) for a in pipe.analyze(texts, scores)]
        assert default_model.load_encoder().onnx.quantized  # really read through the int8 graph
        sevens = [_decisions(a) for start in range(0, len(texts), 7) for a in pipe.analyze(texts[start : start + 7],
                                                                                            scores[start : start + 7])]
        alone = [_decisions(pipe.analyze_one(texts[i], scores[i])) for i in range(60)]
    finally:
        monkeypatch.delenv("NPS_ENCODER_BACKEND")
        get_settings.cache_clear()
    assert sevens == reference
    assert alone == reference[:60]
