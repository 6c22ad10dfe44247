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
