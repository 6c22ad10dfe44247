"""nps_nlp.datasets.semeval and .mams: SemEval-2016, SemEval-2014 and MAMS XML on tiny invented fixtures, plus
the real sets when ../shared/data is there.

All fixture texts below are made up for these tests; none comes from the external data sets.
"""

from __future__ import annotations

from collections import Counter

import pytest
from datasets_helpers import MAMS, SEMEVAL16, check_split, shared, write

from nps_nlp.datasets import POLARITIES, load_examples
from nps_nlp.datasets.mams import read_mams
from nps_nlp.errors import DataFormatError

# ----------------------------------------------------------------------------------------------
# SemEval-2016

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
# the real data set(s) (../shared/data)


@pytest.mark.external
def test_external_semeval2016():
    folder = shared("semeval2016_restaurants_nl_en")
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
        check_split(exs)
        assert all(set(e.themes.values()) <= {*POLARITIES, None} for e in exs)
    mapped = load_examples(folder, "semeval2016", label_map="semeval2016_to_generic")
    assert Counter(k for e in mapped for k in e.themes)["product_quality"] > 1000


@pytest.mark.external
def test_external_semeval2014_and_mams():
    exs = load_examples(shared("semeval2014_restaurants_en") / "Restaurants_Test_Data_phaseB.xml", "semeval2014")
    assert len(exs) == 800 and all(v is None for e in exs for v in e.themes.values())
    check_split(exs)
    mams = load_examples(shared("mams_acsa_en"), "mams")
    assert len(mams) == 3149 + 400
    assert all(len(e.themes) >= 2 and len(set(e.themes.values())) >= 2 for e in mams)
    check_split(mams)
