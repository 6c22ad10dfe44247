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


# cue families of the 2027 cue round: the general thing in each language, written the way customers write it
@pytest.mark.parametrize(("text", "code", "level"), [
    # safety: electricity, smoke and heat, carbon monoxide, injuries, near misses
    ("the plug on the heater is scorched and the socket crackles", "safety", "critical"),
    ("co alarm keeps going off since your engineer was here", "safety", "critical"),
    ("my dad slipped on a wet floor in your shop and hit his head", "safety", "critical"),
    ("de stekker van de waterkoker is zwart geblakerd", "safety", "critical"),
    ("er kwam zwarte rook uit de oplader", "safety", "critical"),
    ("het stinkt in de gang naar gas", "safety", "critical"),
    ("stikkontakten knitrer og det lukter svidd", "safety", "critical"),
    ("det dirrer i fingrene når jeg tar på kranen", "safety", "critical"),
    ("sonen min fekk eit kraftig støyt frå komfyren", "safety", "critical"),
    ("det kjem gneistar frå koplingsboksen", "safety", "critical"),
    ("far min datt på isen utanfor butikken og braut handleddet", "safety", "critical"),
    # food safety: foreign bodies, allergens, food poisoning
    ("there was a sliver of metal in the bread roll, could have swallowed it", "food_safety", "critical"),
    ("the 'nut free' bar had nuts, we had to use his epipen", "food_safety", "critical"),
    ("een stukje plastic van een handschoen in mijn salade", "food_safety", "critical"),
    ("heel het gezin ziek na de kip, diarree en buikkrampen", "food_safety", "critical"),
    ("det var biter av glass i syltetøyet", "food_safety", "critical"),
    ("hele familien har omgangssyke etter fiskesuppa", "food_safety", "critical"),
    ("eg fann ei plastflis i grauten", "food_safety", "critical"),
    # data breach: someone else's data, our data sent to others
    ("your app showed me another customer's bank details", "data_breach", "critical"),
    ("ik kreeg de loonstrook van iemand anders in mijn mailbox", "data_breach", "critical"),
    ("jeg fikk helseerklæringen til en helt ukjent person", "data_breach", "critical"),
    ("supporten sende meg passordet til eit anna firma", "data_breach", "critical"),
    # fraud: unknown charges, card misuse, account takeover, SIM swap
    ("three purchases on my card that i never made", "fraud", "critical"),
    ("your shop gave a new sim for my number to a stranger", "fraud", "critical"),
    ("iemand heeft mijn account overgenomen en mijn wachtwoord is gewijzigd", "fraud", "critical"),
    ("er staan afschrijvingen op mijn rekening die ik niet herken", "fraud", "critical"),
    ("noen har tatt over kontoen min og bestilt en telefon", "fraud", "critical"),
    ("det er gjort kjøp på kontoen min som eg ikkje har gjort", "fraud", "critical"),
    # threats
    ("the driver told me he knows where i live", "threat", "critical"),
    ("de bezorger zei dat hij weet waar ik woon", "threat", "critical"),
    ("han sa han visste kvar eg bur", "threat", "critical"),
    # legal: courts, regulators, complaint boards, legal cover
    ("next step is court", "legal", "high"),
    ("ik heb een klacht ingediend bij het Kifid", "legal", "high"),
    ("saken ligger nå hos Transportklagenemnda", "legal", "high"),
    ("juristen vår går gjennom kontrakten", "legal", "high"),
    # outage that stops a business now
    ("card terminals are down, we can't take payments and customers are walking out", "outage", "high"),
    ("onze webshop ligt al 3 uur plat, klanten kunnen niet afrekenen", "outage", "high"),
    ("nettbutikken har vært nede siden i morges og vi taper salg", "outage", "high"),
    ("fiberen har vore daud sidan frukost og eg kan ikkje jobbe", "outage", "high"),
    # churn: a competitor, a date, the account closed
    ("signed with a competitor, porting my numbers next week", "churn", "high"),
    ("nieuwe leverancier is al gekozen, opzegging is verstuurd", "churn", "high"),
    ("jeg flytter forsikringene mine til et annet selskap", "churn", "high"),
    ("eg går over til ein annan bank og slettar kontoen", "churn", "high"),
    # escalation: strong anger, a demand for someone senior today, the Nth failure
    ("I'm beyond furious, someone senior needs to call me today", "escalation", "high"),
    ("ik zit te trillen van woede. Bel me terug vandaag.", "escalation", "high"),
    ("jeg er rasende og vil ha en leder på telefonen i dag", "escalation", "high"),
    ("Femte gongen eg ringjer om same feil. Ring meg!", "escalation", "high"),
    # a product the customer wants off the shelves, drinking water, harassment, the press
    ("the heater started to smoulder, please recall these", "safety", "critical"),
    ("de deken begon te smeulen, haal ze uit de schappen", "safety", "critical"),
    ("the tap water smells of chlorine, is it safe to drink?", "food_safety", "critical"),
    ("er det trygt å drikke vannet nå?", "food_safety", "critical"),
    ("i was harassed by your driver on the night bus", "threat", "critical"),
    ("eg vart trakassert av ein tilsett i butikken", "threat", "critical"),
    ("I'm going to the press with this", "legal", "high"),
    ("journalisten i lokalavisa er interessert i saken", "legal", "high"),
])
def test_new_cue_families(detector, text, code, level):
    reasons = {r.code: r for r in detector.assess(text, score=2).reasons}
    assert code in reasons, [(r.code, r.evidence) for r in reasons.values()]
    assert reasons[code].level == level


@pytest.mark.parametrize("text", [
    "my 85 year old mum has been left alone on the platform in the cold",
    "mijn vader is blind en zijn alarmknop werkt al twee dagen niet",
    "rullestolbruker, sitter alene ved gaten og ingen svarer",
    "mor mi på 90 har vore utan straum sidan i går",
])
def test_a_vulnerable_customer_left_without_help_is_critical(detector, text):
    assert detector.assess(text, score=1).level == "critical"


@pytest.mark.parametrize("text", [
    "ferja går ikkje og eg skal på vakt på sjukehuset",            # a hospital as a workplace is no injury
    "ik werk in het ziekenhuis en de trein was weer te laat",
    "found a hair in my salad, gross",                              # disgusting, not dangerous
    "eit hår i suppa, ekkelt",
    "eg trudde det lukta gass, men det var avløpet",                # a worry that was nothing
    "I thought my account was hacked but it was my son logging in",
    "null gasslukt etter at montøren sjekket alt",                  # negated
    "ik ben laaiend enthousiast over de nieuwe app",                # figures of speech
    "bijna van mijn stoel gevallen van de prijs",
    "det er et lite skår i gleden at appen er treg",
    "this is the fifth time we've stayed with you and it was great again",
    "voor de vijfde keer hier geweest, altijd top",
    "ring meg gjerne hvis dere har et bedre tilbud",
    "the website is down for maintenance every sunday night",
    "the item has been unavailable since march",
    "pakken er borte siden mandag",
    "i forhold til konkurrenten er dere billigere",
    "eg byter til eit anna abonnement hos dykk",
    "I moved my mortgage to you last year, best decision",
    "was going to cancel but the new offer made me stay",
    "the pizza came out of the oven smoking hot",
    "de soep was gloeiend heet, lekker",
    "billige flybilletter på kampanje, slo til med en gang",
    "lommeboka blør, men ungene er fornøyde",
    "er lege på legevakta og liker appen dykkar",
    "ik ben bijna gestikt van het lachen om jullie reclame",
    "den nye elsykkelen er livsfarleg morosam",
    "the novel's journalist hero was great fun",
    "the water was cloudy for a day after the works, fine now",
])
def test_near_misses_raise_no_alert(detector, text):
    result = detector.assess(text, score=6)
    assert not result.urgent, [(r.code, r.evidence) for r in result.reasons]


def test_now_in_nynorsk_is_no_negation(detector):
    # "no" is English "no" right before a cue, but Nynorsk "now" in "no er nettet nede"
    assert detector.assess("no har nettsida vore nede heile dagen og vi taper kundar", score=2).urgent
    assert not detector.assess("no outage this year", score=2).urgent


def test_a_quoted_or_pending_resolution_does_not_resolve(detector):
    assert detector.assess("Weer op 'opgelost' gezet terwijl er niks is opgelost. Zevende keer.", score=1).level == "high"
    assert detector.assess("ik zie de loonstrook van iemand anders, dat moet vandaag opgelost worden",
                           score=9).level == "critical"
    assert detector.assess("told it was fixed, still smells of gas", score=1).level == "critical"


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


def test_a_calm_learned_reading_vetoes_cue_alerts_but_keeps_them_in_the_feed(detector):
    text = "Found glass in a jar of pasta sauce"
    calm = {"level": "none", "critical": 0.01, "high": 0.05}
    vetoed = detector.assess(text, score=3, signal=calm)
    assert vetoed.level == "medium" and not vetoed.urgent
    assert vetoed.reasons[0].code == "food_safety" and "glass" in vetoed.reasons[0].evidence.text.lower()
    unsure = {"level": "none", "critical": 0.2, "high": 0.4}
    assert detector.assess(text, score=3, signal=unsure).level == "critical"
    assert detector.assess(text, score=3).level == "critical"  # no learned reading, no veto
    assert UrgencyDetector(model_veto=0).assess(text, score=3, signal=calm).level == "critical"
    assert UrgencyDetector(alert_level="critical").assess(text, score=3, signal=calm).level == "high"
    with pytest.raises(ConfigError, match="model_veto"):
        UrgencyDetector(model_veto=1.5)


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
    unquoted = tmp_path / "unquoted.yaml"
    unquoted.write_text("cues:\n  x:\n    level: high\n    patterns:\n      en:\n        - (?: \\w+)? down\n")
    with pytest.raises(ConfigError, match="not a string; quote"):
        UrgencyDetector(cues=unquoted)
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
