"""The columns of the project's tabular format and how each cell is read.

The readers of CSV, JSONL and Parquet data (:func:`nps_nlp.datasets.load_examples`) and the validation of
training data (``training.validate``) read cells with these functions, so both accept the same values and
word their errors alike. Every function raises :class:`~nps_nlp.errors.DataFormatError` naming ``where``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nps_nlp.datasets._base import add_theme, merge_themes, normalize_polarity
from nps_nlp.errors import DataFormatError

__all__ = [
    "KNOWN_COLUMNS",
    "LANGS",
    "column_mapping",
    "is_missing",
    "normalize_lang",
    "normalize_polarity",
    "parse_bool",
    "parse_score",
    "parse_themes",
    "to_python",
]

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
    if is_missing(value):
        return None
    raw = str(value).strip().lower()
    key = raw.replace("_", "-").split("-")[0]
    if key in _LANG_ALIASES:
        return _LANG_ALIASES[key]
    raise DataFormatError(f"{where}: unsupported language {value!r}; expected one of {', '.join(LANGS)}")


def column_mapping(columns: Mapping[str, str] | None, path: Path) -> dict[str, str]:
    """Our column name -> the file's column name, for every known column (``columns`` overrides the names).

    Raises:
        DataFormatError: a key of ``columns`` is not one of :data:`KNOWN_COLUMNS`.
    """
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


def to_python(value: Any) -> Any:
    """Turn numpy/pandas scalars and arrays into plain Python values (missing -> None)."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return [to_python(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_python(v) for v in value)
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    if is_missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def is_missing(value: Any) -> bool:
    """Whether a cell is empty: None, NaN, a blank string or a pandas/NumPy missing value."""
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


def parse_score(value: Any, where: str) -> int | None:
    """An NPS score cell as an integer 0-10 (None for None)."""
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


def parse_bool(value: Any, where: str) -> bool:
    """A true/false cell (true/false, 1/0, yes/no, y/n, t/f)."""
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key in _TRUE or key == "1.0":
        return True
    if key in _FALSE or key == "0.0":
        return False
    raise DataFormatError(f"{where}: expected true/false (or 1/0, yes/no), found {value!r}")


def parse_themes(value: Any, where: str) -> dict[str, str | None]:
    """A themes cell as ``{theme: polarity or None}``: a dict, a list of ids, JSON text or a delimited string
    (see :mod:`nps_nlp.datasets._tabular`); empty means labelled with no theme (``{}``)."""
    if value is None or (not isinstance(value, (list, dict, tuple)) and is_missing(value)):
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
            return parse_themes(decoded, where)
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
