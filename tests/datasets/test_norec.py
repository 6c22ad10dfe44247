"""nps_nlp.datasets.norec: NoReC_sentence and NoReC_fine JSON on tiny invented fixtures, plus the real sets when
../shared/data is there.

All fixture texts below are made up for these tests; none comes from the external data sets.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from datasets_helpers import check_split, shared, write

from nps_nlp.datasets import POLARITIES, load_examples
from nps_nlp.datasets.norec import detokenize
from nps_nlp.errors import DataFormatError

# ----------------------------------------------------------------------------------------------
# NoReC


@pytest.mark.parametrize(
    ("tokenised", "expected"),
    [
        ("bra , men dyrt .", "bra, men dyrt."),
        ("( x )", "(x)"),
        ("Han sa « hei » og gikk !", "Han sa «hei» og gikk!"),
        ('Filmen " Solskinn " var fin : ja ?', 'Filmen "Solskinn" var fin: ja?'),
        ('" Solskinn " -filmen', '"Solskinn"-filmen'),
        ("“ rolig ” og “ varm ”", "“rolig” og “varm”"),
        ("Lars ’ s bil", "Lars’s bil"),
        ("Jonas ' gitar", "Jonas' gitar"),
        ("vent ...", "vent..."),
        ("rødt – og blått / grønt - ok", "rødt – og blått / grønt - ok"),
        ("  mange   mellomrom  ", "mange mellomrom"),
        ("", ""),
    ],
)
def test_detokenize(tokenised, expected):
    assert detokenize(tokenised) == expected


def _norec_records(label_key: str = "label") -> list[dict]:
    return [
        {"sent_id": "500001-01-01", "text": "Boka er kjedelig .", label_key: "Negative"},
        {"sent_id": "500001-02-01", "text": "Men slutten ( kapittel 9 ) er god !", label_key: "Positive"},
        {"sent_id": "500002-01-01", "text": "Utgitt i fjor .", label_key: "Neutral"},
    ]


def test_norec_file_and_root_with_variants(tmp_path):
    root = tmp_path / "norec"
    write(root / "3class" / "train.json", json.dumps(_norec_records()))
    write(root / "3class" / "dev.json", json.dumps(_norec_records()[:1]).replace("500001-01-01", "500009-01-01"))
    write(root / "binary" / "train.json", json.dumps(_norec_records()[:2]))
    a, b, c = load_examples(root / "3class" / "train.json", "norec")
    assert (a.text, a.sentiment, a.lang, a.themes, a.group) == ("Boka er kjedelig.", "negative", "nb", None, "500001")
    assert b.text == "Men slutten (kapittel 9) er god!" and b.sentiment == "positive" and b.group == "500001"
    assert c.sentiment == "neutral" and c.group == "500002"
    assert a.meta == {"source_file": "train.json", "split": "train"}
    three = load_examples(root, "norec")
    assert [e.id for e in three] == ["500009-01-01", "500001-01-01", "500001-02-01", "500002-01-01"]  # dev, train
    assert len(load_examples(root, "norec", variant="binary")) == 2
    assert len(load_examples(root / "3class", "norec")) == 4
    raw = load_examples(root / "3class" / "train.json", "norec", detokenize=False)
    assert raw[0].text == "Boka er kjedelig ."


def test_norec_errors(tmp_path):
    fine = write(tmp_path / "fine.json", json.dumps([{"sent_id": "1-1", "text": "x", "opinions": []}]))
    with pytest.raises(DataFormatError, match=r"fine.json, record 1: expected a 'label' field.*format='norec_fine'"):
        load_examples(fine, "norec")
    bad = write(tmp_path / "bad.json", json.dumps([{"sent_id": "1-1", "text": "x", "label": "Mixed"}]))
    with pytest.raises(DataFormatError, match=r"bad.json, record 1: expected label Positive, Negative or Neutral, found 'Mixed'"):
        load_examples(bad, "norec")
    nolist = write(tmp_path / "obj.json", json.dumps({"sent_id": "1"}))
    with pytest.raises(DataFormatError, match=r"obj.json: expected a JSON list of sentence records, found dict"):
        load_examples(nolist, "norec")
    broken = write(tmp_path / "broken.json", "[\n{")
    with pytest.raises(DataFormatError, match=r"broken.json, line 2: expected NoReC_sentence JSON"):
        load_examples(broken, "norec")
    noid = write(tmp_path / "noid.json", json.dumps([{"text": "x", "label": "Positive"}]))
    with pytest.raises(DataFormatError, match=r"noid.json, record 1: expected a 'sent_id'"):
        load_examples(noid, "norec")
    notext = write(tmp_path / "notext.json", json.dumps([{"sent_id": "1-1", "text": None, "label": "Positive"}]))
    with pytest.raises(DataFormatError, match=r"record 1: expected a string 'text', found NoneType"):
        load_examples(notext, "norec")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(DataFormatError, match=r"expected NoReC_sentence \*.json files or a '3class' folder, found: nothing"):
        load_examples(empty, "norec")
    with pytest.raises(DataFormatError, match=r"expected NoReC_fine \*.json files in this directory, found none"):
        load_examples(empty, "norec_fine")


def _op(polarity, intensity, expr_text, expr_offsets, target=None):
    return {
        "Source": [[], []],
        "Target": target or [[], []],
        "Polar_expression": [[expr_text], [expr_offsets]],
        "Polarity": polarity,
        "Intensity": intensity,
        "NOT": False,
        "Source_is_author": True,
        "Target_is_general": False,
        "Type": "E",
    }


def test_norec_fine_sentiment_rules_and_offsets(tmp_path):
    text = "Maten , ( især suppa ) , var god ."
    records = [
        {"sent_id": "700-01-01", "text": "Ingen mening her .", "opinions": []},
        {"sent_id": "700-01-02", "text": text, "opinions": [
            _op("Positive", "Standard", "var god", "25:32", target=[["suppa"], ["15:20"]])]},
        {"sent_id": "700-01-03", "text": "Dårlig , dårlig .", "opinions": [
            _op("Negative", "Slight", "Dårlig", "0:6"), _op("Negative", "Strong", "dårlig", "9:15")]},
        {"sent_id": "700-02-01", "text": "Flott men kjedelig", "opinions": [
            _op("Positive", "Strong", "Flott", "0:5"), _op("Negative", "Standard", "kjedelig", "10:18")]},
        {"sent_id": "700-02-02", "text": "Flott men kjedelig", "opinions": [
            _op("Positive", "Slight", "Flott", "0:5"), _op("Negative", "Standard", "kjedelig", "10:18")]},
        {"sent_id": "700-02-03", "text": "Flott men kjedelig", "opinions": [
            _op("Positive", "Standard", "Flott", "0:5"), _op("Negative", "Standard", "kjedelig", "10:18")]},
    ]
    path = write(tmp_path / "train.json", json.dumps(records))
    exs = load_examples(path, "norec_fine")
    assert [e.sentiment for e in exs] == ["neutral", "positive", "negative", "positive", "negative", "neutral"]
    assert all(e.themes is None and e.lang == "nb" for e in exs)
    ex = exs[1]
    assert ex.text == "Maten, (især suppa), var god."
    op = ex.meta["opinions"][0]
    assert op["polarity"] == "positive" and op["intensity"] == "Standard"
    assert op["target"] == [{"text": "suppa", "from": 13, "to": 18}]
    assert op["polar_expression"] == [{"text": "var god", "from": 21, "to": 28}]
    assert ex.text[21:28] == "var god" and op["source"] == []
    assert ex.group == "700" and exs[3].group == "700"
    raw = load_examples(path, "norec_fine", detokenize=False)[1]
    assert raw.text == text and raw.meta["opinions"][0]["polar_expression"][0] == {"text": "var god", "from": 25, "to": 32}


def test_norec_fine_errors(tmp_path):
    sentence = write(tmp_path / "s.json", json.dumps(_norec_records()))
    with pytest.raises(DataFormatError, match=r"s.json, record 1: expected an 'opinions' list.*format='norec'"):
        load_examples(sentence, "norec_fine")
    bad = [{"sent_id": "1-1", "text": "kort", "opinions": [_op("Positive", "Standard", "kort", "0:40")]}]
    with pytest.raises(DataFormatError, match=r"record 1, opinion 1, Polar_expression: offset '0:40' is outside the text"):
        load_examples(write(tmp_path / "o.json", json.dumps(bad)), "norec_fine")
    bad[0]["opinions"][0]["Polar_expression"] = [["kort"], ["a-b"]]
    with pytest.raises(DataFormatError, match=r"expected an offset 'from:to', found 'a-b'"):
        load_examples(write(tmp_path / "o2.json", json.dumps(bad)), "norec_fine")
    bad[0]["opinions"][0]["Polar_expression"] = "kort"
    with pytest.raises(DataFormatError, match=r"expected a span as \[\[texts\]"):
        load_examples(write(tmp_path / "o3.json", json.dumps(bad)), "norec_fine")
    bad[0]["opinions"] = ["x"]
    with pytest.raises(DataFormatError, match=r"opinion 1: expected an opinion object, found str"):
        load_examples(write(tmp_path / "o4.json", json.dumps(bad)), "norec_fine")


# ----------------------------------------------------------------------------------------------
# the real data set(s) (../shared/data)


@pytest.mark.external
def test_external_norec():
    root = shared("norec_sentence_nb")
    three = load_examples(root, "norec")
    binary = load_examples(root, "norec", variant="binary")
    assert len(three) == 7973 + 1411 and len(binary) == 3894 + 701
    assert set(Counter(e.sentiment for e in three)) == set(POLARITIES)
    assert {e.sentiment for e in binary} == {"negative", "positive"}
    leftovers = sum(" ," in e.text or e.text.endswith(" .") or "( " in e.text for e in three)
    assert leftovers <= 3  # a few odd tokens in the source (e.g. a bracket glued to a word)
    check_split(three)
    fine = load_examples(shared("norec_fine_nb"), "norec_fine")
    assert len(fine) == 8634 + 1531 and set(Counter(e.sentiment for e in fine)) == set(POLARITIES)
    for ex in fine:
        for op in ex.meta["opinions"]:
            for span in op["polar_expression"] + op["target"]:
                assert ex.text[span["from"]: span["to"]] == span["text"] and span["text"].strip()
    check_split(fine)
