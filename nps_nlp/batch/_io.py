"""Streaming readers and part writers for CSV/TSV, JSONL and Parquet.

Readers yield :class:`Chunk` s of at most ``size`` rows and report the position after each chunk (bytes for
CSV/JSONL, rows for Parquet) so a job can seek back to it when it resumes. Memory is bounded by the
chunk size, never by the file size.

CSV fields stay strings exactly as written (no type guessing), so a value such as ``007`` comes out as
it went in. Bytes that are not valid in the file's encoding do not stop the job: the row is reported as a
problem and its values are decoded with replacement characters.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from nps_nlp.batch._schema import TAG_COLUMNS, TAG_SCHEMA
from nps_nlp.errors import ConfigError, DataFormatError

FORMATS = ("csv", "tsv", "jsonl", "parquet")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
_BAD_BYTES = re.compile("[\udc80-\udcff]")

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
    """

    start_row: int
    rows: list[dict[str, Any]]
    problems: list[str | None]
    end: int


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


def _check_columns(path: Path, columns: Sequence[str], tagged: bool = False) -> None:
    dupes = sorted({c for c in columns if list(columns).count(c) > 1})
    if dupes:
        raise DataFormatError(f"{path}: duplicate column names {dupes}; give every column a unique name")
    clash = sorted(set(columns) & set(TAG_COLUMNS))
    if clash and not tagged:
        raise DataFormatError(f"{path} already has tag columns {clash}: it looks tagged already. "
                              "Tag the original file, or rename those columns")


class CsvReader(Reader):
    """CSV (``,``) or TSV (tab) with a header row; every field is read as a string."""

    def __init__(self, path: str | Path, delimiter: str = ",", encoding: str = "utf-8", tagged: bool = False) -> None:
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
            raise DataFormatError(f"{self.path} is empty: expected a header row naming the columns (e.g. id,text,score)")
        header[0] = header[0].lstrip("\ufeff")
        if any(_BAD_BYTES.search(h) for h in header):
            raise DataFormatError(f"{self.path}: the header is not valid {encoding}; pass the file's encoding (--encoding)")
        _check_columns(self.path, header, tagged)
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
                    raise DataFormatError(f"{self.path}: cannot parse CSV near byte {lines.pos} "
                                          f"(data row {start_row + len(rows) + 1}): {exc}") from exc
                if record is None:
                    break
                if not record:  # a blank line is no row
                    continue
                problem = None
                bad = [self.columns[i] if i < n_cols else f"field {i + 1}" for i, v in enumerate(record) if _BAD_BYTES.search(v)]
                if bad:
                    problem = f"undecodable bytes (not {self.encoding}) in {', '.join(bad)}"
                    record = [_fix_undecodable(v, self.encoding) for v in record]
                if len(record) != n_cols:
                    problem = problem or f"row has {len(record)} fields but the header has {n_cols}"
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

    def __init__(self, path: str | Path, encoding: str = "utf-8", tagged: bool = False) -> None:
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
        _check_columns(self.path, list(kinds), tagged)
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
            for raw in f:
                pos += len(raw)
                if not raw.strip():
                    continue
                line = raw.decode(self.encoding, errors="surrogateescape")
                problem = None
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    obj, problem = {}, f"invalid JSON: {exc}"
                if not isinstance(obj, dict):
                    obj, problem = {}, f"line is a JSON {type(obj).__name__}, expected an object"
                if problem is None and _BAD_BYTES.search(line):
                    problem = f"undecodable bytes (not {self.encoding})"
                    obj = {k: _fix_undecodable(v, self.encoding) if isinstance(v, str) else v for k, v in obj.items()}
                rows.append(obj)
                problems.append(problem)
                if len(rows) == size:
                    yield Chunk(start_row, rows, problems, pos)
                    start_row, rows, problems = start_row + size, [], []
            if rows:
                yield Chunk(start_row, rows, problems, pos)


class ParquetReader(Reader):
    """A Parquet file, read in record batches (the position is a row count)."""

    def __init__(self, path: str | Path, tagged: bool = False) -> None:
        super().__init__(Path(path))
        try:
            self._file = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataFormatError(f"{self.path} is not a readable Parquet file: {exc}") from exc
        schema = self._file.schema_arrow
        _check_columns(self.path, schema.names, tagged)
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


def open_reader(path: str | Path, fmt: str | None = None, encoding: str = "utf-8", tagged: bool = False) -> Reader:
    """A streaming reader for ``path`` (``tagged``: the file is an output of ``nps-nlp tag``).

    Raises:
        DataFormatError: the file does not exist or cannot be read as ``fmt``.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    if not path.is_file():
        raise DataFormatError(f"input file {path} does not exist")
    if fmt == "parquet":
        return ParquetReader(path, tagged)
    if fmt == "jsonl":
        return JsonlReader(path, encoding, tagged)
    return CsvReader(path, "\t" if fmt == "tsv" else ",", encoding, tagged)


# --- writing -----------------------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return json.dumps(_jsonable(value), ensure_ascii=False)


class PartWriter:
    """Serialises tagged rows (input columns + tag columns) in the output format.

    Args:
        fmt: ``csv``, ``tsv``, ``jsonl`` or ``parquet``.
        reader: the input's reader (its columns, Arrow types and nested columns fix the output schema).
    """

    def __init__(self, fmt: str, reader: Reader) -> None:
        self.fmt = fmt
        self.columns = list(reader.columns) + list(TAG_COLUMNS)
        self.json_columns = set(reader.json_columns)
        self.delimiter = "\t" if fmt == "tsv" else ","
        fields = [pa.field(c, reader.arrow_fields.get(c, pa.string())) for c in reader.columns]
        self.schema = pa.schema(fields + list(TAG_SCHEMA))
        self.suffix = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}[fmt]

    def _csv_text(self, rows: Sequence[Sequence[str]]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.delimiter, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode("utf-8")

    def header(self) -> bytes:
        return self._csv_text([self.columns]) if self.fmt in ("csv", "tsv") else b""

    def write(self, rows: list[dict[str, Any]], f: BinaryIO) -> None:
        """Write ``rows`` to the open binary file ``f`` (CSV without its header)."""
        if self.fmt in ("csv", "tsv"):
            f.write(self._csv_text([[_csv_cell(row.get(c)) for c in self.columns] for row in rows]))
        elif self.fmt == "jsonl":
            for row in rows:
                f.write(json.dumps(_jsonable(row), ensure_ascii=False).encode("utf-8") + b"\n")
        else:
            data = {c: [self._parquet_value(c, row.get(c)) for row in rows] for c in self.columns}
            pq.write_table(pa.Table.from_pydict(data, schema=self.schema), f)

    def _parquet_value(self, column: str, value: Any) -> Any:
        if column in self.json_columns and value is not None and not isinstance(value, str):
            return json.dumps(_jsonable(value), ensure_ascii=False)
        return value

    def assemble(self, parts: Sequence[Path], out: BinaryIO) -> None:
        """Concatenate part files into one output file (one row group per part for Parquet)."""
        if self.fmt == "parquet":
            with pq.ParquetWriter(out, self.schema) as writer:
                for part in parts:
                    writer.write_table(pq.read_table(part, schema=self.schema))
            return
        out.write(self.header())
        for part in parts:
            with open(part, "rb") as f:
                while block := f.read(1 << 20):
                    out.write(block)
