"""One entry point for every supported format: :func:`load_examples`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from nps_nlp.datasets._base import Example, add_theme, merge_themes
from nps_nlp.errors import DataFormatError

__all__ = ["FORMATS", "apply_label_map", "format_of", "load_examples", "load_label_map"]

FORMATS: tuple[str, ...] = (
    "jsonl",
    "csv",
    "parquet",
    "semeval2016",
    "mams",
    "norec",
    "airline",
    "semeval2014",
    "norec_fine",
)
_TABULAR = ("jsonl", "csv", "parquet")
_EXTENSIONS = {
    ".jsonl": ("jsonl", {}),
    ".ndjson": ("jsonl", {}),
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"sep": "\t"}),
    ".parquet": ("parquet", {}),
    ".pq": ("parquet", {}),
}
LabelMap = Mapping[str, "str | None"]


def format_of(path: str | Path) -> str | None:
    """The tabular format a file's extension names (``jsonl``, ``csv`` or ``parquet``), or None."""
    known = _EXTENSIONS.get(Path(path).suffix.lower())
    return known[0] if known else None


def _reader(fmt: str) -> Callable[..., list[Example]]:
    if fmt in _TABULAR:
        from nps_nlp.datasets._tabular import read_tabular

        return functools.partial(read_tabular, fmt=fmt)
    if fmt == "semeval2016":
        from nps_nlp.datasets.semeval import read_semeval2016

        return read_semeval2016
    if fmt == "semeval2014":
        from nps_nlp.datasets.semeval import read_semeval2014

        return read_semeval2014
    if fmt == "mams":
        from nps_nlp.datasets.mams import read_mams

        return read_mams
    if fmt == "norec":
        from nps_nlp.datasets.norec import read_norec

        return read_norec
    if fmt == "norec_fine":
        from nps_nlp.datasets.norec import read_norec_fine

        return read_norec_fine
    from nps_nlp.datasets.airline import read_airline

    return read_airline


def load_examples(
    path: str | Path,
    format: str | None = None,  # noqa: A002 - the public name users expect
    *,
    columns: Mapping[str, str] | None = None,
    label_map: LabelMap | str | Path | None = None,
    **kw: Any,
) -> list[Example]:
    """Read any supported dataset into a list of :class:`Example`.

    Formats (see each reader's module for the details):

    - ``jsonl``, ``csv``, ``parquet``: the project's own format (file only).
    - ``semeval2016``: SemEval-2016 Task 5 XML, a file or a directory of ``*.xml`` (a ``X_textlevel.xml``
      twin of ``X.xml`` is only read with ``level="text"``); options ``lang=``, ``level=``.
    - ``semeval2014``: SemEval-2014 Task 4 XML, a file or a directory of ``*.xml``.
    - ``mams``: MAMS-ACSA XML, a file or a directory of ``*.xml`` (train, val, test).
    - ``norec``: NoReC_sentence JSON, a file, a directory of ``*.json``, or the dataset root with
      ``3class/`` and ``binary/`` (option ``variant=``, default ``"3class"``); option ``detokenize=``.
    - ``norec_fine``: NoReC_fine JSON, a file or a directory of ``*.json``; option ``detokenize=``.
    - ``airline``: Twitter US Airline Sentiment CSV (file only); option ``leak_fix=``.

    Args:
        path: file or directory to read.
        format: one of :data:`FORMATS`; None infers ``jsonl``/``csv``/``parquet`` from the extension
            (``.jsonl``, ``.ndjson``, ``.csv``, ``.tsv``, ``.parquet``, ``.pq``).
        columns: for the tabular formats, our column name -> the file's column name.
        label_map: external theme label -> product theme id, as a dict, a path to a YAML file
            holding such a dict, or the name of a mapping shipped in ``nps_nlp/data/mappings``
            (e.g. ``"semeval2016_to_generic"``). Labels mapped to null are dropped, unmapped labels
            are kept as they are; when several labels land on one theme their polarities are
            combined (majority, a tie gives None). The original themes go to ``meta["source_themes"]``.
        **kw: options of the format's reader (``lang``, ``level``, ``variant``, ``detokenize``,
            ``leak_fix``, ``sep``).

    Returns:
        The examples, in file order.

    Raises:
        DataFormatError: the path is missing, the format is unknown or cannot be inferred, or the
            data cannot be read (the message names the file and row).
        TypeError: an option in ``**kw`` is not accepted by the format's reader.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"data file not found: {path}")
    if format is None:
        format, defaults = _infer_format(path)
        kw = {**defaults, **kw}
    fmt = format.lower().strip()
    if fmt not in FORMATS:
        raise DataFormatError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if fmt in _TABULAR:
        if path.is_dir():
            raise DataFormatError(f"{path} is a directory; format {fmt!r} reads one file")
        kw["columns"] = columns
    elif columns is not None:
        raise DataFormatError(f"columns= only applies to {', '.join(_TABULAR)}, not to format {fmt!r}")

    reader = _reader(fmt)
    accepted = [n for n in inspect.signature(reader).parameters if n not in ("path", "fmt")]
    unknown = sorted(set(kw) - set(accepted))
    if unknown:
        raise TypeError(
            f"format {fmt!r} does not accept option(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(accepted) or 'none'}"
        )
    examples = reader(path, **kw)
    if label_map is not None:
        examples = apply_label_map(examples, load_label_map(label_map))
    return examples


def _infer_format(path: Path) -> tuple[str, dict[str, Any]]:
    """The format of a file from its extension, with the reader options the extension implies (``.tsv``: tabs).

    Raises:
        DataFormatError: ``path`` is a directory, or its extension names no format.
    """
    if path.is_dir():
        raise DataFormatError(
            f"{path} is a directory: cannot infer its format; pass format= (one of {', '.join(FORMATS)})"
        )
    suffix = path.suffix.lower()
    if suffix not in _EXTENSIONS:
        raise DataFormatError(
            f"{path}: cannot infer the format from the extension {suffix or '(none)'!r}; expected one of "
            f"{', '.join(_EXTENSIONS)}, or pass format= (one of {', '.join(FORMATS)})"
        )
    return _EXTENSIONS[suffix]


def load_label_map(label_map: LabelMap | str | Path) -> dict[str, str | None]:
    """Load and check a label map.

    Args:
        label_map: a dict, a path to a YAML file holding a flat dict, or the stem of a mapping
            shipped in ``nps_nlp/data/mappings`` (e.g. ``"mams_to_generic"``).

    Returns:
        external label -> product theme id (None: drop the label).

    Raises:
        DataFormatError: the file is missing or not a flat mapping of strings to strings/null.
    """
    where = "label_map"
    if isinstance(label_map, (str, Path)):
        path = Path(label_map)
        if not path.exists():
            shipped = resources.files("nps_nlp").joinpath("data", "mappings", f"{label_map}.yaml")
            if isinstance(label_map, str) and "/" not in label_map and shipped.is_file():
                path = Path(str(shipped))
            else:
                raise DataFormatError(
                    f"label_map file not found: {label_map} (expected a YAML file or the name of a shipped "
                    f"mapping: {', '.join(shipped_label_maps())})"
                )
        import yaml

        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise DataFormatError(
                f"{path}: expected a YAML mapping of labels to theme ids, could not parse it: {err}"
            ) from err
    else:
        data = label_map
    if not isinstance(data, Mapping):
        raise DataFormatError(
            f"{where}: expected a mapping of external labels to theme ids (or null), found {type(data).__name__}"
        )
    out: dict[str, str | None] = {}
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            raise DataFormatError(
                f"{where}: label {key!r} maps to {value!r}; expected a theme id (string) or null to drop it"
            )
        out[str(key)] = value
    return out


def shipped_label_maps() -> list[str]:
    """Names of the label maps shipped in ``nps_nlp/data/mappings``."""
    folder = resources.files("nps_nlp").joinpath("data", "mappings")
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def apply_label_map(examples: list[Example], mapping: Mapping[str, str | None]) -> list[Example]:
    """Rename theme labels in place (see :func:`load_examples`) and return the same list."""
    folded = {k.lower(): v for k, v in mapping.items()}
    for ex in examples:
        if ex.themes is None:
            continue
        collected: dict[str, list[str | None]] = {}
        for label, polarity in ex.themes.items():
            if label in mapping:
                target = mapping[label]
            elif label.lower() in folded:
                target = folded[label.lower()]
            else:
                target = label
            if target is not None:
                add_theme(collected, target, polarity)
        new = merge_themes(collected)
        if new != ex.themes:
            ex.meta["source_themes"] = dict(ex.themes)
            ex.themes = new
    return examples
