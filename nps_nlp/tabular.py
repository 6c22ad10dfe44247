"""One streaming reader for tabular files (CSV/TSV, JSON Lines, Parquet), used by the whole library.

Batch tagging (:mod:`nps_nlp.batch`), the dataset loader (:func:`nps_nlp.datasets.load_examples`) and the
validation of training data read files through :func:`open_reader`. A reader yields :class:`Chunk` s of at most
``size`` rows and reports the position after each chunk (bytes for CSV/JSONL, rows for Parquet), so a job can
seek back to it when it resumes; :meth:`Reader.rows` yields the same rows one at a time with their numbers as the
file shows them (``line N`` for JSONL, ``row N`` for the others). Memory is bounded by the chunk size, never by
the file size.

CSV fields stay strings exactly as written (no type guessing), so a value such as ``007`` comes out as it went
in. Rows that cannot be read as they are (bytes that are not valid in the file's encoding, invalid JSON, a CSV row
with the wrong number of fields) do not stop the reader: each carries a ``problem``, and the caller decides
whether that rejects the row (batch tagging) or the file (training data).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from nps_nlp.errors import ConfigError, DataFormatError

__all__ = ["FORMATS", "Chunk", "CsvReader", "JsonlReader", "ParquetReader", "Reader", "Row", "detect_format",
           "open_reader"]

FORMATS = ("csv", "tsv", "jsonl", "parquet")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
_BAD_BYTES = re.compile("[\udc80-\udcff]")

# how a row's problem starts, by kind (see Row.kind)
UNDECODABLE = "undecodable bytes"
INVALID_JSON = "invalid JSON"
NOT_AN_OBJECT = "expected a JSON object per line"
FIELD_COUNT = "row has"

csv.field_size_limit(64 * 1024 * 1024)  # answers can be long; the default 128 KiB limit is too small


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The file format: ``fmt`` if given, else from the extension (.csv .tsv .jsonl .ndjson .parquet .pq).

    Raises:
        ConfigError: unknown format, or an extension that names none.
    """
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ConfigError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ConfigError(f"cannot tell the format of {path} from its extension {suffix or '(none)'!r}: "
                          f"use one of {', '.join(sorted(_EXTENSIONS))} or pass the format ({', '.join(FORMATS)})")
    return _EXTENSIONS[suffix]


@dataclass
class Chunk:
    """Consecutive data rows of a file.

    Attributes:
        start_row: 0-based index of the first row (header not counted).
        rows: column -> value per row (strings for CSV, JSON values for JSONL, Python values for Parquet).
        problems: per row, why it cannot be processed as read (undecodable bytes, invalid JSON, ...) or ``None``.
        end: the reader position right after the chunk (bytes for CSV/JSONL, rows for Parquet).
        lines: JSONL only: the 1-based line of each row, counted from where reading started (blank lines count).
    """

    start_row: int
    rows: list[dict[str, Any]]
    problems: list[str | None]
    end: int
    lines: list[int] | None = None


@dataclass(frozen=True)
class Row:
    """One row as :meth:`Reader.rows` yields it.

    Attributes:
        number: the 1-based line (JSONL, blank lines count) or data row (CSV/TSV/Parquet, header not counted).
        where: ``line N`` or ``row N``, as the file shows it.
        values: column -> value (strings for CSV, JSON values for JSONL, Python values for Parquet).
        problem: why the row cannot be used as read, or ``None``.
    """

    number: int
    where: str
    values: dict[str, Any]
    problem: str | None

    @property
    def kind(self) -> str | None:
        """What is wrong: ``undecodable`` (bytes not in the encoding; values decoded with replacement characters),
        ``invalid_json``, ``not_an_object`` (a JSON line that is no object), ``field_count`` (a CSV row with
        more or fewer fields than the header), or ``None``."""
        if self.problem is None:
            return None
        kinds = {UNDECODABLE: "undecodable", INVALID_JSON: "invalid_json", NOT_AN_OBJECT: "not_an_object",
                 FIELD_COUNT: "field_count"}
        return next(kind for start, kind in kinds.items() if self.problem.startswith(start))


class _LineCounter:
    """Iterates a binary file line by line, decoding with surrogate escapes, and counts bytes consumed."""

    def __init__(self, f: BinaryIO, encoding: str) -> None:
        self.f, self.encoding, self.pos = f, encoding, f.tell()

    def __iter__(self) -> Iterator[str]:
        for raw in self.f:
            self.pos += len(raw)
            yield raw.decode(self.encoding, errors="surrogateescape")


def _fix_undecodable(value: str, encoding: str) -> str:
    return value.encode(encoding, errors="surrogateescape").decode(encoding, errors="replace")


@dataclass
class Reader:
    """What every reader offers. Attributes: ``columns`` (input columns in order), ``unit`` and ``total`` of
    the progress position, ``arrow_fields`` (the Arrow type of each input column) and ``json_columns``
    (columns whose values are nested and are written as JSON text to CSV/Parquet)."""

    path: Path
    columns: list[str] = field(default_factory=list)
    unit: str = "B"
    total: int = 0
    arrow_fields: dict[str, pa.DataType] = field(default_factory=dict)
    json_columns: set[str] = field(default_factory=set)

    def chunks(self, size: int, start: int | None = None, start_row: int = 0) -> Iterator[Chunk]:
        raise NotImplementedError

    def start_position(self) -> int:
        """The position of the first data row."""
        return 0

    def rows(self, chunk_size: int = 1024) -> Iterator[Row]:
        """Every row from the start of the file, one at a time, numbered as the file shows it."""
        for chunk in self.chunks(chunk_size):
            for i, (values, problem) in enumerate(zip(chunk.rows, chunk.problems, strict=True)):
                if chunk.lines is not None:
                    yield Row(chunk.lines[i], f"line {chunk.lines[i]}", values, problem)
                else:
                    number = chunk.start_row + i + 1
                    yield Row(number, f"row {number}", values, problem)


def _check_columns(path: Path, columns: Sequence[str]) -> None:
    dupes = sorted({c for c in columns if list(columns).count(c) > 1})
    if dupes:
        raise DataFormatError(f"{path}: duplicate column names {dupes}; give every column a unique name")


class CsvReader(Reader):
    """CSV (``,``) or TSV (tab) with a header row; every field is read as a string."""

    def __init__(self, path: str | Path, delimiter: str = ",", encoding: str = "utf-8") -> None:
        super().__init__(Path(path))
        self.delimiter, self.encoding = delimiter, encoding
        try:
            "x".encode(encoding)
        except LookupError as exc:
            raise ConfigError(f"unknown encoding {encoding!r} (try utf-8, latin-1, cp1252)") from exc
        self.total = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            lines = _LineCounter(f, encoding)
            header = next(csv.reader(lines, delimiter=delimiter), None)
            self._data_start = lines.pos
        if not header:
            raise DataFormatError(f"{self.path}: expected a CSV file with a header row naming the columns (e.g. id,text,score), "
                                  "found an empty file")
        header[0] = header[0].lstrip("\ufeff")
        if any(_BAD_BYTES.search(h) for h in header):
            raise DataFormatError(f"{self.path}: the header is not valid {encoding}; pass the file's encoding (--encoding)")
        _check_columns(self.path, header)
        self.columns = header
        self.arrow_fields = dict.fromkeys(header, pa.string())

    def start_position(self) -> int:
        return self._data_start

    def chunks(self, size: int, start: int | None = None, start_row: int = 0) -> Iterator[Chunk]:
        n_cols = len(self.columns)
        with open(self.path, "rb") as f:
            f.seek(self._data_start if start is None else start)
            lines = _LineCounter(f, self.encoding)
            reader = csv.reader(lines, delimiter=self.delimiter)
            rows: list[dict[str, Any]] = []
            problems: list[str | None] = []
            while True:
                try:
                    record = next(reader, None)
                except csv.Error as exc:
                    raise DataFormatError(f"{self.path}: could not parse as CSV near byte {lines.pos} "
                                          f"(data row {start_row + len(rows) + 1}): {exc}") from exc
                if record is None:
                    break
                if not record:  # a blank line is no row
                    continue
                problem = None
                bad = [self.columns[i] if i < n_cols else f"field {i + 1}" for i, v in enumerate(record) if _BAD_BYTES.search(v)]
                if bad:
                    problem = f"{UNDECODABLE} (not {self.encoding}) in {', '.join(bad)}"
                    record = [_fix_undecodable(v, self.encoding) for v in record]
                if len(record) != n_cols:
                    problem = problem or f"{FIELD_COUNT} {len(record)} fields but the header has {n_cols}"
                    values: list[str | None] = (list(record) + [None] * n_cols)[:n_cols]
                else:
                    values = list(record)
                rows.append(dict(zip(self.columns, values, strict=True)))
                problems.append(problem)
                if len(rows) == size:
                    yield Chunk(start_row, rows, problems, lines.pos)
                    start_row, rows, problems = start_row + size, [], []
            if rows:
                yield Chunk(start_row, rows, problems, lines.pos)


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "nested"


class JsonlReader(Reader):
    """JSON Lines: one object per line. A first pass collects the keys (in order of first appearance) and
    their types, so CSV/Parquet output has a fixed set of columns."""

    def __init__(self, path: str | Path, encoding: str = "utf-8") -> None:
        super().__init__(Path(path))
        self.encoding = encoding
        self.total = os.path.getsize(self.path)
        kinds: dict[str, set[str]] = {}
        with open(self.path, "rb") as f:
            for raw in f:
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    continue  # reported per row when the chunk is read
                if isinstance(obj, dict):
                    for key, value in obj.items():
                        seen = kinds.setdefault(key, set())
                        kind = _kind(value)
                        if kind:
                            seen.add(kind)
        _check_columns(self.path, list(kinds))
        self.columns = list(kinds)
        for key, seen in kinds.items():
            if seen == {"bool"}:
                self.arrow_fields[key] = pa.bool_()
            elif seen == {"int"}:
                self.arrow_fields[key] = pa.int64()
            elif seen and seen <= {"int", "float"}:
                self.arrow_fields[key] = pa.float64()
            else:
                self.arrow_fields[key] = pa.string()
                if seen - {"str"}:
                    self.json_columns.add(key)

    def chunks(self, size: int, start: int | None = None, start_row: int = 0) -> Iterator[Chunk]:
        with open(self.path, "rb") as f:
            f.seek(start or 0)
            pos = f.tell()
            rows: list[dict[str, Any]] = []
            problems: list[str | None] = []
            lines: list[int] = []
            for line_no, raw in enumerate(f, start=1):
                pos += len(raw)
                if not raw.strip():
                    continue
                line = raw.decode(self.encoding, errors="surrogateescape")
                if pos == len(raw):  # the file's first line: a byte order mark is no part of the JSON
                    line = line.removeprefix("\ufeff")
                problem = None
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    obj, problem = {}, f"{INVALID_JSON}: {exc}"
                if not isinstance(obj, dict):
                    obj, problem = {}, f"{NOT_AN_OBJECT}, found {type(obj).__name__}"
                if problem is None and _BAD_BYTES.search(line):
                    problem = f"{UNDECODABLE} (not {self.encoding})"
                    obj = {k: _fix_undecodable(v, self.encoding) if isinstance(v, str) else v for k, v in obj.items()}
                rows.append(obj)
                problems.append(problem)
                lines.append(line_no)
                if len(rows) == size:
                    yield Chunk(start_row, rows, problems, pos, lines)
                    start_row, rows, problems, lines = start_row + size, [], [], []
            if rows:
                yield Chunk(start_row, rows, problems, pos, lines)


class ParquetReader(Reader):
    """A Parquet file, read in record batches (the position is a row count)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(Path(path))
        try:
            self._file = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataFormatError(f"{self.path}: could not read as Parquet: {exc}") from exc
        schema = self._file.schema_arrow
        _check_columns(self.path, schema.names)
        self.columns = list(schema.names)
        self.arrow_fields = {f.name: f.type for f in schema}
        self.unit, self.total = "rows", self._file.metadata.num_rows

    def chunks(self, size: int, start: int | None = None, start_row: int = 0) -> Iterator[Chunk]:
        start = start or 0
        meta = self._file.metadata
        first_group, group_start = 0, 0
        while first_group < meta.num_row_groups and group_start + meta.row_group(first_group).num_rows <= start:
            group_start += meta.row_group(first_group).num_rows
            first_group += 1
        skip = start - group_start
        pos = start
        buffer: list[dict[str, Any]] = []
        groups = list(range(first_group, meta.num_row_groups))
        for batch in self._file.iter_batches(batch_size=size, row_groups=groups) if groups else []:
            rows = batch.to_pylist()
            if skip:
                rows, skip = rows[skip:], max(0, skip - len(rows))
            buffer += rows
            while len(buffer) >= size:
                out, buffer = buffer[:size], buffer[size:]
                pos += len(out)
                yield Chunk(start_row, out, [None] * len(out), pos)
                start_row += len(out)
        if buffer:
            yield Chunk(start_row, buffer, [None] * len(buffer), pos + len(buffer))


def open_reader(path: str | Path, fmt: str | None = None, encoding: str = "utf-8", delimiter: str | None = None) -> Reader:
    """A streaming reader for ``path``.

    Args:
        path: the file.
        fmt: ``csv``, ``tsv``, ``jsonl`` or ``parquet`` (default: from the extension, see :func:`detect_format`).
        encoding: the text encoding of CSV/TSV and JSONL files.
        delimiter: CSV field separator (default ``,`` for csv, tab for tsv).

    Raises:
        DataFormatError: the file does not exist or cannot be read as ``fmt``.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    if not path.is_file():
        raise DataFormatError(f"input file {path} does not exist")
    if fmt == "parquet":
        return ParquetReader(path)
    if fmt == "jsonl":
        return JsonlReader(path, encoding)
    return CsvReader(path, delimiter or ("\t" if fmt == "tsv" else ","), encoding)


