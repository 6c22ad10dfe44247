"""nps_nlp.datasets.airline: the Twitter US Airline Sentiment CSV on tiny invented fixtures, plus the real set when
../shared/data is there.

All fixture texts below are made up for these tests; none comes from the external data sets.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from datasets_helpers import check_split, shared, write

from nps_nlp.datasets import load_examples
from nps_nlp.datasets.airline import clean_tweet
from nps_nlp.errors import DataFormatError

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
# the real data set(s) (../shared/data)


@pytest.mark.external
def test_external_airline():
    path = shared("twitter_airline_en") / "Tweets.dev.csv"
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
    check_split(exs)
    mapped = load_examples(path, "airline", label_map="airline_to_generic")
    assert Counter(k for e in mapped for k in e.themes)["delivery_waiting"] > 1000
