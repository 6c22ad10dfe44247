import pytest

from nps_nlp.errors import ConfigError
from nps_nlp.urgency import LEVELS, UrgencyDetector


@pytest.fixture(scope="module")
def detector():
    return UrgencyDetector()


@pytest.mark.parametrize(("text", "code"), [
    ("The website is down right now", "outage"),
    ("De website ligt er alweer uit", "outage"),
    ("Nettbanken er nede nå", "outage"),
    ("Straumen er borte og eg kan ikkje jobbe", "outage"),
    ("Found glass in a jar of pasta sauce", "food_safety"),
    ("Er zat een stukje glas in mijn soep", "food_safety"),
    ("3 unauthorised charges on my card", "fraud"),
    ("Jeg ser en annen kundes faktura i appen", "data_breach"),
    ("My 90 year old mother has no heating", "vulnerable"),
    ("I am cancelling my subscription", "churn"),
    ("Ik zeg mijn abonnement op", "churn"),
    ("Vi sier opp avtalen", "churn"),
    ("Eg seier opp abonnementet", "churn"),
    ("My lawyer will contact you", "legal"),
    ("Ik stap naar de geschillencommissie", "legal"),
    ("Jeg kontakter Forbrukerrådet", "legal"),
    ("The heater is dangerous, it gave an electric shock", "safety"),
    ("Gevaarlijke situatie in de winkel", "safety"),
    ("Ladaren er farleg", "safety"),
    ("I called four times and nobody called back", "repeated_contact"),
    ("Al vijf keer gebeld", "repeated_contact"),
    ("Har ringt tre ganger", "repeated_contact"),
    ("Eg har ringt fleire gonger", "repeated_contact"),
])
def test_cues_in_all_languages(detector, text, code):
    result = detector.assess(text)
    reasons = {r.code: r for r in result.reasons}
    assert code in reasons
    evidence = reasons[code].evidence
    assert evidence is not None and text[evidence.start:evidence.end] == evidence.text


@pytest.mark.parametrize("text", ["Works great, never had an outage", "Geen storingen gehad", "Aldri nede, topp",
                                  "Friendly staff and fast delivery", ""])
def test_no_cue(detector, text):
    assert detector.assess(text, score=9).level == "none"


def test_low_score_with_strong_negative_text_is_a_case_not_an_alert(detector):
    assert detector.assess("Terrible.", score=1, sentiment_score=-0.9).level == "medium"
    assert not detector.assess("Terrible.", score=1, sentiment_score=-0.9).urgent
    assert detector.assess("Terrible.", score=5, sentiment_score=-0.9).level == "low"
    assert UrgencyDetector(low_score_level="high").assess("Terrible.", score=1, sentiment_score=-0.9).urgent
    assert detector.assess("Meh.", score=1, sentiment_score=-0.1).level == "none"
    assert detector.assess("Terrible.", score=8, sentiment_score=-0.9).level == "none"


def test_combined_cues(detector):
    # a vulnerable customer with an outage is critical; an outage and a churn threat stay high
    r = detector.assess("My 90 year old mother has had no heating for 3 days", score=1)
    assert r.level == "critical" and r.urgent and r.reasons[0].code == "vulnerable"
    assert detector.assess("The site is down right now and I am cancelling my contract", score=2).level == "high"
    assert detector.assess("My 90 year old mother loves the app", score=9).level == "medium"


@pytest.mark.parametrize("text", [
    "Sofaen ble skadet under transporten",           # damaged goods are no safety risk
    "Het pakket kwam beschadigd aan",
    "The coffee is dangerously good",                # figures of speech
    "Killer prices, love it",
    "de prijzen zijn moordend",
    "farlig godt brød",
    "Smelled gas, they came within the hour and fixed it, great service",   # solved
    "Had a wrong charge but it was refunded the same day",
    "Never had a single outage",                     # negated
    "ikkje noko straumbrot i år",
])
def test_hard_negatives_raise_no_alert(detector, text):
    assert not detector.assess(text, score=3).urgent


def test_a_negated_resolution_keeps_the_cue(detector):
    assert detector.assess("Gas smell in the hallway, still not fixed", score=1).level == "critical"


def test_promoter_discount_keeps_safety(detector):
    assert detector.assess("The app is down right now", score=10).level == "medium"
    assert detector.assess("The app is down right now", score=3).level == "high"
    assert detector.assess("That socket is dangerous", score=10).level == "critical"


def test_learned_signal_is_one_more_reason(detector):
    r = detector.assess("the lift in your shop dropped a metre with my son in it", score=1,
                        signal={"level": "critical", "critical": 0.9})
    assert r.level == "critical" and r.reasons[0].code == "model"
    assert detector.assess("ok", score=9, signal={"level": "none", "critical": 0.01}).level == "none"


def test_reasons_are_labelled_in_the_answer_language(detector):
    r = detector.assess("Ik zeg op", lang="nl")
    assert r.reasons[0].label == "opzegging of vertrek"


def test_alert_level(tmp_path):
    assert not UrgencyDetector(alert_level="critical").assess("The site is down").urgent
    assert UrgencyDetector(alert_level="medium").assess("The site is down").urgent
    with pytest.raises(ConfigError, match="unknown urgency level"):
        UrgencyDetector(alert_level="severe")


def test_custom_cue_file_and_errors(tmp_path):
    good = tmp_path / "cues.yaml"
    good.write_text("cues:\n  vip:\n    level: low\n    label: VIP\n    patterns:\n      en: [gold member]\n")
    r = UrgencyDetector(cues=good).assess("As a gold member I expect more")
    assert r.level == "low" and r.reasons[0].code == "vip" and r.reasons[0].label == "VIP"
    bad = tmp_path / "bad.yaml"
    bad.write_text("cues:\n  x:\n    level: high\n    patterns:\n      en: ['(unclosed']\n")
    with pytest.raises(ConfigError, match="bad regular expression"):
        UrgencyDetector(cues=bad)
    with pytest.raises(ConfigError, match="does not exist"):
        UrgencyDetector(cues=tmp_path / "missing.yaml")
    assert LEVELS[0] == "none" and LEVELS[-1] == "critical"


def test_pipeline_combines_classifier_urgency_and_routing(default_model):
    from nps_nlp.pipeline import FeedbackPipeline

    pipe = FeedbackPipeline(default_model)
    out = pipe.analyze(["Great staff but the invoice was wrong again", "Nettsida er nede og eg seier opp avtalen", ""],
                       scores=[6, 0, None])
    first, second, empty = out
    assert first.band == "detractor"
    routes = {(r.theme, r.kind) for r in first.routing}
    assert ("staff_attitude", "praise") in routes and ("billing_payment", "problem") in routes
    assert {r.team for r in first.routing} == {default_model.taxonomy_.team_of(t.theme) for t in first.result.themes}
    assert second.urgency.urgent and "churn" in {r.code for r in second.urgency.reasons}
    assert empty.result.lang == "und" and empty.band is None and empty.urgency.level == "none"
    d = second.to_dict()
    assert d["score"] == 0 and d["urgency"]["level"] in ("high", "critical") and d["routing"]
    from nps_nlp.errors import DataValidationError

    with pytest.raises(DataValidationError, match="outside 0-10"):
        pipe.analyze(["x"], scores=[11])
    with pytest.raises(DataValidationError, match="1 texts but 2 scores"):
        pipe.analyze(["x"], scores=[1, 2])
