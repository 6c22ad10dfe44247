"""Tests for nps_nlp.datasets on tiny invented fixtures, plus checks on the real external sets.

All fixture texts below are made up for these tests; none comes from the external data sets.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

import nps_nlp
from nps_nlp.datasets import FORMATS, POLARITIES, Example, load_examples, train_dev_split
from nps_nlp.datasets.airline import clean_tweet
from nps_nlp.datasets.mams import read_mams
from nps_nlp.datasets.norec import detokenize
from nps_nlp.errors import DataFormatError, NpsNlpError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MAPPINGS = Path(nps_nlp.__file__).resolve().parent / "data" / "mappings"
TAXONOMY = Path(nps_nlp.__file__).resolve().parent / "data" / "taxonomy_default.yaml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    return write(path, "\n".join(json.dumps(r) for r in rows) + "\n")


# ----------------------------------------------------------------------------------------------
# Example and train_dev_split


def test_example_defaults_and_polarities():
    ex = Example(text="hi", id="1")
    assert (ex.lang, ex.score, ex.sentiment, ex.themes, ex.group, ex.meta) == (None, None, None, None, None, {})
    assert POLARITIES == ("negative", "neutral", "positive")
    assert set(FORMATS) >= {"jsonl", "csv", "parquet", "semeval2016", "mams", "norec", "airline", "semeval2014", "norec_fine"}


def _grouped(n_groups: int = 300) -> list[Example]:
    return [Example(text=f"t{g}-{k}", id=f"{g}-{k}", group=f"g{g}") for g in range(n_groups) for k in range(3)]


def test_split_is_deterministic_order_independent_and_keeps_groups():
    examples = _grouped()
    train, dev = train_dev_split(examples)
    shuffled = examples[:]
    random.Random(5).shuffle(shuffled)
    train2, dev2 = train_dev_split(shuffled)
    assert {e.id for e in dev} == {e.id for e in dev2}
    assert {e.id for e in train} == {e.id for e in train2}
    assert {e.group for e in train}.isdisjoint({e.group for e in dev})
    assert 0.13 < len(dev) / len(examples) < 0.27
    # a subset lands where it landed in the full list
    _, dev_sub = train_dev_split(examples[:90])
    assert {e.id for e in dev_sub} == {e.id for e in dev if e in examples[:90]}
    # input order is kept
    assert [e.id for e in train] == [e.id for e in examples if e in train]


def test_split_seed_fraction_and_id_fallback():
    examples = [Example(text="x", id=str(i)) for i in range(200)]
    _, dev_a = train_dev_split(examples, seed=1)
    _, dev_b = train_dev_split(examples, seed=2)
    assert {e.id for e in dev_a} != {e.id for e in dev_b}
    assert train_dev_split(examples, dev_fraction=0.0)[1] == []
    assert train_dev_split(examples, dev_fraction=1.0)[0] == []
    with pytest.raises(ValueError, match="dev_fraction"):
        train_dev_split(examples, dev_fraction=1.5)


# ----------------------------------------------------------------------------------------------
# project format: JSONL / CSV / Parquet


def test_jsonl_reads_all_fields(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": "a1", "text": "Invoice was wrong twice.", "lang": "EN", "score": 3, "sentiment": "Negative",
             "themes": {"billing_payment": "negative"}, "urgent": True, "channel": "email"},
            {"text": "Friendly staff, slow app.", "score": "9", "themes": ["staff_attitude", "website_app"]},
            {"id": 7, "text": "Nothing to add", "lang": "nb-NO", "themes": {}, "urgent": "no"},
        ],
    )
    a, b, c = load_examples(path)
    assert (a.id, a.lang, a.score, a.sentiment) == ("a1", "en", 3, "negative")
    assert a.themes == {"billing_payment": "negative"}
    assert a.meta == {"channel": "email", "urgent": True}
    assert (b.id, b.score, b.lang, b.sentiment) == ("2", 9, None, None)
    assert b.themes == {"staff_attitude": None, "website_app": None}
    assert (c.id, c.lang, c.themes, c.meta["urgent"]) == ("7", "nb", {}, False)


def test_jsonl_without_themes_column_gives_none_and_default_lang(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "To classify"}, {"text": "Also", "lang": "nl"}])
    exs = load_examples(path, lang="en")
    assert [e.themes for e in exs] == [None, None]
    assert [e.lang for e in exs] == ["en", "nl"]
    assert [e.id for e in exs] == ["1", "2"]


def test_csv_theme_encodings_and_columns_mapping(tmp_path):
    df = pd.DataFrame(
        {
            "answer_id": ["r1", "r2", "r3", "r4", "r5"],
            "comment": ["Too pricey.", "Parcel came late; rude driver.", "Great.", "App crashed", "Ok"],
            "nps": ["2", "4", "10", "", "7.0"],
            "labels": [
                '{"price_value": "negative"}',
                "delivery_waiting:negative;staff_attitude:negative",
                "",
                "website_app|reliability_outages",
                '["ease_effort"]',
            ],
            "region": ["north", "", "south", "west", "east"],
        }
    )
    path = tmp_path / "a.csv"
    df.to_csv(path, index=False)
    exs = load_examples(path, columns={"id": "answer_id", "text": "comment", "score": "nps", "themes": "labels"})
    assert [e.id for e in exs] == ["r1", "r2", "r3", "r4", "r5"]
    assert [e.score for e in exs] == [2, 4, 10, None, 7]
    assert exs[0].themes == {"price_value": "negative"}
    assert exs[1].themes == {"delivery_waiting": "negative", "staff_attitude": "negative"}
    assert exs[2].themes == {}
    assert exs[3].themes == {"website_app": None, "reliability_outages": None}
    assert exs[4].themes == {"ease_effort": None}
    assert exs[0].meta == {"region": "north"}
    assert exs[1].meta == {"region": None}


def test_tsv_is_inferred(tmp_path):
    path = write(tmp_path / "a.tsv", "id\ttext\tthemes\nx\tSlow, but fine\tdelivery_waiting:neutral\n")
    (ex,) = load_examples(path)
    assert ex.text == "Slow, but fine" and ex.themes == {"delivery_waiting": "neutral"}


def test_parquet_with_list_and_string_themes(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["p1", "p2"],
            "text": ["Cheap and cheerful", "Could not log in"],
            "score": [8, None],
            "themes": [["price_value"], ["website_app", "ease_effort"]],
        }
    )
    path = tmp_path / "a.parquet"
    df.to_parquet(path)
    a, b = load_examples(path)
    assert a.themes == {"price_value": None} and a.score == 8
    assert b.themes == {"website_app": None, "ease_effort": None} and b.score is None
    df2 = pd.DataFrame({"text": ["Hi"], "themes": ["price_value:positive"], "extra": [1.5]})
    df2.to_parquet(tmp_path / "b.parquet")
    (c,) = load_examples(tmp_path / "b.parquet", format="parquet")
    assert c.themes == {"price_value": "positive"} and c.meta == {"extra": 1.5} and c.id == "1"


def test_tabular_same_theme_twice_resolves_polarity(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [{"text": "x", "themes": [["price_value", "negative"], ["price_value", "positive"]]},
         {"text": "y", "themes": "price_value:negative;price_value:negative;price_value:positive"}],
    )
    a, b = load_examples(path)
    assert a.themes == {"price_value": None}
    assert b.themes == {"price_value": "negative"}


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([{"text": "x", "score": "high"}], r"line 1.*'score'.*NPS score 0-10.*'high'"),
        ([{"text": "x", "score": 11}], r"NPS score 0-10.*11"),
        ([{"text": "x", "score": 7.5}], r"whole number.*7.5"),
        ([{"text": "x", "score": True}], r"NPS score"),
        ([{"text": "x", "sentiment": "happy"}], r"'sentiment'.*unknown polarity 'happy'.*negative, neutral, positive"),
        ([{"text": "x", "themes": {"price_value": "great"}}], r"theme 'price_value'.*unknown polarity 'great'"),
        ([{"text": "x", "themes": "price_value:awful"}], r"unknown polarity 'awful'"),
        ([{"text": "x", "themes": 5}], r"expected themes as a dict.*found int"),
        ([{"text": "x", "themes": [3]}], r"expected theme ids"),
        ([{"text": "x", "themes": "{not json"}], r"themes look like JSON"),
        ([{"text": "x", "themes": ";:negative"}], r"empty theme label"),
        ([{"text": "x", "lang": "de"}], r"unsupported language 'de'.*en, nl, nb, nn"),
        ([{"text": "x", "urgent": "maybe"}], r"'urgent'.*true/false.*'maybe'"),
        ([{"text": {"a": 1}}], r"expected text to be a string"),
        ([{"text": "x", "id": [1]}], r"expected id to be a string or number"),
        ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], r"line 2: duplicate id 'a' \(first seen at .*line 1\)"),
    ],
)
def test_tabular_value_errors(tmp_path, rows, match):
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataFormatError, match=match) as info:
        load_examples(path)
    assert "bad.jsonl" in str(info.value)


def test_missing_text_column_lists_found_columns(tmp_path):
    path = write(tmp_path / "a.csv", "id,comment,nps\n1,hello,9\n")
    with pytest.raises(DataFormatError) as info:
        load_examples(path)
    msg = str(info.value)
    assert "a.csv" in msg and "'comment'" in msg and "'nps'" in msg
    assert "columns=" in msg and "--text-column" in msg
    assert isinstance(info.value, ValueError) and isinstance(info.value, NpsNlpError)


def test_column_mapping_errors(tmp_path):
    path = write(tmp_path / "a.csv", "id,text\n1,hello\n")
    with pytest.raises(DataFormatError, match=r"expected a column 'nps' for 'score'.*found columns: 'id', 'text'"):
        load_examples(path, columns={"score": "nps"})
    with pytest.raises(DataFormatError, match=r"unknown key 'comment'"):
        load_examples(path, columns={"comment": "text"})


def test_file_level_errors(tmp_path):
    write(tmp_path / "bad.jsonl", '{"text": "ok"}\n\n{broken\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl, line 3: expected one JSON object per line"):
        load_examples(tmp_path / "bad.jsonl")
    write(tmp_path / "list.jsonl", '["a"]\n')
    with pytest.raises(DataFormatError, match=r"line 1: expected a JSON object per line, found list"):
        load_examples(tmp_path / "list.jsonl")
    write(tmp_path / "empty.csv", "")
    with pytest.raises(DataFormatError, match=r"empty.csv: expected a CSV file with a header row"):
        load_examples(tmp_path / "empty.csv")
    write(tmp_path / "ragged.csv", 'text,id\n"a,1\n')
    with pytest.raises(DataFormatError, match=r"ragged.csv: could not parse as CSV"):
        load_examples(tmp_path / "ragged.csv")
    write(tmp_path / "not.parquet", "this is not parquet")
    with pytest.raises(DataFormatError, match=r"not.parquet: could not read as Parquet"):
        load_examples(tmp_path / "not.parquet")
    (tmp_path / "latin.jsonl").write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"expected UTF-8"):
        load_examples(tmp_path / "latin.jsonl")


def test_registry_errors(tmp_path):
    write(tmp_path / "a.txt", "text\n")
    with pytest.raises(DataFormatError, match=r"not found: .*missing.csv"):
        load_examples(tmp_path / "missing.csv")
    with pytest.raises(DataFormatError, match=r"cannot infer the format from the extension '.txt'.*format="):
        load_examples(tmp_path / "a.txt")
    with pytest.raises(DataFormatError, match=r"is a directory: cannot infer its format"):
        load_examples(tmp_path)
    with pytest.raises(DataFormatError, match=r"unknown format 'excel'; expected one of jsonl"):
        load_examples(tmp_path / "a.txt", format="excel")
    with pytest.raises(DataFormatError, match=r"format 'csv' reads one file"):
        load_examples(tmp_path, format="csv")
    with pytest.raises(DataFormatError, match=r"columns= only applies to jsonl, csv, parquet"):
        load_examples(tmp_path / "a.txt", format="mams", columns={"text": "t"})
    write(tmp_path / "a.csv", "text\nhi\n")
    with pytest.raises(TypeError, match=r"does not accept option\(s\) level; it accepts: columns, lang, sep"):
        load_examples(tmp_path / "a.csv", level="text")
    assert load_examples(tmp_path / "a.txt", format="CSV") == []  # format names are case-insensitive


# ----------------------------------------------------------------------------------------------
# SemEval-2016

SEMEVAL16 = """<?xml version="1.0" encoding="UTF-8"?>
<Reviews>
  <Review rid="r1">
    <sentences>
      <sentence id="r1:0">
        <text>The soup was cold but the bread was warm.</text>
        <Opinions>
          <Opinion target="soup" category="FOOD#QUALITY" polarity="negative" from="4" to="8"/>
          <Opinion target="bread" category="FOOD#QUALITY" polarity="positive" from="26" to="31"/>
          <Opinion target="NULL" category="SERVICE#GENERAL" polarity="neutral" from="0" to="0"/>
        </Opinions>
      </sentence>
      <sentence id="r1:1" OutOfScope="TRUE">
        <text>My cousin runs a bakery elsewhere.</text>
      </sentence>
      <sentence id="r1:2">
        <text>We went on a Tuesday.</text>
      </sentence>
    </sentences>
  </Review>
  <Review rid="r2">
    <sentences>
      <sentence id="r2:0">
        <text>Pasta good, pizza good, salad bland, and pricey.</text>
        <Opinions>
          <Opinion target="Pasta" category="FOOD#QUALITY" polarity="positive" from="0" to="5"/>
          <Opinion target="pizza" category="FOOD#QUALITY" polarity="positive" from="12" to="17"/>
          <Opinion target="salad" category="FOOD#QUALITY" polarity="negative" from="24" to="29"/>
          <Opinion target="NULL" category="RESTAURANT#PRICES" polarity="negative" from="0" to="0"/>
        </Opinions>
      </sentence>
    </sentences>
  </Review>
</Reviews>
"""

SEMEVAL16_TEXTLEVEL = """<?xml version='1.0' encoding='UTF-8'?>
<Reviews>
  <Review rid="r1">
    <sentences>
      <sentence id="r1:0"><text>Erg gezellig terras.</text></sentence>
      <sentence id="r1:1" OutOfScope="TRUE"><text>Het weer zat mee.</text></sentence>
      <sentence id="r1:2"><text>Wel wat duur.</text></sentence>
    </sentences>
    <Opinions>
      <Opinion category="AMBIENCE#GENERAL" polarity="positive"/>
      <Opinion category="RESTAURANT#PRICES" polarity="conflict"/>
    </Opinions>
  </Review>
  <Review rid="r2">
    <sentences>
      <sentence id="r2:0"><text>Nooit meer.</text></sentence>
    </sentences>
    <Opinions>
      <Opinion category="RESTAURANT#GENERAL" polarity="negative"/>
    </Opinions>
  </Review>
</Reviews>
"""


def test_semeval2016_sentence_level(tmp_path):
    path = write(tmp_path / "restaurants_train.xml", SEMEVAL16)
    exs = load_examples(path, "semeval2016")
    assert [e.id for e in exs] == ["r1:0", "r1:2", "r2:0"]  # out-of-scope skipped
    a, b, c = exs
    assert a.themes == {"FOOD#QUALITY": None, "SERVICE#GENERAL": "neutral"}  # 1 vs 1: tie -> None
    assert b.themes == {}  # labelled, no opinion
    assert c.themes == {"FOOD#QUALITY": "positive", "RESTAURANT#PRICES": "negative"}  # 2 vs 1: majority
    assert [e.group for e in exs] == ["r1", "r1", "r2"]
    assert all(e.lang == "en" and e.sentiment is None and e.score is None for e in exs)
    assert a.meta["opinions"][0] == {
        "category": "FOOD#QUALITY", "polarity": "negative", "raw_polarity": "negative", "target": "soup", "from": 4, "to": 8,
    }
    assert a.meta["opinions"][2]["target"] is None
    assert a.meta["source_file"] == "restaurants_train.xml"


def test_semeval2016_lang_from_name_and_override(tmp_path):
    path = write(tmp_path / "restaurants_dutch_training.xml", SEMEVAL16)
    assert {e.lang for e in load_examples(path, "semeval2016")} == {"nl"}
    assert {e.lang for e in load_examples(path, "semeval2016", lang="en")} == {"en"}


def test_semeval2016_text_level(tmp_path):
    path = write(tmp_path / "restaurants_dutch_training_textlevel.xml", SEMEVAL16_TEXTLEVEL)
    a, b = load_examples(path, "semeval2016")  # text level is the default for *_textlevel.xml
    assert a.id == a.group == "r1" and a.lang == "nl"
    assert a.text == "Erg gezellig terras. Het weer zat mee. Wel wat duur."
    assert a.themes == {"AMBIENCE#GENERAL": "positive", "RESTAURANT#PRICES": None}  # conflict -> None
    assert a.meta["opinions"][1]["raw_polarity"] == "conflict"
    assert b.themes == {"RESTAURANT#GENERAL": "negative"}
    sentences = load_examples(path, "semeval2016", level="sentence")
    assert [e.id for e in sentences] == ["r1:0", "r1:2", "r2:0"]
    assert all(e.themes is None for e in sentences)  # no sentence-level labels in this file


def test_semeval2016_text_level_aggregates_sentence_file(tmp_path):
    path = write(tmp_path / "x.xml", SEMEVAL16)
    r1, r2 = load_examples(path, "semeval2016", level="text")
    assert r1.text == "The soup was cold but the bread was warm. My cousin runs a bakery elsewhere. We went on a Tuesday."
    assert r1.themes == {"FOOD#QUALITY": None, "SERVICE#GENERAL": "neutral"}
    assert r2.themes == {"FOOD#QUALITY": "positive", "RESTAURANT#PRICES": "negative"}


def test_semeval2016_directory_reads_each_review_set_once(tmp_path):
    write(tmp_path / "restaurants_dutch_training.xml", SEMEVAL16)
    write(tmp_path / "restaurants_dutch_training_textlevel.xml", SEMEVAL16_TEXTLEVEL)
    write(tmp_path / "english.xml", SEMEVAL16.replace('rid="r', 'rid="e').replace('id="r', 'id="e'))
    default = load_examples(tmp_path, "semeval2016")
    assert Counter(e.meta["source_file"] for e in default) == {"english.xml": 3, "restaurants_dutch_training.xml": 3}
    text = load_examples(tmp_path, "semeval2016", level="text")
    assert Counter(e.meta["source_file"] for e in text) == {"english.xml": 2, "restaurants_dutch_training_textlevel.xml": 2}
    assert {e.lang for e in text if e.meta["source_file"] == "english.xml"} == {"en"}


@pytest.mark.parametrize(
    ("xml", "match"),
    [
        ('<sentences><sentence id="1"><text>x</text></sentence></sentences>',
         r"expected SemEval-2016 XML with a <Reviews> root, found <sentences>.*format='semeval2014'"),
        ('<Reviews><Review><sentences/></Review></Reviews>', r"review #1 has no rid attribute"),
        ('<Reviews><Review rid="a"><sentences><sentence id="a:1"/></sentences></Review></Reviews>',
         r"review 'a', sentence 'a:1': expected a <text> element"),
        ('<Reviews><Review rid="a"><sentences><sentence id="a:1"><text>x</text><Opinions>'
         '<Opinion polarity="positive"/></Opinions></sentence></sentences></Review></Reviews>',
         r"sentence 'a:1': expected a category attribute"),
        ('<Reviews><Review rid="a"><sentences><sentence id="a:1"><text>x</text><Opinions>'
         '<Opinion category="FOOD#QUALITY" polarity="superb"/></Opinions></sentence></sentences></Review></Reviews>',
         r"unknown polarity 'superb'"),
        ('<Reviews><Review rid="a">\n<sentences>\n</Review></Reviews>', r"line 3, column \d+: expected SemEval-2016 XML, could not parse"),
    ],
)
def test_semeval2016_errors(tmp_path, xml, match):
    path = write(tmp_path / "bad.xml", xml)
    with pytest.raises(DataFormatError, match=match) as info:
        load_examples(path, "semeval2016")
    assert "bad.xml" in str(info.value)


def test_semeval_directory_and_option_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"expected SemEval-2016 \*.xml files in this directory, found none"):
        load_examples(tmp_path, "semeval2016")
    with pytest.raises(DataFormatError, match=r"level must be 'sentence', 'text' or None"):
        load_examples(write(tmp_path / "a.xml", SEMEVAL16), "semeval2016", level="review")


# ----------------------------------------------------------------------------------------------
# SemEval-2014 and MAMS

SEMEVAL14 = """<?xml version="1.0" encoding="UTF-8"?>
<sentences>
  <sentence id="100#7#0">
    <text>Lovely patio, tiny portions.</text>
    <aspectTerms><aspectTerm term="patio" from="7" to="12"/></aspectTerms>
    <aspectCategories>
      <aspectCategory category="ambience"/>
      <aspectCategory category="food" polarity="conflict"/>
    </aspectCategories>
  </sentence>
  <sentence id="100#7#1">
    <text>We booked for six.</text>
    <aspectCategories><aspectCategory category="anecdotes/miscellaneous" polarity="neutral"/></aspectCategories>
  </sentence>
</sentences>
"""

MAMS = """<?xml version="1.0" encoding="utf-8"?>
<sentences>
\t<sentence>
\t\t<text>The waiter was grumpy but the noodles were superb.</text>
\t\t<aspectCategories>
\t\t\t<aspectCategory category="staff" polarity="negative"/>
\t\t\t<aspectCategory category="food" polarity="positive"/>
\t\t</aspectCategories>
\t</sentence>
\t<sentence>
\t\t<text>Prices are fine though the room is loud.</text>
\t\t<aspectCategories>
\t\t\t<aspectCategory category="price" polarity="positive"/>
\t\t\t<aspectCategory category="ambience" polarity="negative"/>
\t\t</aspectCategories>
\t</sentence>
</sentences>
"""


def test_semeval2014(tmp_path):
    a, b = load_examples(write(tmp_path / "test.xml", SEMEVAL14), "semeval2014")
    assert a.themes == {"ambience": None, "food": None}
    assert b.themes == {"anecdotes/miscellaneous": "neutral"}
    assert a.group == b.group == "100#7" and a.id == "100#7#0" and a.lang == "en"
    assert a.meta["aspect_terms"] == [{"term": "patio", "from": 7, "to": 12}]


def test_mams_file_and_directory(tmp_path):
    write(tmp_path / "train.xml", MAMS)
    write(tmp_path / "val.xml", MAMS)
    a, b = load_examples(tmp_path / "train.xml", "mams")
    assert (a.id, a.group, a.lang, a.sentiment) == ("train:1", "train:1", "en", None)
    assert a.themes == {"staff": "negative", "food": "positive"}
    assert b.themes == {"price": "positive", "ambience": "negative"}
    both = load_examples(tmp_path, "mams")
    assert [e.id for e in both] == ["train:1", "train:2", "val:1", "val:2"]


def test_sentences_xml_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"expected MAMS XML with a <sentences> root, found <Reviews>.*semeval2016"):
        load_examples(write(tmp_path / "a.xml", SEMEVAL16), "mams")
    with pytest.raises(DataFormatError, match=r"b.xml: sentence #1: expected a <text> element"):
        load_examples(write(tmp_path / "b.xml", "<sentences><sentence/></sentences>"), "semeval2014")
    with pytest.raises(DataFormatError, match=r"c.xml: sentence #1: expected a category attribute"):
        load_examples(write(tmp_path / "c.xml", '<sentences><sentence><text>x</text><aspectCategories>'
                            '<aspectCategory polarity="positive"/></aspectCategories></sentence></sentences>'), "mams")
    with pytest.raises(DataFormatError, match=r"MAMS file not found: .*nothing.xml"):
        read_mams(tmp_path / "nothing.xml")


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
# Twitter airline

AIRLINE_COLUMNS = ["tweet_id", "airline_sentiment", "airline_sentiment_confidence", "negativereason", "airline", "text"]


def _airline_csv(tmp_path: Path, rows: list[list], name: str = "Tweets.dev.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows, columns=AIRLINE_COLUMNS).to_csv(path, index=False)
    return path


def test_airline_labels_masking_and_ids(tmp_path):
    rows = [
        [101, "negative", 1.0, "Cancelled Flight", "Sky", "@SkyAir my flight got Cancelled Flightled AGAIN &amp; nobody called"],
        [102, "negative", 0.8, "Late Flight", "Sky", "@SkyAir @OtherAir   see you Late Flightr, maybe"],
        [103, "negative", 0.7, "Flight Booking Problems", "Sky", "@SkyAir reFlight Booking Problems online is broken"],
        [104, "negative", 0.6, "Can't Tell", "Sky", "@SkyAir meh"],
        [105, "positive", 0.9, "", "Sky", "@SkyAir thanks for the upgrade @crew"],
        [106, "neutral", 1.0, "", "Sky", ".@SkyAir is the lounge open?"],
        [107, "negative", 1.0, "Lost Luggage", "Sky", "@SkyAir Lost Luggage again. lost luggage everywhere"],
        [105, "positive", 0.5, "", "Sky", "@SkyAir thanks for the upgrade @crew"],
    ]
    exs = load_examples(_airline_csv(tmp_path, rows), "airline")
    assert [e.text for e in exs] == [
        "my flight got cancelled AGAIN & nobody called",
        "see you later, maybe",
        "rebooking online is broken",
        "meh",
        "thanks for the upgrade @crew",
        "is the lounge open?",
        "again. everywhere",
        "thanks for the upgrade @crew",
    ]
    assert [e.sentiment for e in exs][:6] == ["negative", "negative", "negative", "negative", "positive", "neutral"]
    assert exs[0].themes == {"Cancelled Flight": "negative"}
    assert exs[3].themes == {} and exs[4].themes == {} and exs[5].themes == {}
    assert [e.id for e in exs][-4:] == ["105", "106", "107", "105#2"]
    assert exs[-1].group == exs[4].group == "105"
    assert all(e.lang == "en" and e.score is None for e in exs)
    assert exs[0].meta["airline"] == "Sky" and exs[0].meta["negativereason"] == "Cancelled Flight"
    assert all("text" not in e.meta for e in exs)
    removed = load_examples(_airline_csv(tmp_path, rows), "airline", leak_fix="remove")
    assert removed[0].text == "my flight got AGAIN & nobody called"
    assert removed[2].text == "online is broken"


def test_clean_tweet_removes_every_label_phrase():
    labels = ["Bad Flight", "Customer Service Issue", "longlines"]
    out = clean_tweet("@A @B a bad flight and Customer Service Issues, LONGLINES.", labels)
    assert out == "a and , ."
    with pytest.raises(ValueError, match="leak_fix"):
        clean_tweet("x", leak_fix="mask")


def test_airline_errors(tmp_path):
    path = write(tmp_path / "t.csv", "tweet_id,text\n1,hi\n")
    expected = r"t.csv: expected the Twitter airline columns .*missing airline_sentiment, negativereason \(found: tweet_id, text\)"
    with pytest.raises(DataFormatError, match=expected):
        load_examples(path, "airline")
    bad = _airline_csv(tmp_path, [[1, "angry", 1.0, "", "Sky", "@SkyAir hi"]], name="bad.csv")
    with pytest.raises(DataFormatError, match=r"bad.csv, row 1, column 'airline_sentiment': unknown polarity 'angry'"):
        load_examples(bad, "airline")
    with pytest.raises(DataFormatError, match=r"leak_fix must be"):
        load_examples(bad, "airline", leak_fix="hide")
    with pytest.raises(DataFormatError, match=r"expected a Twitter airline CSV file, found a directory"):
        load_examples(tmp_path, "airline")


# ----------------------------------------------------------------------------------------------
# label maps


def test_label_map_dict_yaml_and_shipped(tmp_path):
    path = write(tmp_path / "train.xml", SEMEVAL16)
    mapping = {"FOOD#QUALITY": "product_quality", "RESTAURANT#PRICES": "price_value", "SERVICE#GENERAL": None}
    a, b, c = load_examples(path, "semeval2016", label_map=mapping)
    assert a.themes == {"product_quality": None}  # SERVICE#GENERAL dropped
    assert a.meta["source_themes"] == {"FOOD#QUALITY": None, "SERVICE#GENERAL": "neutral"}
    assert b.themes == {} and "source_themes" not in b.meta
    assert c.themes == {"product_quality": "positive", "price_value": "negative"}
    yaml_path = write(tmp_path / "m.yaml", "FOOD#QUALITY: food_theme\n# RESTAURANT#PRICES left unmapped\n")
    _, _, c2 = load_examples(path, "semeval2016", label_map=yaml_path)
    assert c2.themes == {"food_theme": "positive", "RESTAURANT#PRICES": "negative"}  # unmapped kept
    _, _, c3 = load_examples(path, "semeval2016", label_map="semeval2016_to_generic")
    assert c3.themes == {"product_quality": "positive", "price_value": "negative"}


def test_label_map_merges_polarities_of_labels_on_one_theme(tmp_path):
    exs = load_examples(write(tmp_path / "train.xml", MAMS), "mams", label_map={"staff": "people", "food": "people"})
    assert exs[0].themes == {"people": None}  # negative + positive: tie
    assert load_examples(write(tmp_path / "a.jsonl", '{"text": "x"}\n'), label_map={"a": "b"})[0].themes is None


def test_label_map_errors(tmp_path):
    path = write(tmp_path / "train.xml", SEMEVAL16)
    with pytest.raises(DataFormatError, match=r"label_map file not found: .*nope.yaml .*shipped mapping: .*mams_to_generic"):
        load_examples(path, "semeval2016", label_map=tmp_path / "nope.yaml")
    with pytest.raises(DataFormatError, match=r"list.yaml: expected a mapping of external labels to theme ids .*found list"):
        load_examples(path, "semeval2016", label_map=write(tmp_path / "list.yaml", "- a\n- b\n"))
    with pytest.raises(DataFormatError, match=r"label 'FOOD#QUALITY' maps to 3; expected a theme id"):
        load_examples(path, "semeval2016", label_map={"FOOD#QUALITY": 3})
    with pytest.raises(DataFormatError, match=r"broken.yaml: expected a YAML mapping .*could not parse"):
        load_examples(path, "semeval2016", label_map=write(tmp_path / "broken.yaml", "a: [b\n"))


# label names of each dataset (category names, not texts) that its shipped mapping must cover
DATASET_LABELS = {
    "semeval2016_to_generic": [
        f"{e}#{a}" for e, attrs in {
            "RESTAURANT": ["GENERAL", "PRICES", "MISCELLANEOUS"], "FOOD": ["QUALITY", "STYLE_OPTIONS", "PRICES"],
            "DRINKS": ["QUALITY", "STYLE_OPTIONS", "PRICES"], "SERVICE": ["GENERAL"], "AMBIENCE": ["GENERAL"],
            "LOCATION": ["GENERAL"],
        }.items() for a in attrs
    ],
    "semeval2014_to_generic": ["food", "service", "price", "ambience", "anecdotes/miscellaneous"],
    "mams_to_generic": ["food", "staff", "service", "price", "ambience", "menu", "place", "miscellaneous"],
    "airline_to_generic": [
        "Customer Service Issue", "Late Flight", "Cancelled Flight", "Lost Luggage", "Damaged Luggage", "Bad Flight",
        "Flight Booking Problems", "Flight Attendant Complaints", "longlines", "Can't Tell",
    ],
}


@pytest.mark.parametrize("name", sorted(DATASET_LABELS))
def test_shipped_mappings_cover_labels_and_use_taxonomy_ids(name):
    theme_ids = {t["id"] for t in yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))["themes"]}
    mapping = yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert set(mapping) == set(DATASET_LABELS[name])
    assert {v for v in mapping.values() if v is not None} <= theme_ids
    assert (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8").startswith("#")


# ----------------------------------------------------------------------------------------------
# real external data (../shared/data)


def _shared(sub: str) -> Path:
    path = SHARED / sub
    if not path.exists():
        pytest.skip(f"external data not found at {path} (expected ../shared/data next to the repo)")
    return path


def _check_split(examples: list[Example]) -> None:
    train, dev = train_dev_split(examples)
    assert len(train) + len(dev) == len(examples)
    assert {e.group for e in train}.isdisjoint({e.group for e in dev})
    assert 0.1 < len(dev) / len(examples) < 0.3
    assert len({e.id for e in examples}) == len(examples)


@pytest.mark.external
def test_external_semeval2016():
    folder = _shared("semeval2016_restaurants_nl_en")
    en = load_examples(folder / "ABSA16_Restaurants_Train_SB1_v2.xml", "semeval2016")
    nl = load_examples(folder / "restaurants_dutch_training.xml", "semeval2016")
    assert len(en) == 2000 - 63 and {e.lang for e in en} == {"en"}  # 63 sentences are out of scope
    assert len(nl) == 1722 - 11 and {e.lang for e in nl} == {"nl"}
    assert len({e.group for e in nl}) == 300
    text = load_examples(folder / "restaurants_dutch_training_textlevel.xml", "semeval2016")
    assert len(text) == 300 and all(e.themes for e in text)
    both = load_examples(folder, "semeval2016")
    assert len(both) == len(en) + len(nl)
    for exs in (en, nl, text):
        _check_split(exs)
        assert all(set(e.themes.values()) <= {*POLARITIES, None} for e in exs)
    mapped = load_examples(folder, "semeval2016", label_map="semeval2016_to_generic")
    assert Counter(k for e in mapped for k in e.themes)["product_quality"] > 1000


@pytest.mark.external
def test_external_semeval2014_and_mams():
    exs = load_examples(_shared("semeval2014_restaurants_en") / "Restaurants_Test_Data_phaseB.xml", "semeval2014")
    assert len(exs) == 800 and all(v is None for e in exs for v in e.themes.values())
    _check_split(exs)
    mams = load_examples(_shared("mams_acsa_en"), "mams")
    assert len(mams) == 3149 + 400
    assert all(len(e.themes) >= 2 and len(set(e.themes.values())) >= 2 for e in mams)
    _check_split(mams)


@pytest.mark.external
def test_external_norec():
    root = _shared("norec_sentence_nb")
    three = load_examples(root, "norec")
    binary = load_examples(root, "norec", variant="binary")
    assert len(three) == 7973 + 1411 and len(binary) == 3894 + 701
    assert set(Counter(e.sentiment for e in three)) == set(POLARITIES)
    assert {e.sentiment for e in binary} == {"negative", "positive"}
    leftovers = sum(" ," in e.text or e.text.endswith(" .") or "( " in e.text for e in three)
    assert leftovers <= 3  # a few odd tokens in the source (e.g. a bracket glued to a word)
    _check_split(three)
    fine = load_examples(_shared("norec_fine_nb"), "norec_fine")
    assert len(fine) == 8634 + 1531 and set(Counter(e.sentiment for e in fine)) == set(POLARITIES)
    for ex in fine:
        for op in ex.meta["opinions"]:
            for span in op["polar_expression"] + op["target"]:
                assert ex.text[span["from"]: span["to"]] == span["text"] and span["text"].strip()
    _check_split(fine)


@pytest.mark.external
def test_external_airline():
    path = _shared("twitter_airline_en") / "Tweets.dev.csv"
    exs = load_examples(path, "airline")
    assert len(exs) == 7328
    reasons = set(pd.read_csv(path)["negativereason"].dropna())
    assert len(reasons) == 10
    for ex in exs:
        low = ex.text.lower()
        assert not any(r.lower() in low for r in reasons), ex.id
        assert not ex.text.startswith("@" + str(ex.meta["airline"]).replace(" ", ""))
    themes = Counter(k for e in exs for k in e.themes)
    assert set(themes) == reasons - {"Can't Tell"}
    assert all(e.themes == {} for e in exs if e.sentiment != "negative")
    _check_split(exs)
    mapped = load_examples(path, "airline", label_map="airline_to_generic")
    assert Counter(k for e in mapped for k in e.themes)["delivery_waiting"] > 1000
