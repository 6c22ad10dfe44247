"""FeedbackClassifier behaviour on a tiny random encoder (fast) and the shipped default model (real)."""

import numpy as np
import pytest

from nps_nlp import FeedbackClassifier, FeedbackResult, load_taxonomy
from nps_nlp.errors import DataValidationError, ModelLoadError, NotFittedError, TaxonomyError

TRAIN = [
    ("great friendly staff", {"staff_attitude": "positive"}, "positive"),
    ("rude staff", {"staff_attitude": "negative"}, "negative"),
    ("the invoice was wrong", {"billing_payment": "negative"}, "negative"),
    ("charged twice on my bill", {"billing_payment": "negative"}, "negative"),
    ("cheap and great value", {"price_value": "positive"}, "positive"),
    ("very expensive", {"price_value": "negative"}, "negative"),
    ("vriendelijk personeel", {"staff_attitude": "positive"}, "positive"),
    ("factuur was fout", {"billing_payment": "negative"}, "negative"),
    ("veldig dyrt", {"price_value": "negative"}, "negative"),
    ("hyggelig ansatte", {"staff_attitude": "positive"}, "positive"),
    ("ok", {}, "neutral"),
    ("was fine", {}, "neutral"),
] * 3


@pytest.fixture(scope="module")
def tiny_model(tiny_encoder_dir):
    # the whole generic taxonomy: its themes without examples are matched zero-shot
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), taxonomy=load_taxonomy(), epochs=80, learning_rate=2e-2,
                             batch_size=8)
    texts, themes, sentiment = zip(*TRAIN, strict=True)
    return clf.fit(list(texts), list(themes), sentiment=list(sentiment))


def test_fit_learns_labels_thresholds_and_zero_shot(tiny_model):
    assert tiny_model.labels_ == ["staff_attitude", "price_value", "billing_payment"]  # taxonomy order
    assert set(tiny_model.thresholds_) == set(tiny_model.labels_)
    assert all(0.0 < t < 1.0 for t in tiny_model.thresholds_.values())
    # every other theme of the given taxonomy falls back to its descriptions
    assert "delivery_waiting" in tiny_model.zero_shot_labels_
    assert tiny_model.prototypes_.shape[0] >= len(tiny_model.zero_shot_labels_)


def test_own_themes_without_a_taxonomy_give_a_model_of_exactly_those_themes(tiny_encoder_dir):
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=5, batch_size=8)
    texts, themes, sentiment = zip(*TRAIN, strict=True)
    clf.fit(list(texts), list(themes), sentiment=list(sentiment))
    assert clf.labels_ == ["staff_attitude", "price_value", "billing_payment"]
    assert clf.zero_shot_labels_ == [] and clf.taxonomy_.ids == clf.labels_
    found = {t.theme for r in clf.predict(["the parcel was late", "rude staff"]) for t in r.themes}
    assert found <= set(clf.labels_)


def test_training_fits_the_training_data(tiny_model):
    proba = tiny_model.predict_proba([t for t, _, _ in TRAIN[:12]])
    gold = np.array([[label in themes for label in tiny_model.labels_] for _, themes, _ in TRAIN[:12]])
    # a model that learned nothing would not separate positives from negatives
    assert proba[gold].mean() > proba[~gold].mean() + 0.3


def test_predict_shapes_and_fields(tiny_model):
    one = tiny_model.predict("the invoice was wrong")
    assert isinstance(one, FeedbackResult)
    many = tiny_model.predict(["the invoice was wrong", "rude staff", ""])
    assert [r.text for r in many] == ["the invoice was wrong", "rude staff", ""]
    assert tiny_model.predict_proba("rude staff").shape == (3,)
    empty = many[2]
    assert empty.lang == "und" and empty.themes == [] and empty.sentiment == "neutral"
    for r in many[:2]:
        assert r.sentiment in ("negative", "neutral", "positive") and -1 <= r.sentiment_score <= 1
        for t in r.themes:
            assert r.text[t.evidence.start : t.evidence.end] == t.evidence.text
            assert 0 <= t.confidence <= 1


def test_save_and_load_roundtrip(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "m")
    loaded = FeedbackClassifier.load(tmp_path / "m")
    texts = ["great friendly staff", "factuur was fout"]
    assert np.allclose(loaded.predict_proba(texts), tiny_model.predict_proba(texts), atol=1e-5)
    assert loaded.labels_ == tiny_model.labels_ and loaded.thresholds_ == tiny_model.thresholds_


def test_validation_errors_before_compute(tiny_encoder_dir):
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir))
    with pytest.raises(DataValidationError, match="must align"):
        clf.fit(["a", "b"], [{}])
    with pytest.raises(DataValidationError, match="row 1: empty"):
        clf.fit(["good", "  "], [{}, {}])
    with pytest.raises(DataValidationError, match="polarity 'great'"):
        clf.fit(["good"], [{"staff_attitude": "great"}])
    with pytest.raises(DataValidationError, match="not in taxonomy"):
        FeedbackClassifier(encoder=str(tiny_encoder_dir), taxonomy=load_taxonomy()).fit(
            ["good", "bad"], [{"staff_attitude": None}, {"made_up_theme": None}])
    with pytest.raises(DataValidationError, match="no labels"):
        clf.fit(["good", "bad"])
    with pytest.raises(DataValidationError, match="not one string"):
        clf.fit("good")


def test_foreign_labels_get_their_own_taxonomy(tiny_encoder_dir):
    texts = ["great food", "slow service", "great food and slow service"] * 4
    y = [{"FOOD#QUALITY": "positive"}, {"SERVICE#GENERAL": "negative"},
         {"FOOD#QUALITY": "positive", "SERVICE#GENERAL": "negative"}] * 4
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=3).fit(texts, y)
    assert clf.labels_ == ["FOOD#QUALITY", "SERVICE#GENERAL"] and clf.zero_shot_labels_ == []


def test_model_with_foreign_labels_loads_again(tiny_encoder_dir, tmp_path):
    # a model trained straight on a dataset's own labels (nps-nlp train --format semeval2016) must load for
    # evaluate/classify, although such ids are not valid in a taxonomy file people write
    texts = ["great food", "slow service", "great food and slow service"] * 4
    y = [{"FOOD#QUALITY": "positive"}, {"SERVICE#GENERAL": "negative"},
         {"FOOD#QUALITY": "positive", "SERVICE#GENERAL": "negative"}] * 4
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=3).fit(texts, y)
    loaded = FeedbackClassifier.load(clf.save(tmp_path / "m"))
    assert loaded.labels_ == clf.labels_ and loaded.taxonomy_.ids == clf.taxonomy_.ids
    assert loaded.predict_proba(["great food"]).tolist() == clf.predict_proba(["great food"]).tolist()
    with pytest.raises(TaxonomyError, match="snake_case"):  # a taxonomy file people write keeps the rule
        load_taxonomy(tmp_path / "m" / "taxonomy.yaml")


@pytest.mark.parametrize("mode", ["context", "clauses"])
def test_evidence_modes(default_model, monkeypatch, mode):
    """NPS_EVIDENCE=context scores clauses cut from the answer's encoding; clauses encodes each clause on its own
    (one more encoder pass). Both pick the right clause here and agree between a list and single answers."""
    from nps_nlp._settings import get_settings

    monkeypatch.setenv("NPS_EVIDENCE", mode)
    get_settings.cache_clear()
    passes = []
    states = default_model.token_states
    monkeypatch.setattr(default_model, "token_states", lambda texts, **kw: passes.append(kw.get("desc")) or states(texts, **kw))
    try:
        texts = ["Great staff but the invoice was wrong again", "Snel geleverd, maar de app crasht steeds."]
        together = default_model.predict(texts)
        staff, bill = together[0].theme("staff_attitude"), together[0].theme("billing_payment")
        assert "invoice" in bill.evidence.text and "staff" in staff.evidence.text
        assert ("evidence" in passes) == (mode == "clauses")
        alone = [default_model.predict(t) for t in texts]
        assert [[(t.theme, t.evidence) for t in r.themes] for r in together] == \
            [[(t.theme, t.evidence) for t in r.themes] for r in alone]
    finally:
        get_settings.cache_clear()


def test_clause_scores_blend_the_lexical_model(default_model):
    # the n-gram model is part of a clause's theme score too, as of the whole answer's
    from nps_nlp._classifier.evidence import clause_scores
    from nps_nlp.text import split_clauses

    text = "Great staff but the invoice was wrong again"
    out = default_model.head_outputs([text])
    args = ([split_clauses(text, "en")], ["en"], out.states, out.offsets)
    settings = {"head": default_model.head_, "n_labels": len(default_model.labels_), "batch_size": 8}
    blended = clause_scores(*args, **settings, blend=default_model.blend_lexical)[0]
    alone = clause_scores(*args, **settings, blend=lambda proba, texts, langs: proba)[0]
    assert [c.text for c in blended["clauses"]] == [c.text for c in alone["clauses"]]
    assert np.allclose(blended["polarity"], alone["polarity"])
    assert not np.allclose(blended["detect"], alone["detect"], atol=1e-3)


def test_predict_given_themes(default_model):
    """themes=: the given themes are reported (sentiment and evidence as if detected), no others, none dropped."""
    texts = ["Great staff but the invoice was wrong again", "Levering was snel"]
    detected = default_model.predict(texts[0])
    given = default_model.predict(texts, themes=[["billing_payment", "staff_attitude"], ["price_value"]])
    assert [t.theme for t in given[0].themes] == [t.theme for t in detected.themes]
    assert [(t.sentiment, t.evidence) for t in given[0].themes] == [(t.sentiment, t.evidence) for t in detected.themes]
    assert [t.theme for t in given[1].themes] == ["price_value"]  # not detected, reported all the same
    assert given[1].theme("price_value").confidence < default_model.thresholds_["price_value"]
    assert default_model.predict(texts[1], themes=[]).themes == []
    with pytest.raises(ValueError, match="no head for parking"):
        default_model.predict(texts, themes=[["parking"], []])
    with pytest.raises(ValueError, match="one list of theme ids per answer"):
        default_model.predict(texts, themes=["billing_payment", "staff_attitude"])


def test_not_fitted_and_bad_model_dir(tmp_path):
    with pytest.raises(NotFittedError):
        FeedbackClassifier().predict("x")
    with pytest.raises(ModelLoadError, match="not an nps-nlp model directory"):
        FeedbackClassifier.load(tmp_path)


# ---------------------------------------------------------------- the shipped default model


def test_default_model_reads_mixed_feedback(default_model):
    result = default_model.predict("Great staff but the invoice was wrong again")
    assert result.lang == "en"
    staff, bill = result.theme("staff_attitude"), result.theme("billing_payment")
    assert staff is not None and staff.sentiment == "positive"
    assert bill is not None and bill.sentiment == "negative"
    assert "invoice" in bill.evidence.text and "staff" in staff.evidence.text


@pytest.mark.parametrize(
    ("text", "theme", "sentiment"),
    [
        ("De factuur klopte weer niet en niemand belt terug", "billing_payment", "negative"),
        pytest.param("Leveringen kom to dager for sent", "delivery_waiting", "negative",
                     marks=pytest.mark.xfail(strict=True, reason="known weakness of the default model: this "
                                             "Bokmål lateness phrase is read as positive")),
        ("Internet ligt er al twee dagen uit", "reliability_outages", "negative"),
        ("Super vriendelijke medewerker in de winkel", "staff_attitude", "positive"),
    ],
)
def test_default_model_in_dutch_and_norwegian(default_model, text, theme, sentiment):
    result = default_model.predict(text)
    found = result.theme(theme)
    assert found is not None, result.themes
    assert found.sentiment == sentiment


def test_default_model_sentiment_follows_nps_bands(default_model, seed_test):
    scored = [e for e in seed_test if e.score is not None][:200]
    results = default_model.predict([e.text for e in scored])
    det = [r.sentiment != "positive" for e, r in zip(scored, results, strict=True) if e.score <= 6]
    pro = [r.sentiment != "positive" for e, r in zip(scored, results, strict=True) if e.score >= 9]
    assert np.mean(det) > 0.75 and np.mean(pro) < 0.2


def test_auto_epochs_gives_small_data_enough_steps():
    from nps_nlp._classifier.splits import auto_epochs

    assert auto_epochs(1079, 32) == 40  # 34 steps per epoch: 40 epochs are already 1,360 steps
    assert auto_epochs(216, 32) == 143  # few-shot: 7 steps per epoch -> 1,000 steps
    assert auto_epochs(60, 32) == 250  # capped
    assert auto_epochs(0, 32) == 250
    assert auto_epochs(500, 16, min_steps=3000) == 94


def test_small_data_picks_epoch_and_threshold_by_cross_validation(tiny_model):
    from nps_nlp._classifier.splits import fold_indices, n_folds

    rng = np.random.default_rng(0)

    def folds(n, frozen=True, cv=None):  # as fit splits n answers with the default validation_fraction
        return fold_indices(n, n_folds(cv, n, frozen), FeedbackClassifier().validation_fraction, rng)

    assert len(folds(200)) == 5 and sorted(np.concatenate(folds(200)).tolist()) == list(range(200))  # disjoint, complete
    holdout = folds(1500)
    assert len(holdout) == 1 and len(holdout[0]) == 225  # enough data: one hold-out of validation_fraction
    assert len(folds(200, frozen=False)) == 1  # a fine-tuned encoder: always one hold-out
    assert len(folds(200, cv=3)) == 3
    assert len(folds(200, cv=1)) == 1
    assert folds(12) == []  # too little to hold anything out
    # the tiny model (36 answers) was tuned on out-of-fold predictions: one global threshold, epoch in range
    assert len(set(tiny_model.thresholds_.values())) == 1
    assert 1 <= tiny_model.best_epoch_ <= 80 and tiny_model.get_params()["cv"] is None


def test_refit_trains_again_on_all_answers_from_the_pretrained_layers(tiny_encoder_dir, monkeypatch):
    """After the hold-out picked the epoch, ``refit`` trains once more on every answer for that many epochs,
    and the tuned layers start that run from their pre-trained weights (not from the hold-out run's); by
    default a fine-tuned model is not refitted."""
    import torch

    from nps_nlp._classifier.head_training import HeadTrainer

    texts, themes, sentiment = zip(*TRAIN, strict=True)
    calls = []
    original = HeadTrainer.train

    def recording(self, targets, train_idx, val_idx, epochs, cache, *, tune=True, seed=None):
        if tune:  # the head's linear probe inside each run is not a run of its own
            top = self.layers.model.encoder.layer[-1].output.dense.weight
            calls.append({"n_train": len(train_idx), "n_val": len(val_idx), "epochs": epochs, "top": top.detach().clone()})
        return original(self, targets, train_idx, val_idx, epochs, cache, tune=tune, seed=seed)

    monkeypatch.setattr(HeadTrainer, "train", recording)
    for refit in (True, False, None):
        calls.clear()
        clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), finetune_layers=1, epochs=4, learning_rate=2e-2,
                                 batch_size=8, cv=1, refit=refit, random_state=3)
        top_layer = clf.load_encoder().model.encoder.layer[-1]
        pretrained = top_layer.output.dense.weight.detach().clone()
        clf.fit(list(texts), list(themes), sentiment=list(sentiment))
        tuned = top_layer.output.dense.weight
        assert torch.equal(calls[0]["top"], pretrained) and calls[0]["n_val"] > 0
        if refit:
            assert len(calls) == 2
            assert (calls[1]["n_train"], calls[1]["n_val"], calls[1]["epochs"]) == (len(texts), 0, clf.best_epoch_)
            assert torch.equal(calls[1]["top"], pretrained)  # started over, not from the hold-out run
        else:
            assert len(calls) == 1 and calls[0]["n_train"] < len(texts)
        # the tuned epochs moved the layer, unless the head's linear probe (epoch 0) scored best on the hold-out
        assert torch.equal(tuned, pretrained) == (clf.best_epoch_ == 0)
        if refit is None:  # fitting the same object again starts over from the pre-trained layers: same model
            first = tuned.detach().clone()
            calls.clear()
            clf.fit(list(texts), list(themes), sentiment=list(sentiment))
            assert torch.equal(calls[0]["top"], pretrained)
            assert torch.allclose(top_layer.output.dense.weight, first, atol=1e-6)


def test_finetuning_starts_from_a_linear_probe(tiny_encoder_dir, monkeypatch, fp32_inference):
    """With tuned layers the head is first trained alone on the frozen encoder's final states (LP-FT), for the
    frozen schedule's epochs; the tuned run then continues that head (no second random head) and the probe's
    result (epoch 0) competes with the tuned epochs for the best."""
    import torch

    from nps_nlp import _network
    from nps_nlp._classifier.head_training import HeadTrainer
    from nps_nlp._classifier.splits import auto_epochs

    texts, themes, sentiment = zip(*TRAIN, strict=True)
    heads, runs = [], []
    make_head = _network.LabelAttentionHead.__init__

    def counting(self, *args, **kwargs):
        make_head(self, *args, **kwargs)
        heads.append(self)

    original = HeadTrainer.train

    def recording(self, targets, train_idx, val_idx, epochs, cache, *, tune=True, seed=None):
        weight = self.layers.model.encoder.layer[-1].output.dense.weight
        top = weight.detach().clone()
        best = original(self, targets, train_idx, val_idx, epochs, cache, tune=tune, seed=seed)
        runs.append({"tune": tune, "epochs": epochs, "n_train": len(train_idx), "head": best["head"], "first": cache[0],
                     "moved": not torch.equal(top, weight), "best_epoch": best["epoch"]})
        return best

    monkeypatch.setattr(_network.LabelAttentionHead, "__init__", counting)
    monkeypatch.setattr(HeadTrainer, "train", recording)
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), finetune_layers=1, epochs=3, learning_rate=2e-2,
                             batch_size=8, cv=1)
    final_states = clf.token_states([texts[0]])[0][0]
    clf.fit(list(texts), list(themes), sentiment=list(sentiment))
    probe, tuned = runs  # the probe runs inside the tuned run, so it finishes first
    assert (probe["tune"], tuned["tune"]) == (False, True)
    assert probe["epochs"] == auto_epochs(probe["n_train"], 8) and tuned["epochs"] == 3
    assert not probe["moved"]  # the encoder stays frozen while the head is probed
    assert torch.allclose(probe["first"], final_states, atol=1e-5)  # on the final states, not the cached bottom
    assert len(heads) == 1 and tuned["head"] is probe["head"] is heads[0] is clf.head_
    assert clf.best_epoch_ == tuned["best_epoch"] and 0 <= clf.best_epoch_ <= 3
    assert tuned["moved"] == (clf.best_epoch_ > 0)
    assert len(set(clf.thresholds_.values())) == 1  # few-shot data: one global threshold, also with a hold-out


def test_finetuning_top_layers_over_cached_frozen_states(tiny_encoder_dir, tmp_path, fp32_inference):
    """finetune_layers=1: the frozen bottom layer runs once (cached), the top layer is trained over the cache;
    the cached path and a full encoder pass give the same outputs, and save/load keeps the tuned layer."""
    import torch

    from nps_nlp._classifier.layers import TunedLayers
    from nps_nlp._classifier.outputs import run_head

    # 19 answers: too few to hold any out, so the last tuned epoch is kept (no probe can win over it)
    texts, themes, sentiment = zip(*TRAIN[:19], strict=True)
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), finetune_layers=1, epochs=6, learning_rate=2e-2,
                             batch_size=8)
    transformer = clf.load_encoder().model
    before = {k: v.clone() for k, v in transformer.state_dict().items()}
    clf.fit(list(texts), list(themes), sentiment=list(sentiment))
    after = transformer.state_dict()
    changed = {k.split(".")[2] for k in after if k.startswith("encoder.layer.") and not torch.equal(before[k], after[k])}
    assert changed == {"1"}  # only the top layer moved
    assert torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    sample = list(texts[:12])
    layers = TunedLayers(transformer, clf.finetune_layers)
    bottom = clf.token_states(sample, layer=layers.start)[0]
    cached = run_head(clf.head_, bottom, len(clf.labels_), clf.batch_size, clf.dim, top=layers.run)
    full = clf.head_outputs(sample)
    assert np.allclose(cached.polarity, full.polarity, atol=1e-5)
    assert np.allclose(cached.sentiment, full.sentiment, atol=1e-5)
    clf.save(tmp_path / "m")
    again = FeedbackClassifier.load(tmp_path / "m")
    assert np.allclose(again.predict_proba(sample), clf.predict_proba(sample), atol=1e-5)


def test_predict_from_two_threads_matches_one_thread(default_model, seed_test):
    """The service runs several micro-batches at once (NPS_MICROBATCH_WORKERS): concurrent ``predict`` calls on
    one classifier give the same results as calls one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [e.text for e in seed_test[:48]]
    batches = [texts[i:i + 4] for i in range(0, len(texts), 4)]

    def tags(batch):
        return [(r.lang, r.sentiment, [(t.theme, t.sentiment) for t in r.themes]) for r in default_model.predict(batch)]

    alone = [tags(b) for b in batches]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(tags, batches))
    assert together == alone


def test_encoder_threads_also_sets_torch_threads(tiny_encoder_dir, monkeypatch):
    """``NPS_ENCODER_THREADS`` caps torch's thread pool when a classifier loads its encoder, so side-by-side
    micro-batches do not share one two-thread pool for the head."""
    import torch

    from nps_nlp._settings import get_settings

    before = torch.get_num_threads()
    monkeypatch.setenv("NPS_ENCODER_THREADS", "1")
    get_settings.cache_clear()
    try:
        FeedbackClassifier(encoder=str(tiny_encoder_dir)).load_encoder()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
        get_settings.cache_clear()


def test_predict_on_a_list_matches_one_answer_at_a_time(default_model):
    """Clause scores of all answers in a call run through the head together: evidence and per-theme sentiment
    are the same as for each answer alone (answers with one and with several clauses, and an empty one)."""
    texts = ["Great staff but the invoice was wrong again.",
             "Levering was te laat, en de klantenservice nam niet op. Wel een goede prijs!",
             "", "Appen er nede igjen. Eg vil seie opp avtalen.", "ok",
             "Fast delivery. Terrible app, it crashes every time I try to pay my bill."]
    def tags(result):  # scores differ in the 4th decimal: the encoder pads a list to its longest answer
        return (result.lang, result.sentiment,
                [(t.theme, t.sentiment, t.evidence and (t.evidence.start, t.evidence.end)) for t in result.themes])

    together, alone = default_model.predict(texts), [default_model.predict(t) for t in texts]
    assert [tags(r) for r in together] == [tags(r) for r in alone]
    for a, b in zip(together, alone, strict=True):
        assert [t.sentiment_score for t in a.themes] == pytest.approx([t.sentiment_score for t in b.themes], abs=0.01)
    assert sum(len(r.themes) > 1 for r in together) >= 2  # answers with several themes and clauses were scored


def test_device_is_checked_before_compute(tiny_encoder_dir, monkeypatch):
    """An unknown device, or a GPU where torch sees none, fails before the encoder loads, with the fix."""
    import torch

    from nps_nlp.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(FeedbackClassifier, "load_encoder", lambda self: pytest.fail("compute before validation"))
    texts, themes, sentiment = zip(*TRAIN[:12], strict=True)
    for device, message in [("cuda", "sees no CUDA GPU here; use 'cpu' or 'auto'"), ("gpu0", "unknown device 'gpu0'"),
                            ("meta", "'meta' is not supported")]:
        clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), device=device)
        with pytest.raises(ConfigError, match=message):
            clf.fit(list(texts), list(themes), sentiment=list(sentiment))


def test_auto_device_without_a_gpu_trains_on_the_cpu(tiny_encoder_dir, monkeypatch):
    import torch

    from nps_nlp.encoders._device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    texts, themes, sentiment = zip(*TRAIN[:19], strict=True)
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), finetune_layers=1, epochs=2, batch_size=8, device="auto")
    clf.fit(list(texts), list(themes), sentiment=list(sentiment))
    assert clf.predict_proba(["rude staff"]).shape == (1, len(clf.labels_))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_training_gives_a_cpu_model_that_matches_cpu_training(tiny_encoder_dir, tmp_path, fp32_inference):
    """device='cuda': the encoder, the tuned layer and the head train on the GPU, then come back to the CPU, so
    the model predicts, saves and loads as a CPU-trained one does (and agrees with it up to float noise).
    Runs where torch sees a GPU (measured on an H100)."""
    texts, themes, sentiment = zip(*TRAIN[:19], strict=True)
    models = {}
    for device in ("cpu", "cuda"):
        clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), finetune_layers=1, epochs=6, learning_rate=2e-2,
                                 batch_size=8, device=device)
        models[device] = clf.fit(list(texts), list(themes), sentiment=list(sentiment))
        assert {p.device.type for p in clf.load_encoder().model.parameters()} == {"cpu"}
        assert {p.device.type for p in clf.head_.parameters()} == {"cpu"}
    sample = list(texts[:12])
    gpu, cpu = models["cuda"].predict_proba(sample), models["cpu"].predict_proba(sample)
    # float sums run in another order (and not deterministically) on the GPU: six epochs drift the probabilities
    # by up to a few hundredths (0.047 measured on an H100), the decisions stay the same
    assert np.abs(gpu - cpu).max() < 0.1, np.abs(gpu - cpu).max()
    assert ((gpu >= 0.5) == (cpu >= 0.5)).mean() >= 0.9, (gpu.round(3), cpu.round(3))
    models["cuda"].save(tmp_path / "m")
    again = FeedbackClassifier.load(tmp_path / "m")
    assert np.allclose(again.predict_proba(sample), models["cuda"].predict_proba(sample), atol=1e-5)


def test_ensemble_averages_heads_of_separate_fits(tiny_encoder_dir, tmp_path):
    """``ensemble=N`` trains N heads, each a complete fit with its own seed (split, epoch, thresholds, refit), and
    averages their probabilities and thresholds; the first head is the single-head model of the same seed."""
    import torch

    from nps_nlp._network import HeadEnsemble, LabelAttentionHead, pad_states

    texts, themes, sentiment = (list(x) for x in zip(*TRAIN, strict=True))
    settings = {"encoder": str(tiny_encoder_dir), "epochs": 20, "learning_rate": 2e-2, "batch_size": 8, "random_state": 4}
    single = FeedbackClassifier(**settings, ensemble=1).fit(texts, themes, sentiment=sentiment)
    assert isinstance(single.head_, LabelAttentionHead)
    ensemble = FeedbackClassifier(**settings, ensemble=3).fit(texts, themes, sentiment=sentiment)
    assert isinstance(ensemble.head_, HeadEnsemble) and len(ensemble.head_.heads) == 3
    first = ensemble.head_.heads[0].state_dict()
    assert all(torch.equal(v, first[k]) for k, v in single.head_.state_dict().items())
    assert not torch.equal(ensemble.head_.heads[1].queries, ensemble.head_.heads[0].queries)  # another seed
    # outputs: logits of the heads' mean probabilities, mean attention
    padded, mask = pad_states(ensemble.token_states(["rude staff", "factuur was fout en duur"])[0])
    with torch.no_grad():
        out = ensemble.head_(padded, mask)
        members = [head(padded, mask) for head in ensemble.head_.heads]
        pooled = members[0]["pooled"]
        assert torch.allclose(torch.sigmoid(out["detect"]),
                              torch.stack([torch.sigmoid(m["detect"]) for m in members]).mean(0), atol=1e-5)
        for key in ("polarity", "sentiment"):
            assert torch.allclose(torch.softmax(out[key], -1),
                                  torch.stack([torch.softmax(m[key], -1) for m in members]).mean(0), atol=1e-5)
        assert torch.allclose(out["attention"], torch.stack([m["attention"] for m in members]).mean(0))
        assert torch.allclose(torch.softmax(ensemble.head_.sentiment(pooled), -1), torch.softmax(out["sentiment"], -1),
                              atol=1e-5)
    # 36 answers: each head's one global threshold comes from its own folds; the model's is their mean
    assert len(set(ensemble.thresholds_.values())) == 1
    # saved and loaded as an ensemble
    loaded = FeedbackClassifier.load(ensemble.save(tmp_path / "ensemble"))
    assert isinstance(loaded.head_, HeadEnsemble) and len(loaded.head_.heads) == 3
    probe = ["great friendly staff", "veldig dyrt", "ok"]
    assert np.allclose(loaded.predict_proba(probe), ensemble.predict_proba(probe), atol=1e-6)
    assert loaded.get_params()["ensemble"] == 3


def test_ensemble_settings_are_checked_before_compute(tiny_encoder_dir, monkeypatch):
    from nps_nlp.errors import ConfigError

    monkeypatch.setattr(FeedbackClassifier, "load_encoder", lambda self: pytest.fail("compute before validation"))
    texts, themes, sentiment = zip(*TRAIN[:12], strict=True)
    for settings, message in [({"ensemble": 0}, "whole number of heads >= 1"),
                              ({"ensemble": 2.5}, "whole number of heads >= 1"),
                              ({"ensemble": True}, "whole number of heads >= 1"),
                              ({"ensemble": 3, "finetune_layers": 2}, "needs a frozen encoder.*set ensemble=1")]:
        with pytest.raises(ConfigError, match=message):
            FeedbackClassifier(encoder=str(tiny_encoder_dir), **settings).fit(list(texts), list(themes),
                                                                                sentiment=list(sentiment))
    # the default: 5 heads with a frozen encoder where each is picked on a hold-out (1,000 answers or more, or
    # cv=1); one below (5-fold out-of-fold thresholds already) and when layers are tuned
    from nps_nlp._classifier.splits import n_heads

    assert n_heads(None, frozen=True, n=1500, cv=None) == 5
    assert n_heads(None, frozen=True, n=300, cv=1) == 5
    assert n_heads(None, frozen=True, n=999, cv=None) == 1
    assert n_heads(None, frozen=True, n=1500, cv=5) == 1
    assert n_heads(None, frozen=False, n=1500, cv=None, finetune_layers=2) == 1
    assert n_heads(2, frozen=True, n=30, cv=None) == 2
