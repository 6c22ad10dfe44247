"""Score fusion: the NPS score read with the text, calibrated, reconciled; and its place in the classifier."""

import numpy as np
import pytest

from nps_nlp import FeedbackClassifier, FeedbackResult, ThemeResult
from nps_nlp.errors import DataValidationError
from nps_nlp.score_fusion import ScoreFusion, check_scores, final_readings, mention_context, reconcile

NEG, NEU, POS = [0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]


def _synthetic(n: int = 600, seed: int = 0):
    """Answers whose text reads positive but means negative when the score is low (irony), 1 in 4 of the
    low scores; sincere answers elsewhere. The text model sees only the surface."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 11, n).astype(float)
    truth, surface = [], []
    for s in scores:
        label = "negative" if s <= 4 else "neutral" if s <= 7 else "positive"
        ironic = s <= 3 and rng.random() < 0.25
        truth.append(label)
        surface.append("positive" if ironic else label)
    text_p = np.array([{"negative": NEG, "neutral": NEU, "positive": POS}[x] for x in surface])
    text_p = text_p + rng.uniform(0, 0.05, text_p.shape)
    return text_p / text_p.sum(1, keepdims=True), scores, truth


def test_fusion_reads_irony_from_a_low_score_and_keeps_sincere_praise():
    p, s, y = _synthetic()
    fusion = ScoreFusion().fit(p, s, y, p, p, s, y)
    out = fusion.overall(np.array([POS, POS]), [1, 10])
    assert out[0].argmax() == 0  # "great, another outage" with a 1
    assert out[1].argmax() == 2  # "perfect, as always" with a 10
    # without a score the text's own reading stays, unchanged
    assert np.allclose(fusion.overall(np.array([POS]), [None]), [POS])


def test_fusion_is_calibrated_and_better_than_the_text_alone():
    p, s, y = _synthetic(seed=1)
    fusion = ScoreFusion().fit(p, s, y, p, p, s, y)
    p2, s2, y2 = _synthetic(seed=2)
    gold = np.array([["negative", "neutral", "positive"].index(v) for v in y2])
    fused = fusion.overall(p2, list(s2))
    assert (fused.argmax(1) == gold).mean() > (p2.argmax(1) == gold).mean() + 0.03
    assert np.allclose(fused.sum(1), 1)
    top = fused.max(1)
    # calibrated: mean confidence close to accuracy on unseen data
    assert abs(top.mean() - (fused.argmax(1) == gold).mean()) < 0.05


def test_fusion_survives_a_round_trip_through_json():
    p, s, y = _synthetic()
    fusion = ScoreFusion().fit(p, s, y, p, p, s, y)
    again = ScoreFusion.from_dict(fusion.to_dict())
    assert np.allclose(again.polarity(p[:5], p[:5], list(s[:5])), fusion.polarity(p[:5], p[:5], list(s[:5])))


def test_mention_context_marks_answers_with_several_themes_or_a_contrast_word():
    out = mention_context(["Great staff but the invoice was wrong", "Fint", "Bra pris, men appen er treg", ""],
                          [2, 1, 1, 0])
    assert out.tolist() == [[1, 1], [1, 1], [0, 0], [0, 1]]


def _mixed(n: int = 1200, seed: int = 0):
    """Theme mentions whose text leans the right way 3 times in 4; the score agrees with the theme in 19 answers
    in 20 without a contrast word, but only half of the time in answers with one (a 2 that blames the invoice,
    not the praised staff)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["negative", "positive"], n)
    contrast = rng.random(n) < 0.5
    agrees = np.where(contrast, rng.random(n) < 0.5, rng.random(n) < 0.95)
    scores = np.array([(1.0 if (t == "negative") == a else 9.0) for t, a in zip(truth, agrees, strict=False)])
    shown = np.where(rng.random(n) < 0.75, truth, np.where(truth == "negative", "positive", "negative"))
    p = np.array([[0.6, 0.1, 0.3] if x == "negative" else [0.3, 0.1, 0.6] for x in shown])
    p = p + rng.uniform(0, 0.05, p.shape)
    mentions = np.stack([contrast, contrast], 1).astype(float)
    return p / p.sum(1, keepdims=True), scores, list(truth), mentions


def test_fusion_with_mention_context_trusts_the_score_less_in_mixed_answers():
    p, s, y, m = _mixed()
    plain = ScoreFusion().fit(p, s, y, p, p, s, y)
    aware = ScoreFusion().fit(p, s, y, p, p, s, y, theme_mentions=m)
    p2, s2, y2, m2 = _mixed(seed=1)
    gold = np.array([["negative", "neutral", "positive"].index(v) for v in y2])
    acc_plain = (plain.polarity(p2, p2, list(s2)).argmax(1) == gold).mean()
    acc_aware = (aware.polarity(p2, p2, list(s2), m2).argmax(1) == gold).mean()
    assert acc_aware > acc_plain + 0.05
    with pytest.raises(ValueError, match="mention_context"):
        aware.polarity(p2, p2, list(s2))
    again = ScoreFusion.from_dict(aware.to_dict())
    assert np.allclose(again.polarity(p2[:9], p2[:9], list(s2[:9]), m2[:9]), aware.polarity(p2[:9], p2[:9], list(s2[:9]), m2[:9]))
    # a fusion saved before mention context existed reads without it
    old = plain.to_dict()
    old.pop("mention_context")
    assert np.allclose(ScoreFusion.from_dict(old).polarity(p2[:9], p2[:9], list(s2[:9]), m2[:9]),
                       plain.polarity(p2[:9], p2[:9], list(s2[:9])))


def test_fusion_rejects_bad_input_before_fitting():
    p, s, y = _synthetic(n=50)
    with pytest.raises(DataValidationError, match="at least"):
        ScoreFusion(min_examples=100).fit(p, s, y, p, p, s, y)
    with pytest.raises(DataValidationError, match="0-10"):
        ScoreFusion().fit(p, s + 20, y, p, p, s, y)
    with pytest.raises(DataValidationError, match="unknown sentiment"):
        ScoreFusion().fit(p, s, ["good"] * 50, p, p, s, y)


@pytest.mark.parametrize(("overall", "themes", "expect_overall", "expect_themes"), [
    (NEG, [POS, POS], "positive", ["positive", "positive"]),  # weak overall yields to the themes
    ([0.97, 0.02, 0.01], [[0.3, 0.2, 0.5]], "negative", ["negative"]),  # confident overall, weak theme
    ([0.95, 0.04, 0.01], [[0.01, 0.04, 0.95]], "negative", ["positive"]),  # both confident: it stands
    (NEG, [POS, NEG], "negative", ["positive", "negative"]),  # mixed themes are no contradiction
    (NEU, [POS], "neutral", ["positive"]),
])
def test_reconcile(overall, themes, expect_overall, expect_themes):
    o, t = reconcile(np.array(overall), np.array(themes))
    names = ["negative", "neutral", "positive"]
    assert names[int(o.argmax())] == expect_overall
    assert [names[int(p.argmax())] for p in t] == expect_themes


def test_final_readings_never_leave_a_weak_contradiction():
    result = FeedbackResult("fine staff", "en", 1.0, "negative", -0.7,
                            [ThemeResult("staff_attitude", 0.9, "positive", 0.7)])
    out = final_readings([(result, np.array(NEG), [np.array(POS)])], [None], None)[0]
    assert out.sentiment == "positive" and out.themes[0].sentiment == "positive"


def test_check_scores():
    assert check_scores(None, 2, False) == [None, None]
    assert check_scores(7, 1, True) == [7.0]
    assert check_scores([1, None], 2, False) == [1.0, None]
    with pytest.raises(DataValidationError, match="2 texts but 1 scores"):
        check_scores([1], 2, False)
    with pytest.raises(DataValidationError, match="0-10"):
        check_scores([11, True], 2, False)


def test_classifier_learns_and_saves_its_score_fusion(tiny_encoder_dir, tmp_path):
    train = [("great staff", {"staff_attitude": "positive"}, "positive"),
             ("rude staff", {"staff_attitude": "negative"}, "negative"),
             ("the invoice was wrong", {"billing_payment": "negative"}, "negative"),
             ("cheap and great value", {"price_value": "positive"}, "positive")] * 4
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=20, learning_rate=2e-2, batch_size=8)
    texts, themes, sentiment = zip(*train, strict=True)
    clf.fit(list(texts), list(themes), sentiment=list(sentiment))
    # held-out answers where the same praise with a low score is a complaint
    cal = [("great staff", 1, "negative", {"staff_attitude": "negative"}),
           ("great staff", 10, "positive", {"staff_attitude": "positive"}),
           ("cheap and great value", 0, "negative", {"price_value": "negative"}),
           ("cheap and great value", 9, "positive", {"price_value": "positive"})] * 10
    x, s, y, t = zip(*cal, strict=True)
    clf.fit_score_fusion(list(x), list(s), list(y), list(t))
    low, high = clf.predict(["great staff", "great staff"], scores=[0, 10])
    assert low.sentiment == "negative" and low.themes[0].sentiment == "negative"
    assert high.sentiment == "positive"
    loaded = FeedbackClassifier.load(clf.save(tmp_path / "m"))
    assert (tmp_path / "m" / "score_fusion.json").is_file()
    assert loaded.predict("great staff", scores=0).sentiment == "negative"
    # without a score the text alone decides, as before
    assert loaded.predict("great staff").sentiment == clf.predict("great staff").sentiment
