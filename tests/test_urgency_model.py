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
