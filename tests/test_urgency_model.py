"""The learned urgency reading: thresholds at the wanted precision, the score's band, persistence, bad input."""

import numpy as np
import pytest

from nps_nlp.errors import DataValidationError
from nps_nlp.urgency_model import UrgencyModel


def _answers(n: int = 600, seed: int = 0, overlap: float = 0.0):
    """Answer vectors in three clusters (none, high, critical). With ``overlap`` that share of the urgent answers
    sits in the calm cluster, told apart only by their low scores (calm answers there score 7-10)."""
    rng = np.random.default_rng(seed)
    levels = rng.choice(["none", "none", "high", "critical"], n)
    centres = {"none": np.zeros(8), "high": np.eye(8)[0] * 3, "critical": np.eye(8)[1] * 3}
    hidden = (levels != "none") & (rng.random(n) < overlap)
    vectors = np.array([centres["none" if h else lv] for lv, h in zip(levels, hidden, strict=False)]) + rng.normal(0, 0.6, (n, 8))
    scores = [float(rng.integers(0, 3)) if lv != "none" else float(rng.integers(7, 11)) for lv in levels]
    return vectors, list(levels), scores


def test_calls_critical_and_alerts_on_clear_cases_and_survives_json():
    x, y, _ = _answers()
    model = UrgencyModel().fit(x, y)
    x2, y2, _ = _answers(seed=1)
    called = [s["level"] for s in model.signal(x2)]
    critical = [c == "critical" for c in called]
    hits = sum(c and g == "critical" for c, g in zip(critical, y2, strict=False))
    assert hits / max(1, sum(critical)) >= 0.9 and hits / y2.count("critical") >= 0.8
    again = UrgencyModel.from_dict(model.to_dict())
    assert again.signal(x2[:20]) == model.signal(x2[:20])
    assert not model.to_dict()["uses_scores"]


def test_the_score_band_finds_urgent_answers_that_sound_calm():
    x, y, s = _answers(overlap=0.4)
    plain = UrgencyModel().fit(x, y)
    aware = UrgencyModel().fit(x, y, s)
    x2, y2, s2 = _answers(seed=1, overlap=0.4)

    def alert_recall(signals):
        urgent = [g != "none" for g in y2]
        return sum(sig["level"] != "none" and u for sig, u in zip(signals, urgent, strict=False)) / sum(urgent)

    assert alert_recall(aware.signal(x2, s2)) > alert_recall(plain.signal(x2)) + 0.1
    # a model fitted without scores ignores them; one fitted with them reads an unknown score as no band
    assert plain.signal(x2[:5], s2[:5]) == plain.signal(x2[:5])
    assert len(aware.signal(x2[:5], [None] * 5)) == 5 and len(aware.signal(x2[:5])) == 5
    again = UrgencyModel.from_dict(aware.to_dict())
    assert again.signal(x2[:20], s2[:20]) == aware.signal(x2[:20], s2[:20])


def test_bad_input_is_refused_before_fitting():
    x, y, s = _answers(n=100)
    with pytest.raises(DataValidationError, match="vectors for"):
        UrgencyModel().fit(x[:50], y)
    with pytest.raises(DataValidationError, match="scores"):
        UrgencyModel().fit(x, y, s[:10])
    with pytest.raises(DataValidationError, match="unknown urgency level"):
        UrgencyModel().fit(x, ["urgent"] * 100)
    with pytest.raises(DataValidationError, match="high or critical"):
        UrgencyModel().fit(x, ["none"] * 98 + ["high", "critical"])


def _long_answers(n: int = 400, seed: int = 0):
    """Token states of answers of 20-40 calm tokens; in the urgent ones a single token points to its level, so the
    answer's mean hardly moves while its maximum does."""
    rng = np.random.default_rng(seed)
    levels = list(rng.choice(["none", "none", "high", "critical"], n))
    states = []
    for level in levels:
        tokens = rng.normal(0, 1.0, (int(rng.integers(20, 41)), 8))
        if level != "none":
            tokens[int(rng.integers(len(tokens))), {"high": 0, "critical": 1}[level]] += 6.0
        states.append(tokens)
    return states, levels


def test_max_pooling_finds_the_one_alarming_sentence_the_mean_averages_away():
    states, levels = _long_answers()
    states2, levels2 = _long_answers(seed=1)

    def critical_recall(model):
        model.fit(model.vectors(states), levels)
        called = [s["level"] for s in model.signal(model.vectors(states2))]
        return sum(c == "critical" and g == "critical" for c, g in zip(called, levels2, strict=True)) / levels2.count(
            "critical")

    assert UrgencyModel().pooling == "mean+max"
    assert critical_recall(UrgencyModel()) > critical_recall(UrgencyModel(pooling="mean")) + 0.3
    assert UrgencyModel().vectors(states[:3]).shape == (3, 16)
    assert UrgencyModel(pooling="mean").vectors(states[:3]).shape == (3, 8)


def test_pooling_is_saved_and_models_saved_before_it_read_the_mean():
    states, levels = _long_answers()
    model = UrgencyModel()
    model.fit(model.vectors(states), levels)
    again = UrgencyModel.from_dict(model.to_dict())
    assert again.pooling == "mean+max"
    assert again.signal(again.vectors(states[:20])) == model.signal(model.vectors(states[:20]))
    old = UrgencyModel(pooling="mean")
    old.fit(old.vectors(states), levels)
    saved = old.to_dict()
    del saved["pooling"]
    assert UrgencyModel.from_dict(saved).pooling == "mean"
    with pytest.raises(DataValidationError, match="unknown urgency pooling"):
        UrgencyModel(pooling="attention")
