"""The ONNX Runtime backend: same vectors and tags as torch, exported once per set of weights."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the onnx backend needs the onnx extra: pip install 'nps-nlp[onnx]'")

from nps_nlp._settings import get_settings  # noqa: E402
from nps_nlp.encoders import load_encoder  # noqa: E402
from nps_nlp.errors import EncoderError  # noqa: E402

TEXTS = ["great staff but the invoice was wrong again", "levering pakket laat", "appen er nede igjen", "ok",
         "eg er ikkje nøgd med rekninga, men dei tilsette var hyggelege og svarte raskt på telefonen"]


@pytest.fixture
def backend(monkeypatch, fp32_inference):
    """Set NPS_ENCODER_BACKEND (float32 everywhere, so torch and ONNX Runtime compute the same thing)."""

    def use(name: str) -> None:
        monkeypatch.setenv("NPS_ENCODER_BACKEND", name)
        get_settings.cache_clear()

    return use


def test_onnx_encoder_gives_the_torch_vectors_and_exports_once(tiny_encoder_dir, tmp_path):
    torch_vectors = load_encoder(str(tiny_encoder_dir), backend="torch").encode(TEXTS)
    encoder = load_encoder(str(tiny_encoder_dir), backend="onnx", cache_dir=tmp_path)
    vectors = encoder.encode(TEXTS, batch_size=2)  # several batches, sorted by length and put back in order
    assert vectors.shape == torch_vectors.shape
    assert np.min(np.sum(vectors * torch_vectors, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    exported = sorted((tmp_path / "onnx").glob("*.onnx"))
    assert len(exported) == 1 and not list((tmp_path / "onnx").glob("*.tmp*"))
    mtime = exported[0].stat().st_mtime_ns
    again = load_encoder(str(tiny_encoder_dir), backend="onnx", cache_dir=tmp_path)
    assert again.transformer.path == exported[0] and exported[0].stat().st_mtime_ns == mtime  # reused, not re-exported
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_onnx_encoder_refuses_a_model_it_would_pool_wrongly(tiny_encoder_dir, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    st = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    cls_model = SentenceTransformer(modules=[st[0], Pooling(st.get_embedding_dimension(), "cls")], device="cpu")
    cls_model.save(str(tmp_path / "cls"))
    with pytest.raises(EncoderError, match="mean-pooling"):
        load_encoder(str(tmp_path / "cls"), backend="onnx", cache_dir=tmp_path)


def test_classifier_runs_in_onnx_runtime_with_its_own_graph_per_tuned_encoder(tiny_encoder_dir, tmp_path, backend):
    from nps_nlp import FeedbackClassifier

    # 15 answers: too few for a hold-out, so the tuned run keeps its last epoch (a hold-out could pick the head's
    # linear probe, which leaves the encoder as it was)
    texts = TEXTS * 3
    labels = [["billing_payment", "staff_attitude"], ["delivery_waiting"], ["reliability_outages"], [],
              ["billing_payment", "staff_attitude"]] * 3
    backend("torch")
    frozen = FeedbackClassifier(str(tiny_encoder_dir), epochs=3, lexical_weight=0, cache_dir=tmp_path).fit(texts, labels)
    tuned = FeedbackClassifier(str(tiny_encoder_dir), epochs=2, finetune_layers=1, lexical_weight=0,
                               cache_dir=tmp_path).fit(texts, labels)
    expected = {name: (clf.predict_proba(TEXTS), clf.predict(TEXTS)) for name, clf in (("frozen", frozen), ("tuned", tuned))}
    assert frozen.load_encoder().onnx is None and not (tmp_path / "onnx").exists()  # torch backend: nothing exported

    backend("onnx")
    for name, clf in (("frozen", frozen), ("tuned", tuned)):
        proba, results = clf.predict_proba(TEXTS), clf.predict(TEXTS)
        assert clf.load_encoder().onnx is not None
        assert np.abs(proba - expected[name][0]).max() < 1e-4
        assert [[t.theme for t in r.themes] for r in results] == [[t.theme for t in r.themes] for r in expected[name][1]]
        assert [r.sentiment for r in results] == [r.sentiment for r in expected[name][1]]
    # the tuned top layer changed the weights: it has its own exported graph
    assert frozen.load_encoder().onnx.path != tuned.load_encoder().onnx.path
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 2
    # saved and loaded, the tuned model finds its graph again by the fingerprint of its weights
    loaded = FeedbackClassifier.load(tuned.save(tmp_path / "tuned"), cache_dir=tmp_path)
    assert np.abs(loaded.predict_proba(TEXTS) - expected["tuned"][0]).max() < 1e-4
    assert loaded.load_encoder().onnx.path == tuned.load_encoder().onnx.path


def test_an_encoder_on_a_gpu_runs_in_torch_not_onnx_runtime(tiny_encoder_dir, tmp_path, backend):
    """While ``fit`` holds the encoder on a GPU (``device='cuda'``), encoding stays in torch there: no graph is
    exported from GPU weights (the meta device stands in for the GPU)."""
    from nps_nlp import FeedbackClassifier

    backend("onnx")
    clf = FeedbackClassifier(str(tiny_encoder_dir), cache_dir=tmp_path)
    encoder = clf.load_encoder()
    encoder.model.to("meta")
    assert encoder.onnx_runtime() is None and not (tmp_path / "onnx").exists()


def test_default_model_gives_the_same_tags_in_onnx_runtime(default_model, seed_test, backend):
    texts = [e.text for e in seed_test[:120]]
    backend("torch")
    proba_torch, res_torch = default_model.predict_proba(texts), default_model.predict(texts)
    backend("onnx")
    proba_onnx, res_onnx = default_model.predict_proba(texts), default_model.predict(texts)
    default_model.load_encoder().onnx = None  # the session-wide model goes back to torch for the other tests
    assert np.abs(proba_torch - proba_onnx).max() < 1e-3
    assert [{t.theme for t in r.themes} for r in res_torch] == [{t.theme for t in r.themes} for r in res_onnx]
    assert [r.sentiment for r in res_torch] == [r.sentiment for r in res_onnx]


def test_int8_graph_is_made_once_and_stays_close(tiny_encoder_dir, tmp_path):
    vectors = load_encoder(str(tiny_encoder_dir), backend="onnx", cache_dir=tmp_path).encode(TEXTS)
    encoder = load_encoder(str(tiny_encoder_dir), backend="onnx-int8", cache_dir=tmp_path)
    assert encoder.transformer.path.name.endswith("-int8-sq1.onnx") and encoder.transformer.quantized
    assert encoder.transformer.serves(64)  # the int8 graph takes every batch size
    quantized = encoder.encode(TEXTS)
    cosine = np.sum(quantized * vectors, axis=1)
    assert cosine.min() > 0.95 and not np.allclose(quantized, vectors, atol=1e-6)  # close, but really int8
    assert sorted(p.name for p in (tmp_path / "onnx").glob("*.onnx")) == sorted(
        [encoder.transformer.path.name, encoder.transformer.path.name.replace("-int8-sq1", "")])


def test_int8_states_of_an_answer_do_not_depend_on_its_batch(tiny_encoder_dir, tmp_path):
    """The int8 graph scales each MatMul input by its largest value; run as one batch, a long answer beside a
    short one (or the padding) would change the short one's states. Each answer runs alone, so they are equal."""
    encoder = load_encoder(str(tiny_encoder_dir), backend="onnx-int8", cache_dir=tmp_path)
    transformer, tokenizer = encoder.transformer, encoder.model.tokenizer
    loud = "TERRIBLE!!! " * 30 + "the invoice was wrong, the app crashed, nobody called back " * 3

    def states(texts: list[str]) -> np.ndarray:
        enc = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="np")
        return transformer(enc["input_ids"], enc["attention_mask"])

    alone = states([TEXTS[1]])[0]
    beside = states([TEXTS[1], loud, TEXTS[4]])[0]
    assert np.array_equal(beside[: len(alone)], alone) and not beside[len(alone) :].any()  # padding left zero
    exact = load_encoder(str(tiny_encoder_dir), backend="onnx", cache_dir=tmp_path).transformer
    enc = tokenizer([TEXTS[1], loud], padding=True, truncation=True, max_length=64, return_tensors="np")
    assert not np.array_equal(exact(enc["input_ids"], enc["attention_mask"])[0, : len(alone)], alone)  # really int8


def test_classifier_trains_on_exact_states_even_with_the_int8_backend(tiny_encoder_dir, tmp_path, backend):
    from nps_nlp import FeedbackClassifier, load_taxonomy

    texts = TEXTS * 6
    labels = [["billing_payment"], ["delivery_waiting"], ["reliability_outages"], [], ["staff_attitude"]] * 6
    fitted = {}
    for name in ("torch", "onnx-int8"):
        backend(name)
        # the whole generic taxonomy: its untrained themes get zero-shot prototypes, computed from the encoder
        fitted[name] = FeedbackClassifier(str(tiny_encoder_dir), taxonomy=load_taxonomy(), epochs=3, lexical_weight=0,
                                          cache_dir=tmp_path).fit(texts, labels)
    # the same features, so the same model; predicting with int8 is close to float32
    assert np.abs(fitted["torch"].prototypes_ - fitted["onnx-int8"].prototypes_).max() < 1e-5
    backend("torch")
    exact = fitted["onnx-int8"].predict_proba(TEXTS)
    backend("onnx-int8")
    assert np.abs(fitted["onnx-int8"].predict_proba(TEXTS) - exact).max() < 0.1
    assert fitted["onnx-int8"].load_encoder().onnx.quantized


def test_default_model_in_int8_keeps_most_tags(default_model, seed_test, backend):
    texts = [e.text for e in seed_test[:120]]
    backend("torch")
    res_torch = default_model.predict(texts)
    backend("onnx-int8")
    res_int8 = default_model.predict(texts)
    default_model.load_encoder().onnx = None
    pairs = [({t.theme for t in a.themes}, {t.theme for t in b.themes}) for a, b in zip(res_torch, res_int8, strict=True)]
    # theme agreement as a micro-F1 of int8 tags against float32 tags (a changed borderline theme costs a little)
    agreement = 2 * sum(len(a & b) for a, b in pairs) / sum(len(a) + len(b) for a, b in pairs)
    same_sentiment = np.mean([a.sentiment == b.sentiment for a, b in zip(res_torch, res_int8, strict=True)])
    assert agreement >= 0.9 and same_sentiment >= 0.95, (agreement, same_sentiment)
