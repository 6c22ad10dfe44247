"""Helpers of the dataset reader tests: files written from strings, and the external data sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nps_nlp
from nps_nlp.datasets import Example, train_dev_split

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MAPPINGS = Path(nps_nlp.__file__).resolve().parent / "data" / "mappings"
TAXONOMY = Path(nps_nlp.__file__).resolve().parent / "data" / "taxonomy_default.yaml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    return write(path, "\n".join(json.dumps(r) for r in rows) + "\n")


def shared(sub: str) -> Path:
    """A folder of ../shared/data, or a skip with the reason when it is absent."""
    path = SHARED / sub
    if not path.exists():
        pytest.skip(f"external data not found at {path} (expected ../shared/data next to the repo)")
    return path


def check_split(examples: list[Example]) -> None:
    train, dev = train_dev_split(examples)
    assert len(train) + len(dev) == len(examples)
    assert {e.group for e in train}.isdisjoint({e.group for e in dev})
    assert 0.1 < len(dev) / len(examples) < 0.3
    assert len({e.id for e in examples}) == len(examples)


# invented SemEval-2016 and MAMS files, read by the format tests and the label-map tests
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
