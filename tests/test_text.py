from nps_nlp.text import split_clauses, split_sentences


def test_clauses_split_at_contrast_and_keep_offsets():
    text = "Great staff but the invoice was wrong again"
    clauses = split_clauses(text, "en")
    assert [c.text for c in clauses] == ["Great staff", "but the invoice was wrong again"]
    assert all(text[c.start : c.end] == c.text for c in clauses)


def test_clauses_in_dutch_and_nynorsk():
    assert [c.text for c in split_clauses("Geweldig personeel, maar de factuur klopte niet. Jammer!", "nl")] == [
        "Geweldig personeel", "maar de factuur klopte niet", "Jammer!"]
    assert [c.text for c in split_clauses("Eg er ikkje nøgd med rekninga men dei tilsette var greie", "nn")] == [
        "Eg er ikkje nøgd med rekninga", "men dei tilsette var greie"]


def test_and_splits_only_between_real_clauses():
    assert len(split_clauses("fast and friendly", "en")) == 1
    assert len(split_clauses("The app crashes when I log in and support never calls back", "en")) == 2


def test_lists_and_line_breaks():
    assert [c.text for c in split_clauses("Fast, cheap, friendly", "en")] == ["Fast", "cheap", "friendly"]
    assert [s.text for s in split_sentences("Alles top\nbehalve de prijs", "nl")] == ["Alles top", "behalve de prijs"]


def test_empty_and_emoji_answers():
    assert split_clauses("", "en") == []
    assert [c.text for c in split_clauses("😡😡", None)] == ["😡😡"]
