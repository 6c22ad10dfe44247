"""The urgency fusion: what the cues see as features, a learned decision over cues, model and score, and how the
detector applies it (evidence kept, alerts decided by the fusion)."""

import numpy as np
import pytest

from nps_nlp.errors import DataValidationError
from nps_nlp.urgency import UrgencyDetector
from nps_nlp.urgency_fusion import UrgencyFusion
from nps_nlp.urgency_model import UrgencyModel


def test_cue_features_tell_literal_negated_and_negated_sentence_matches_apart():
    detector = UrgencyDetector()
    burnt = detector.cue_features("The charger caught fire in my hands", score=2)
    assert burnt["cue:safety"] == 1 and burnt["discarded:safety"] == 0 and burnt["negated_sentence:safety"] == 0
    assert burnt["level>=4"] == 1 and burnt["resolved"] == 0
    # the negator sits right before the cue: the cue does not count at all
    never = detector.cue_features("The heater never caught fire", score=9)
    assert never["cue:safety"] == 0 and never["discarded:safety"] == 1 and never["level>=1"] == 0
    # the negator is too far from the cue to cancel it, but it is in the same sentence
    for text in ("Nobody was hurt when the heater caught fire", "No one was home when the heater caught fire",
                 "Ingen ble skadet da ovnen tok fyr"):
        nobody = detector.cue_features(text, score=6)
        assert nobody["cue:safety"] == 1 and nobody["negated_sentence:safety"] == 1, text
    alone = detector.cue_features("The heater caught fire. Nobody answered the phone for days", score=6)
    assert alone["negated_sentence:safety"] == 0
    calm = detector.cue_features("Friendly staff and a fair price", score=9)
    assert not any(value for name, value in calm.items())


def _data(n: int = 900, seed: int = 0):
    """Answers whose gold level follows the cue unless its sentence is negated, with a model that is only half
    right: the fusion must learn both."""
    rng = np.random.default_rng(seed)
    features, critical, alert, scores, levels = [], [], [], [], []
    for _ in range(n):
        cue = rng.random() < 0.5
        negated = cue and rng.random() < 0.3
        level = "critical" if cue and not negated else ("high" if rng.random() < 0.25 else "none")
        features.append({"cue:safety": float(cue), "negated_sentence:safety": float(negated),
                         "level>=4": float(cue)})
        p_crit = float(np.clip((0.7 if level == "critical" else 0.3) + rng.normal(0, 0.2), 0.01, 0.99))
        p_alert = float(np.clip((0.8 if level != "none" else 0.3) + rng.normal(0, 0.2), p_crit, 0.99))
        critical.append(p_crit)
        alert.append(p_alert)
        scores.append(float(rng.integers(0, 4)) if level != "none" else float(rng.integers(5, 11)))
        levels.append(level)
    return features, critical, alert, scores, levels


def test_the_fusion_learns_that_a_cue_in_a_negated_sentence_is_no_alert_and_survives_json():
    features, critical, alert, scores, levels = _data()
    fusion = UrgencyFusion().fit(features, critical, alert, scores, levels)
    f2, c2, a2, s2, l2 = _data(seed=1)
    called = [fusion.decide(f, c, a, s)[0] for f, c, a, s in zip(f2, c2, a2, s2, strict=True)]
    negated = [i for i, f in enumerate(f2) if f["negated_sentence:safety"]]
    # the cue rules alone would call every one of them critical
    assert sum(called[i] == "critical" for i in negated) / len(negated) < 0.15
    assert sum(called[i] != "none" for i in negated if l2[i] == "none") / sum(l2[i] == "none" for i in negated) < 0.1
    crit = [c == "critical" for c in called]
    hits = sum(c and g == "critical" for c, g in zip(crit, l2, strict=True))
    assert hits / max(1, sum(crit)) >= 0.9 and hits / l2.count("critical") >= 0.8
    again = UrgencyFusion.from_dict(fusion.to_dict())
    assert [again.decide(f, c, a, s) for f, c, a, s in zip(f2[:30], c2, a2, s2, strict=False)] == \
        [fusion.decide(f, c, a, s) for f, c, a, s in zip(f2[:30], c2, a2, s2, strict=False)]
    # a cue the fusion never saw (another cue file) counts as absent instead of failing
    assert fusion.decide({"cue:my_own_cue": 1.0}, 0.1, 0.2, 8)[0] == "none"


def test_bad_input_is_refused():
    features, critical, alert, scores, levels = _data(n=200)
    with pytest.raises(DataValidationError, match="feature rows"):
        UrgencyFusion().fit(features[:10], critical, alert, scores, levels)
    with pytest.raises(DataValidationError, match="at least 5 answers of each"):
        UrgencyFusion().fit(features, critical, alert, scores, ["none"] * 198 + ["critical"] * 2)
    with pytest.raises(DataValidationError, match="unknown urgency level"):
        UrgencyFusion().fit(features, critical, alert, scores, ["urgent"] * 200)
    with pytest.raises(DataValidationError, match="precision"):
        UrgencyFusion(precision=1.0)


class _Fixed:
    """A stand-in fusion that always gives one level (the detector's handling of each level)."""

    def __init__(self, level: str) -> None:
        self.level = level
        self.seen: list[dict] = []

    def decide(self, features, critical, alert, score=None):
        self.seen.append(features)
        return self.level, critical, alert


def test_the_detector_lets_the_fusion_decide_and_keeps_the_cue_evidence():
    detector = UrgencyDetector()
    text = "The sofa was damaged in transport and the heater caught fire"
    signal = {"critical": 0.2, "high": 0.4, "level": "none"}
    calm = detector.assess(text, score=8, signal=signal, fusion=_Fixed("none"))
    assert not calm.urgent and calm.level == "medium"
    assert calm.reasons and calm.reasons[0].code == "safety" and calm.reasons[0].evidence.text
    high = detector.assess(text, score=8, signal=signal, fusion=_Fixed("high"))
    assert high.urgent and high.level == "high" and high.reasons[0].code == "safety"
    # a critical call that no cue gives comes with the model's reason
    quiet = detector.assess("My mother is ninety and has been alone for days without help", score=1, signal=signal,
                            fusion=_Fixed("critical"))
    assert quiet.level == "critical" and any(r.code == "model" and r.level == "critical" for r in quiet.reasons)
    # without a signal the fusion has nothing to weigh: the cue rules decide as before
    rules = detector.assess(text, score=4, fusion=_Fixed("none"))
    assert rules.level == "critical"


def test_a_detractor_s_literal_critical_cue_stays_critical_whatever_the_fusion_says():
    detector = UrgencyDetector()
    signal = {"critical": 0.02, "high": 0.05, "level": "none"}
    threat = "The technician threatened to hit me"
    assert detector.assess(threat, score=1, signal=signal, fusion=_Fixed("none")).level == "critical"
    # a promoter, an answer without a score, or the floor turned off: the fusion decides
    assert detector.assess(threat, score=9, signal=signal, fusion=_Fixed("none")).level == "medium"
    assert detector.assess(threat, signal=signal, fusion=_Fixed("none")).level == "medium"
    off = UrgencyDetector(detractor_floor=False)
    assert off.assess(threat, score=1, signal=signal, fusion=_Fixed("none")).level == "medium"
    # a cue in a sentence with a negator is left to the fusion
    calm = detector.assess("Nobody was hurt when the heater caught fire", score=3, signal=signal, fusion=_Fixed("none"))
    assert not calm.urgent


def test_an_urgency_model_keeps_its_fusion_through_json():
    rng = np.random.default_rng(0)
    levels = list(rng.choice(["none", "none", "high", "critical"], 300))
    vectors = np.array([{"none": 0.0, "high": 2.0, "critical": 4.0}[lv] for lv in levels])[:, None] \
        + rng.normal(0, 0.5, (300, 4))
    model = UrgencyModel().fit(vectors, levels)
    assert model.oof_proba_.shape == (300, 3) and model.fusion_ is None
    features, critical, alert, scores, _ = _data(n=300)
    model.fusion_ = UrgencyFusion().fit(features, critical, alert, scores, levels)
    again = UrgencyModel.from_dict(model.to_dict())
    assert again.fusion_ is not None and again.fusion_.to_dict() == model.fusion_.to_dict()
    assert UrgencyModel.from_dict({k: v for k, v in model.to_dict().items() if k != "fusion"}).fusion_ is None
