"""Twitter US Airline Sentiment CSV (``Tweets.csv`` / ``Tweets.dev.csv``).

Labels: ``sentiment`` from ``airline_sentiment``; ``themes`` is ``{negativereason: "negative"}`` for a
negative tweet with a reason, and ``{}`` for positive and neutral tweets and for the reason
"Can't Tell". ``lang="en"``, ``score=None``, ``group`` = ``tweet_id`` (the release repeats some
tweet ids: the repeats get ids ``"<tweet_id>#2"``, ... and stay in the same group).

Label leakage: the original release replaced the words "cancel", "late" and "booking" in the tweets
by the label strings "Cancelled Flight", "Late Flight" and "Flight Booking Problems" (so "cancelled"
reads "Cancelled Flightled", "later" reads "Late Flightr", "rebooking" reads "reFlight Booking Problems").
The text is therefore cleaned before use:

1. HTML entities (``&amp;``) are unescaped.
2. ``leak_fix="restore"`` (default) puts the original word back in place of those three pasted
   strings (lower case; the original casing is lost). ``leak_fix="remove"`` deletes them together
   with any letters glued to them instead.
3. Every ``negativereason`` value of the file (and the three above), case-insensitive, as a whole
   phrase together with any letters glued to it, is removed.
4. Leading ``@airline`` mentions (also ``.@airline``) are stripped and whitespace is collapsed.

So no label string is left in any text. The raw text is not kept (it would leak the label).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Literal

from nps_nlp.datasets._base import Example, check_file, normalize_polarity
from nps_nlp.errors import DataFormatError

__all__ = ["read_airline", "clean_tweet", "PASTED_LABELS"]

#: label string pasted into the tweets -> the word it replaced
PASTED_LABELS: dict[str, str] = {
    "Cancelled Flight": "cancel",
    "Late Flight": "late",
    "Flight Booking Problems": "booking",
}
_NO_THEME_REASONS = {"can't tell", "cant tell", "can’t tell"}
_REQUIRED = ("tweet_id", "text", "airline_sentiment", "negativereason")
_LEADING_MENTIONS = re.compile(r"^\s*\.?(?:@\w+[\s:,]*)+")


def clean_tweet(
    text: str, labels: list[str] | tuple[str, ...] = (), *, leak_fix: Literal["restore", "remove"] = "restore"
) -> str:
    """Remove label strings and leading mentions from one tweet (see the module docstring).

    Args:
        text: the tweet as released.
        labels: the ``negativereason`` values to remove (the pasted labels are always handled).
        leak_fix: ``"restore"`` the words the pasted labels replaced, or ``"remove"`` them.

    Returns:
        The cleaned text, with single spaces and no leading mention.
    """
    if leak_fix not in ("restore", "remove"):
        raise ValueError(f"leak_fix must be 'restore' or 'remove', got {leak_fix!r}")
    out = html.unescape(text)
    for pasted, word in sorted(PASTED_LABELS.items(), key=lambda kv: -len(kv[0])):
        if leak_fix == "restore":
            out = re.sub(re.escape(pasted), word, out, flags=re.IGNORECASE)
        else:
            out = re.sub(rf"\w*{re.escape(pasted)}\w*", " ", out, flags=re.IGNORECASE)
    for label in sorted(set(labels) | set(PASTED_LABELS), key=len, reverse=True):
        if label.strip():
            out = re.sub(rf"\w*{re.escape(label.strip())}\w*", " ", out, flags=re.IGNORECASE)
    out = _LEADING_MENTIONS.sub("", out)
    return " ".join(out.split())


def read_airline(
    path: Path, *, leak_fix: Literal["restore", "remove"] = "restore", lang: str | None = "en"
) -> list[Example]:
    """Read the Twitter US Airline Sentiment CSV.

    Args:
        path: the CSV file (columns ``tweet_id``, ``text``, ``airline_sentiment``, ``negativereason``;
            other columns such as ``airline`` and the confidences go to ``meta``).
        leak_fix: how to undo the pasted label strings, ``"restore"`` or ``"remove"``.
        lang: language of every example (default ``"en"``).

    Returns:
        One example per row, in file order, with masked text.

    Raises:
        DataFormatError: the file is missing or not CSV, a required column is absent, or a
            sentiment is not negative/neutral/positive.
    """
    import pandas as pd

    path = Path(path)
    check_file(path, "Twitter airline CSV")
    if leak_fix not in ("restore", "remove"):
        raise DataFormatError(f"leak_fix must be 'restore' or 'remove', got {leak_fix!r}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as err:
        raise DataFormatError(f"{path}: expected the airline CSV with a header row, found an empty file") from err
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DataFormatError(f"{path}: could not parse as CSV: {err}") from err
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise DataFormatError(
            f"{path}: expected the Twitter airline columns {', '.join(_REQUIRED)}; missing {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns))})"
        )
    labels = sorted({r.strip() for r in df["negativereason"] if r.strip()})
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        where = f"{path}, row {i}"
        sentiment = normalize_polarity(rec["airline_sentiment"], where=f"{where}, column 'airline_sentiment'")
        if sentiment is None:
            raise DataFormatError(
                f"{where}: expected airline_sentiment negative, neutral or positive, found {rec['airline_sentiment']!r}"
            )
        reason = rec["negativereason"].strip()
        themes: dict[str, str | None] = {}
        if sentiment == "negative" and reason and reason.lower() not in _NO_THEME_REASONS:
            themes = {reason: "negative"}
        tweet_id = rec["tweet_id"].strip() or str(i)
        seen[tweet_id] = seen.get(tweet_id, 0) + 1
        ex_id = tweet_id if seen[tweet_id] == 1 else f"{tweet_id}#{seen[tweet_id]}"
        meta = {k: (v or None) for k, v in rec.items() if k not in ("text", "tweet_id", "airline_sentiment")}
        examples.append(
            Example(
                text=clean_tweet(rec["text"], labels, leak_fix=leak_fix),
                id=ex_id,
                lang=lang,
                sentiment=sentiment,
                themes=themes,
                group=tweet_id,
                meta={"source_file": path.name, **meta},
            )
        )
    return examples
