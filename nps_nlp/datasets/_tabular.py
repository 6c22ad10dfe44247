"""The project's own tabular format, as JSON Lines, CSV (or TSV) or Parquet.

Columns (only ``text`` is required; use ``columns=`` to map them onto other names):

- ``id``: any string or number; missing -> the 1-based row number as a string. Must be unique.
- ``text``: the open answer; an empty cell gives an empty text.
- ``lang``: ``en``, ``nl``, ``nb`` or ``nn`` (``no``/``nob`` -> ``nb``, ``nno`` -> ``nn``, region tags such
  as ``en-GB`` are cut); empty -> the ``lang=`` argument, else None.
- ``score``: NPS score, an integer 0-10; empty -> None.
- ``sentiment``: ``negative``/``neutral``/``positive`` (``neg``/``neu``/``pos`` accepted); empty -> None.
- ``themes``: in JSONL a dict ``{"billing_payment": "negative"}`` or a list of theme ids; in CSV and
  Parquet a JSON string of either, or a delimited string ``"billing_payment:negative;staff_attitude:positive"``
  or ``"billing_payment;staff_attitude"`` (``;``, ``|`` or ``,`` separate). A theme without polarity gets
  None. An empty cell means "labelled, no theme" (``{}``). Without a ``themes`` column every example
  has ``themes=None``.
- ``urgent``: optional boolean (true/false, 1/0, yes/no), kept as ``meta["urgent"]``.

Every other column is kept in :attr:`Example.meta` under its own name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nps_nlp.datasets._base import Example, check_file, normalize_polarity
from nps_nlp.datasets.fields import (
    KNOWN_COLUMNS,
    column_mapping,
    is_missing,
    normalize_lang,
    parse_bool,
    parse_score,
    parse_themes,
    to_python,
)
from nps_nlp.errors import DataFormatError
from nps_nlp.tabular import Row, open_reader

__all__ = ["KNOWN_COLUMNS", "normalize_lang", "read_rows", "read_tabular"]

# what a row problem of the streaming reader means for a data file, by Row.kind
_UNREADABLE = {
    "invalid_json": "{path}, {where}: expected one JSON object per line, found {problem}",
    "not_an_object": "{path}, {where}: {problem}",
    "undecodable": "{path}, {where}: expected UTF-8 {what}, found {problem}",
    "field_count": "{path}: could not parse as CSV, {where}: {problem}",
}


def read_rows(path: Path, fmt: str, *, sep: str | None = None) -> tuple[list[str], Iterator[Row]]:
    """Stream the rows of a project-format file with the library's reader (:mod:`nps_nlp.tabular`).

    Args:
        path: the file.
        fmt: ``"jsonl"``, ``"csv"`` or ``"parquet"``.
        sep: CSV field separator (default ``","``; ``"\\t"`` for ``.tsv`` files).

    Returns:
        The file's columns, and its rows one at a time (``where`` is ``line N`` for JSONL, ``row N`` otherwise;
        Parquet values as plain Python values).

    Raises:
        DataFormatError: the file is missing or unreadable; while iterating, a row that cannot be read as it is
            (invalid JSON, not UTF-8, a CSV row with the wrong number of fields), named with its file and row.
    """
    path = Path(path)
    check_file(path, fmt)
    reader = open_reader(path, fmt, encoding="utf-8", delimiter=sep)
    return list(reader.columns), _checked(reader.rows(), path, fmt)


def _checked(rows: Iterator[Row], path: Path, fmt: str) -> Iterator[Row]:
    what = {"jsonl": "JSON Lines", "csv": "CSV"}.get(fmt, fmt)
    for row in rows:
        if row.kind is not None:
            raise DataFormatError(_UNREADABLE[row.kind].format(path=path, where=row.where, problem=row.problem, what=what))
        if fmt == "parquet":
            row = Row(row.number, row.where, {key: to_python(value) for key, value in row.values.items()}, None)
        elif fmt == "csv":  # an empty cell is a missing value
            row = Row(row.number, row.where, {key: None if value == "" else value for key, value in row.values.items()}, None)
        yield row


def read_tabular(
    path: Path,
    fmt: str,
    *,
    columns: Mapping[str, str] | None = None,
    lang: str | None = None,
    sep: str | None = None,
) -> list[Example]:
    """Read a project-format file.

    Args:
        path: the file.
        fmt: ``"jsonl"``, ``"csv"`` or ``"parquet"``.
        columns: our column name -> the file's column name, for files that use other names
            (e.g. ``{"text": "comment", "score": "nps"}``).
        lang: language for rows whose ``lang`` is empty or absent.
        sep: CSV field separator (default ``","``; ``"\\t"`` for ``.tsv`` files).

    Returns:
        One example per row, in file order.

    Raises:
        DataFormatError: the file is missing or unreadable, the text column is absent, a value
            cannot be parsed, or ids repeat. Messages name the file and the row (JSONL: the line).
    """
    path = Path(path)
    mapping = column_mapping(columns, path)
    default_lang = normalize_lang(lang, where="lang= argument") if lang is not None else None
    found, rows = read_rows(path, fmt, sep=sep)
    try:
        _check_mapped_columns(path, mapping, columns, found)
    except DataFormatError:
        for _ in rows:  # a row that cannot be read (not JSON, not UTF-8) explains a missing column better
            pass
        raise
    used = set(mapping.values())
    has_themes = mapping["themes"] in found
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for row in rows:
        where = f"{path}, {row.where}"
        ex = _row_to_example(row.values, row.number if fmt != "jsonl" else len(examples) + 1, where, mapping, used,
                             has_themes, default_lang)
        if ex.id in seen:
            raise DataFormatError(
                f"{where}: duplicate id {ex.id!r} (first seen at {seen[ex.id]}); ids must be unique"
            )
        seen[ex.id] = where
        examples.append(ex)
    return examples


# ----------------------------------------------------------------------------------------------


def _check_mapped_columns(path: Path, mapping: dict[str, str], columns: Mapping[str, str] | None,
                          found: list[str]) -> None:
    for ours, theirs in mapping.items():
        if theirs not in found and (ours == "text" or (columns and ours in columns)):
            shown = ", ".join(repr(c) for c in found) or "none"
            hint = (
                "pass columns={'text': '<your column>'} (CLI: --text-column) to name the text column"
                if ours == "text"
                else f"fix columns={{'{ours}': ...}}"
            )
            raise DataFormatError(
                f"{path}: expected a column {theirs!r} for {ours!r} but found columns: {shown}; {hint}"
            )


def _row_to_example(
    row: dict[str, Any],
    number: int,
    where: str,
    mapping: dict[str, str],
    used: set[str],
    has_themes: bool,
    default_lang: str | None,
) -> Example:
    def get(name: str) -> Any:
        value = row.get(mapping[name])
        return None if is_missing(value) else value

    raw_text = row.get(mapping["text"])
    if isinstance(raw_text, (dict, list)):
        raise DataFormatError(f"{where}: expected text to be a string, found {type(raw_text).__name__}")
    text = "" if is_missing(raw_text) else str(raw_text)

    raw_id = get("id")
    if isinstance(raw_id, (dict, list)):
        raise DataFormatError(f"{where}: expected id to be a string or number, found {type(raw_id).__name__}")
    if isinstance(raw_id, float) and raw_id.is_integer():
        raw_id = int(raw_id)
    ex_id = str(number) if raw_id is None else str(raw_id)

    lang = normalize_lang(get("lang"), where=f"{where}, column {mapping['lang']!r}") or default_lang
    score = parse_score(get("score"), f"{where}, column {mapping['score']!r}")
    sentiment = normalize_polarity(get("sentiment"), where=f"{where}, column {mapping['sentiment']!r}")
    themes = (
        parse_themes(row.get(mapping["themes"]), f"{where}, column {mapping['themes']!r}")
        if has_themes
        else None
    )
    meta = {k: v for k, v in row.items() if k not in used}
    urgent = get("urgent")
    if urgent is not None:
        meta["urgent"] = parse_bool(urgent, f"{where}, column {mapping['urgent']!r}")
    return Example(text=text, id=ex_id, lang=lang, score=score, sentiment=sentiment, themes=themes, meta=meta)
