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

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nps_nlp.datasets._base import (
    Example,
    add_theme,
    check_file,
    merge_themes,
    normalize_polarity,
)
from nps_nlp.errors import DataFormatError

__all__ = ["read_tabular", "normalize_lang", "KNOWN_COLUMNS"]

KNOWN_COLUMNS: tuple[str, ...] = ("id", "text", "lang", "score", "sentiment", "themes", "urgent")
LANGS: tuple[str, ...] = ("en", "nl", "nb", "nn")
_LANG_ALIASES = {
    "en": "en", "eng": "en", "english": "en",
    "nl": "nl", "nld": "nl", "dut": "nl", "dutch": "nl",
    "nb": "nb", "nob": "nb", "no": "nb", "nor": "nb", "bokmal": "nb", "bokmål": "nb",
    "nn": "nn", "nno": "nn", "nynorsk": "nn",
}  # fmt: skip
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def normalize_lang(value: object, *, where: str) -> str | None:
    """Map a language code to one of ``en``, ``nl``, ``nb``, ``nn`` (None when empty).

    Raises:
        DataFormatError: the language is not supported.
    """
    if _is_missing(value):
        return None
    raw = str(value).strip().lower()
    key = raw.replace("_", "-").split("-")[0]
    if key in _LANG_ALIASES:
        return _LANG_ALIASES[key]
    raise DataFormatError(f"{where}: unsupported language {value!r}; expected one of {', '.join(LANGS)}")


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
    check_file(path, fmt)
    mapping = _column_mapping(columns, path)
    default_lang = normalize_lang(lang, where="lang= argument") if lang is not None else None
    if fmt == "jsonl":
        found, rows = _jsonl_rows(path)
    elif fmt == "csv":
        found, rows = _csv_rows(path, sep)
    elif fmt == "parquet":
        found, rows = _parquet_rows(path)
    else:  # pragma: no cover - guarded by the registry
        raise DataFormatError(f"unknown tabular format {fmt!r}")

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

    used = set(mapping.values())
    has_themes = mapping["themes"] in found
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for number, where, row in rows:
        ex = _row_to_example(row, number, where, mapping, used, has_themes, default_lang)
        if ex.id in seen:
            raise DataFormatError(
                f"{where}: duplicate id {ex.id!r} (first seen at {seen[ex.id]}); ids must be unique"
            )
        seen[ex.id] = where
        examples.append(ex)
    return examples


# ----------------------------------------------------------------------------------------------


def _column_mapping(columns: Mapping[str, str] | None, path: Path) -> dict[str, str]:
    mapping = {name: name for name in KNOWN_COLUMNS}
    for ours, theirs in (columns or {}).items():
        if ours not in KNOWN_COLUMNS:
            raise DataFormatError(
                f"{path}: columns= has unknown key {ours!r}; the keys are our names "
                f"({', '.join(KNOWN_COLUMNS)}) and the values the file's column names"
            )
        if theirs is not None:
            mapping[ours] = str(theirs)
    return mapping


def _jsonl_rows(path: Path) -> tuple[list[str], list[tuple[int, str, dict[str, Any]]]]:
    rows: list[tuple[int, str, dict[str, Any]]] = []
    found: dict[str, None] = {}
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: expected UTF-8 JSON Lines, could not decode: {err}") from err
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {line_no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(
                f"{where}: expected one JSON object per line, found invalid JSON ({err.msg})"
            ) from err
        if not isinstance(obj, dict):
            raise DataFormatError(f"{where}: expected a JSON object per line, found {type(obj).__name__}")
        for key in obj:
            found.setdefault(str(key), None)
        rows.append((len(rows) + 1, where, obj))
    return list(found), rows


def _csv_rows(path: Path, sep: str | None) -> tuple[list[str], list[tuple[int, str, dict[str, Any]]]]:
    import pandas as pd

    try:
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=sep or ","
        )
    except pd.errors.EmptyDataError as err:
        raise DataFormatError(f"{path}: expected a CSV file with a header row, found an empty file") from err
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DataFormatError(f"{path}: could not parse as CSV: {err}") from err
    found = [str(c) for c in df.columns]
    rows = []
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        clean = {str(k): (None if v == "" else v) for k, v in rec.items()}
        rows.append((i, f"{path}, row {i}", clean))
    return found, rows


def _parquet_rows(path: Path) -> tuple[list[str], list[tuple[int, str, dict[str, Any]]]]:
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise DataFormatError(f"{path}: could not read as Parquet: {err}") from err
    found = [str(c) for c in df.columns]
    rows = []
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        rows.append((i, f"{path}, row {i}", {str(k): _to_python(v) for k, v in rec.items()}))
    return found, rows


def _to_python(value: Any) -> Any:
    """Turn numpy/pandas scalars and arrays into plain Python values (missing -> None)."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_python(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_python(v) for k, v in value.items()}
    if _is_missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, dict, tuple)) else False
    except (TypeError, ValueError):
        return False


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
        return None if _is_missing(value) else value

    raw_text = row.get(mapping["text"])
    if isinstance(raw_text, (dict, list)):
        raise DataFormatError(f"{where}: expected text to be a string, found {type(raw_text).__name__}")
    text = "" if _is_missing(raw_text) else str(raw_text)

    raw_id = get("id")
    if isinstance(raw_id, (dict, list)):
        raise DataFormatError(f"{where}: expected id to be a string or number, found {type(raw_id).__name__}")
    if isinstance(raw_id, float) and raw_id.is_integer():
        raw_id = int(raw_id)
    ex_id = str(number) if raw_id is None else str(raw_id)

    lang = normalize_lang(get("lang"), where=f"{where}, column {mapping['lang']!r}") or default_lang
    score = _parse_score(get("score"), f"{where}, column {mapping['score']!r}")
    sentiment = normalize_polarity(get("sentiment"), where=f"{where}, column {mapping['sentiment']!r}")
    themes = (
        _parse_themes(row.get(mapping["themes"]), f"{where}, column {mapping['themes']!r}")
        if has_themes
        else None
    )
    meta = {k: v for k, v in row.items() if k not in used}
    urgent = get("urgent")
    if urgent is not None:
        meta["urgent"] = _parse_bool(urgent, f"{where}, column {mapping['urgent']!r}")
    return Example(text=text, id=ex_id, lang=lang, score=score, sentiment=sentiment, themes=themes, meta=meta)


def _parse_score(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise DataFormatError(f"{where}: expected an NPS score 0-10, found {value!r}")
    number: float
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: expected an NPS score 0-10, found {value!r}") from None
    if not number.is_integer() or not 0 <= number <= 10:
        raise DataFormatError(f"{where}: expected an NPS score 0-10 (a whole number), found {value!r}")
    return int(number)


def _parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key in _TRUE or key == "1.0":
        return True
    if key in _FALSE or key == "0.0":
        return False
    raise DataFormatError(f"{where}: expected true/false (or 1/0, yes/no), found {value!r}")


def _parse_themes(value: Any, where: str) -> dict[str, str | None]:
    if value is None or (not isinstance(value, (list, dict, tuple)) and _is_missing(value)):
        return {}
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                decoded = json.loads(stripped)
            except json.JSONDecodeError as err:
                raise DataFormatError(
                    f"{where}: themes look like JSON but could not be parsed ({err.msg}): {value!r}"
                ) from err
            return _parse_themes(decoded, where)
        return _parse_delimited(stripped, where)
    collected: dict[str, list[str | None]] = {}
    if isinstance(value, dict):
        for label, pol in value.items():
            _add(collected, label, pol, where)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, str):
                _add(collected, item, None, where)
            elif isinstance(item, (list, tuple)) and len(item) == 2:  # Parquet map columns
                _add(collected, item[0], item[1], where)
            elif isinstance(item, dict) and ("theme" in item or "id" in item):
                _add(collected, item.get("theme", item.get("id")), item.get("polarity"), where)
            else:
                raise DataFormatError(
                    f"{where}: expected theme ids (strings) in the themes list, found {item!r}"
                )
    else:
        raise DataFormatError(
            f"{where}: expected themes as a dict {{theme: polarity}}, a list of theme ids or a "
            f"string like 'billing_payment:negative;staff_attitude', found {type(value).__name__} {value!r}"
        )
    return merge_themes(collected)


def _parse_delimited(value: str, where: str) -> dict[str, str | None]:
    sep = ";" if ";" in value else "|" if "|" in value else ","
    collected: dict[str, list[str | None]] = {}
    for part in value.split(sep):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            label, pol = part.rsplit(":", 1)
            _add(collected, label, pol, where)
        else:
            _add(collected, part, None, where)
    return merge_themes(collected)


def _add(collected: dict[str, list[str | None]], label: Any, polarity: Any, where: str) -> None:
    name = _label(label, where)
    add_theme(collected, name, normalize_polarity(polarity, where=f"{where}, theme {name!r}"))


def _label(value: Any, where: str) -> str:
    label = "" if value is None else str(value).strip()
    if not label:
        raise DataFormatError(f"{where}: found an empty theme label")
    return label
