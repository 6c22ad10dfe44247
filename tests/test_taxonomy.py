import pytest

from nps_nlp import load_taxonomy
from nps_nlp.errors import TaxonomyError


def test_default_taxonomy_has_themes_in_three_languages():
    tax = load_taxonomy()
    assert 12 <= len(tax) <= 20
    for theme in tax.themes:
        assert {"en", "nl", "nb"} <= set(theme.name) and {"en", "nl", "nb"} <= set(theme.description)
        assert theme.team and theme.parent in tax.groups
    assert tax["billing_payment"].label("nn") == tax["billing_payment"].name["nb"]
    assert tax.team_of("billing_payment") == "finance"


def test_user_taxonomy_file(tmp_path):
    path = tmp_path / "tax.yaml"
    path.write_text("name: mine\nthemes:\n  - id: parking\n    name: Parking\n    description: Parking spaces\n")
    tax = load_taxonomy(path)
    assert tax.ids == ["parking"] and tax["parking"].description == {"en": "Parking spaces"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("themes: []", "non-empty 'themes'"),
        ("themes:\n  - id: Bad Id\n    name: x", "snake_case"),
        ("themes:\n  - id: a\n    name: x\n  - id: a\n    name: y", "duplicate id"),
        ("themes:\n  - id: a\n    name: {de: x}", "unknown language 'de'"),
        ("themes: [", "not valid YAML"),
    ],
)
def test_bad_taxonomy_files_say_what_is_wrong(tmp_path, body, message):
    path = tmp_path / "tax.yaml"
    path.write_text(body)
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(path)


def test_missing_file():
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy("/nonexistent/tax.yaml")
