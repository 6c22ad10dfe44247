"""Turning one chunk of input rows into tag columns (shared by the local and the Ray engine)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from nps_nlp.batch._schema import rejected_values, tag_values
from nps_nlp.errors import ConfigError, DataFormatError
from nps_nlp.pipeline import AnalyzedAnswer

SEGMENT_KEYS = ("team", "department", "channel", "touchpoint", "country")


class Pipeline(Protocol):
    """Anything with :meth:`FeedbackPipeline.analyze`'s signature (tests pass fast fakes)."""

    def analyze(self, texts: Sequence[str], scores: Sequence[float | None] | None = None,
                langs: Sequence[str | None] | str | None = None) -> list[AnalyzedAnswer]: ...


@dataclass
class ColumnMap:
    """Which input columns hold what.

    ``None`` means "the column of the default name if the input has it": ``text`` (required), ``score``,
    ``id``, ``timestamp``; ``lang`` (a per-row language hint) and ``customer`` have no default.
    ``segments`` maps segment keys (team, department, channel, touchpoint, country) to columns.
    A column named explicitly must exist.
    """

    text: str | None = None
    score: str | None = None
    id: str | None = None
    timestamp: str | None = None
    lang: str | None = None
    customer: str | None = None
    segments: dict[str, str] = field(default_factory=dict)

    def resolve(self, columns: Sequence[str], source: str = "the input") -> ColumnMap:
        """The concrete mapping for an input with ``columns``.

        Raises:
            DataFormatError: the text column, or a column named explicitly, is missing.
            ConfigError: an unknown segment key.
        """
        present = set(columns)
        shown = ", ".join(list(columns)[:30]) or "(none)"
        unknown = sorted(set(self.segments) - set(SEGMENT_KEYS))
        if unknown:
            raise ConfigError(f"unknown segment keys {unknown}: expected some of {', '.join(SEGMENT_KEYS)} (e.g. team=dept_col)")
        missing = [f"{role} column {col!r}" for role, col in
                   [(k, getattr(self, k)) for k in ("text", "score", "id", "timestamp", "lang", "customer")]
                   + [(f"segment {k}", v) for k, v in self.segments.items()] if col is not None and col not in present]
        if missing:
            raise DataFormatError(f"{source} has no {', no '.join(missing)}; its columns are: {shown}")
        text = self.text or "text"
        if text not in present:
            raise DataFormatError(f"{source} has no 'text' column; its columns are: {shown}. "
                                  "Name the answer column with --text-column")

        def auto(value: str | None, default: str) -> str | None:
            return value if value is not None else (default if default in present else None)

        return replace(self, text=text, score=auto(self.score, "score"), id=auto(self.id, "id"),
                       timestamp=auto(self.timestamp, "timestamp"), segments=dict(self.segments))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_score(value: Any) -> tuple[float | None, str | None]:
    """(score, problem): a 0-10 number or ``None`` for an empty value; a problem for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, float) and math.isnan(value):
        return None, None
    if isinstance(value, bool):
        return None, f"score {value!r} is not a number 0-10"
    if isinstance(value, int | float):
        number: float = value
    else:
        try:
            text = str(value).strip()
            number = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            return None, f"score {value!r} is not a number 0-10"
    if not (math.isfinite(number) and 0 <= number <= 10):
        return None, f"score {value!r} is outside 0-10"
    return number, None


@dataclass
class Reject:
    """A row that could not be tagged: its 1-based data row number (``None`` where unknown), id and reason."""

    row: int | None
    id: str | None
    reason: str


def _id_text(value: Any) -> str | None:
    return None if value is None else str(value)


def tag_rows(rows: Sequence[dict[str, Any]], pipeline: Pipeline, columns: ColumnMap,
             problems: Sequence[str | None] | None = None, lang: str | None = None,
             first_row: int | None = 0) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Tag a chunk of rows with one ``pipeline.analyze`` call.

    Args:
        rows: input rows (column -> value).
        pipeline: a :class:`FeedbackPipeline` (or a fake with the same ``analyze``).
        columns: a resolved :class:`ColumnMap`.
        problems: per row, a reason it cannot be processed that the reader found (or ``None``).
        lang: a language hint for every row (a ``lang`` column, when mapped, wins for its row).
        first_row: 0-based index of the first row, for row numbers in rejects (``None`` = unknown).

    Returns:
        (tag columns per row, in order; the rejected rows).
    """
    assert columns.text is not None, "resolve the ColumnMap first"
    tags: list[dict[str, Any] | None] = []
    rejects: list[Reject] = []
    todo: list[int] = []
    texts: list[str] = []
    scores: list[float | None] = []
    langs: list[str | None] = []
    for i, row in enumerate(rows):
        problem = problems[i] if problems else None
        score, score_problem = parse_score(row.get(columns.score)) if columns.score else (None, None)
        text = row.get(columns.text)
        if problem is None:
            if text is None or (isinstance(text, float) and math.isnan(text)):
                problem = f"text column {columns.text!r} is empty"
            elif not str(text).strip():
                problem = f"text column {columns.text!r} is {'empty' if not str(text) else 'only whitespace'}"
            else:
                problem = score_problem
        if problem is not None:
            tags.append(rejected_values(problem, score))
            rejects.append(Reject(None if first_row is None else first_row + i + 1,
                                  _id_text(row.get(columns.id)) if columns.id else None, problem))
            continue
        tags.append(None)
        todo.append(i)
        texts.append(str(text))
        scores.append(score)
        hint = row.get(columns.lang) if columns.lang else None
        langs.append(str(hint).strip().lower() if hint not in (None, "") else lang)
    if todo:
        answers = pipeline.analyze(texts, scores, langs)
        if len(answers) != len(todo):
            raise DataFormatError(f"the pipeline returned {len(answers)} results for {len(todo)} answers")
        for i, answer in zip(todo, answers, strict=True):
            tags[i] = tag_values(answer)
    out = [t for t in tags if t is not None]
    assert len(out) == len(rows)
    return out, rejects
