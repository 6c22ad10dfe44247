"""nps_nlp.datasets: examples and splits, the project format (JSONL, CSV, Parquet), the format registry and
label maps, on tiny invented fixtures. The external formats have their own files (test_semeval, test_norec,
test_airline).

All fixture texts below are made up for these tests; none comes from the external data sets.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
import yaml
from datasets_helpers import MAMS, MAPPINGS, SEMEVAL16, TAXONOMY, write, write_jsonl

from nps_nlp.datasets import FORMATS, POLARITIES, Example, load_examples, train_dev_split
from nps_nlp.errors import DataFormatError, NpsNlpError

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
