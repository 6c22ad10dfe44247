import pytest

from nps_nlp import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great staff but the invoice was wrong again", "en"),
        ("Geweldig personeel maar de factuur klopte weer niet", "nl"),
        ("Flott personale, men fakturaen var feil igjen", "nb"),
        ("Eg er ikkje nøgd med straumrekninga, ho var altfor høg", "nn"),
        ("Veldig nøgd med tenesta dykkar", "nn"),
        ("Sehr gut, danke, alles wunderbar", "other"),
        ("Très bien, merci beaucoup pour tout", "other"),
        ("ok", "und"),
        ("10", "und"),
        ("👍👍👍", "und"),
        ("", "und"),
    ],
)
def test_detects_product_languages(text, expected):
    result = detect_language(text)
    assert result.lang == expected
    assert 0.0 <= result.confidence <= 1.0
    assert (result.confidence == 0.0) == (expected == "und")


def test_hint_wins_close_calls_but_not_clear_ones():
    assert detect_language("Alt ok", hint="nb").lang == "nb"
    assert detect_language("Great staff but the invoice was wrong again", hint="nl").lang == "en"


# Short answers in languages far from ours. The high-accuracy pass has none of these languages to choose
# and calls each of them English, Dutch or Norwegian: they come out "other" only through the coarse pass.
@pytest.mark.parametrize("text", [
    "Muy mala experiencia.",
    "Me cobraron dos veces.",
    "Tutto bene, grazie.",
    "Tudo certo, obrigado.",
    "Le technicien était en retard.",
    "Wszystko w porządku.",
    "Her şey yolunda, sağ olun.",
    "شكرا على الخدمة الممتازة",
])
def test_far_languages_are_other(text):
    assert detect_language(text).lang == "other"
    assert detect_language(text, hint="nl").lang == "other"


# Answers of ours whose trigrams alone look mostly French, Polish or Turkish: the high-accuracy pass is sure of
# them, so they keep their language.
@pytest.mark.parametrize(("text", "expected"), [
    ("het internet is zo bizar snel, ik schrok me kapot", "nl"),
    ("kzen tevree, merci", "nl"),
    ("snel en stabiel, niks spectaculairs", "nl"),
    ("quality is top", "en"),
    ("Fair price.", "en"),
    ("Løste alt på en telefon. Takk!", "nb"),
])
def test_ours_that_trigrams_misread_keep_their_language(text, expected):
    assert detect_language(text).lang == expected


# Short answers of ours that trigrams read as mostly foreign and the high-accuracy pass is unsure of: without a
# hint they come out "other", but a hint of ours keeps the call with the high-accuracy pass, where it wins.
@pytest.mark.parametrize(("text", "hint"), [("no comment", "en"), ("null stress", "nb"), ("Prima", "nl")])
def test_hint_of_ours_keeps_unsure_short_answers(text, hint):
    assert detect_language(text, hint=hint).lang == hint


# Swedish and Danish answers. The single high-accuracy detector over all fourteen languages took 7 of these as
# one of ours (Danish is often Bokmål to it); the close languages must stay in the high-accuracy pass for the
# rest to stay "other".
SCANDINAVIAN = [
    "Jag är mycket nöjd med servicen.", "Inte nöjd alls", "Mycket bra", "Tack för hjälpen, allt fungerar nu.",
    "Allt bra, tack.", "Teknikern kom för sent.", "Snabb och trevlig service.", "Bra men dyrt",
    "Appen fungerar inte som den ska.", "Jeg er meget tilfreds med jeres service.",
    "Rigtig godt, jeg vil anbefale jer til andre.", "Venlig og hurtig betjening.", "Ikke tilfreds", "Meget godt",
    "Godt tilfreds", "Hurtig levering og god kvalitet.", "Tak for hjælpen, nu virker det hele.", "Alt for dyrt",
]


def test_swedish_and_danish_are_not_taken_as_ours_more_often():
    langs = [detect_language(text).lang for text in SCANDINAVIAN]
    assert sum(lang in ("nl", "nb", "nn", "en") for lang in langs) <= 7
    for text in ("Jag är mycket nöjd med servicen.", "Teknikern kom för sent.", "Inte nöjd alls",
                 "Rigtig godt, jeg vil anbefale jer til andre.", "Tak for hjælpen, nu virker det hele."):
        assert detect_language(text).lang == "other", text


def test_high_accuracy_models_only_for_our_and_close_languages():
    from nps_nlp.language import CLOSE_LANGUAGES, FAR_LANGUAGES, LanguageDetector

    detector = LanguageDetector()
    detector.detect("Geweldig personeel maar de factuur klopte weer niet")
    assert {lang.name for lang in detector._far} == set(FAR_LANGUAGES)
    assert not set(CLOSE_LANGUAGES) & set(FAR_LANGUAGES)
    fine = {v.language.name for v in detector._fine.compute_language_confidence_values("Bra service")}
    assert fine == {"DUTCH", "BOKMAL", "NYNORSK", "ENGLISH", *CLOSE_LANGUAGES}
