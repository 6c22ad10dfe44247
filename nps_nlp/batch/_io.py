"""The input side of batch tagging and its part writers for CSV/TSV, JSONL and Parquet.

Files are read by the library's streaming reader (:mod:`nps_nlp.tabular`: chunks of rows with a resumable
position, a problem per row that cannot be read as it is); this module adds the check that an input is not an
output of ``nps-nlp tag`` already, and writes tagged rows as part files that are assembled into the output.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from nps_nlp.batch._schema import TAG_COLUMNS, TAG_SCHEMA
from nps_nlp.errors import DataFormatError
from nps_nlp.tabular import FORMATS, Reader, detect_format
from nps_nlp.tabular import open_reader as _open_reader

__all__ = ["FORMATS", "PartWriter", "detect_format", "open_reader"]


def open_reader(path: str | Path, fmt: str | None = None, encoding: str = "utf-8", tagged: bool = False) -> Reader:
    """A streaming reader (:func:`nps_nlp.tabular.open_reader`) for a file to tag, or (``tagged``) for an output
    of ``nps-nlp tag``.

    Raises:
        DataFormatError: the file does not exist or cannot be read as ``fmt``; or, unless ``tagged``, it already
            has tag columns.
    """
    reader = _open_reader(path, fmt, encoding)
    clash = sorted(set(reader.columns) & set(TAG_COLUMNS))
    if clash and not tagged:
        raise DataFormatError(f"{reader.path} already has tag columns {clash}: it looks tagged already. "
                              "Tag the original file, or rename those columns")
    return reader


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
