"""Validation of labelled data before any compute: every problem, with its row and a fix.

:func:`validate_data` reads a training (or dev) file and checks it row by row, collecting *all* problems
instead of stopping at the first: missing columns, empty texts, scores outside 0-10, unknown polarities or
languages, duplicate ids, themes that are not in the taxonomy (with the closest theme id as a suggestion)
and themes with too few examples. Rows are named as the file numbers them:

- JSONL: ``line N``, the line number in the file (blank lines count);
- CSV, TSV, Parquet: ``row N``, the 1-based data row (the header row is not counted);
- other formats (SemEval XML, NoReC, ...): ``example N``, the 1-based position in the loaded data, with its id.

Nothing is trained on bad data silently: either the data is clean, or :class:`TrainingDataError` lists every
problem, or (``drop_invalid=True``) the bad rows are dropped and listed in :attr:`ValidationReport.dropped`.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nps_nlp.datasets import Example, apply_label_map, format_of, load_examples, load_label_map, read_rows
from nps_nlp.datasets.fields import column_mapping, is_missing, normalize_lang, normalize_polarity, parse_bool, parse_themes
from nps_nlp.errors import DataFormatError, DataValidationError
from nps_nlp.taxonomy import Taxonomy, load_taxonomy

__all__ = ["FIXES", "Problem", "TrainingDataError", "ValidationReport", "validate_data"]

#: How to fix each kind of problem (shown next to every problem of that kind).
FIXES: dict[str, str] = {
    "missing_column": "map your column with data.columns (CLI: --column text=comment) or add the column",
    "no_labels": "add a 'themes' and/or 'sentiment' column (or map yours with data.columns)",
    "no_rows": "point data.path at a file with labelled answers",
    "empty_text": "fill in the answer text or remove the row",
    "bad_text": "put the answer text in the text column as a string",
    "bad_score": "use a whole number from 0 to 10, or leave the score empty when there is none",
    "bad_polarity": "use negative, neutral or positive (or leave it empty for no polarity)",
    "bad_language": "use en, nl, nb or nn, or leave lang empty to detect the language",
    "bad_themes": "write themes as a list, a {theme: polarity} object or 'theme:polarity;theme' "
                  "(set data.label_delimiter for another separator)",
    "bad_value": "use true/false, 1/0 or yes/no",
    "duplicate_id": "give every answer its own id, or drop the id column to number rows automatically",
    "unknown_theme": "use a theme id of the taxonomy, or add the theme to your taxonomy file (model.taxonomy)",
    "rare_label": "label more answers with this theme, remove it from the data, or lower data.min_examples_per_label",
}


@dataclass
class Problem:
    """One problem in the data.

    Attributes:
        kind: one of :data:`FIXES`.
        where: ``line N`` / ``row N`` / ``example N`` / ``rows ...`` / ``file``.
        message: what was expected and what was found.
        fix: how to fix it.
        rows: the 1-based row (or line) numbers concerned.
    """

    kind: str
    where: str
    message: str
    fix: str
    rows: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}; fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationReport:
    """The outcome of :func:`validate_data`.

    Attributes:
        path: the file that was checked.
        n_rows: rows read.
        examples: the examples to use (clean rows, after dropping when ``drop_invalid``).
        problems: problems that were *not* resolved (empty unless an error is raised).
        dropped: problems resolved by dropping rows or labels (``drop_invalid=True``).
        notices: things worth knowing that are not problems (e.g. a foreign label set).
    """

    path: str
    n_rows: int
    examples: list[Example]
    problems: list[Problem] = field(default_factory=list)
    dropped: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "n_rows": self.n_rows, "n_examples": len(self.examples),
                "problems": [p.to_dict() for p in self.problems], "dropped": [p.to_dict() for p in self.dropped],
                "notices": list(self.notices)}


class TrainingDataError(DataValidationError):
    """Labelled data failed validation. ``report`` holds every :class:`Problem` with its row and fix."""

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message, [str(p) for p in report.problems])
        self.report = report


@dataclass
class _Row:
    number: int
    where: str
    raw_id: str | None
    example: Example | None
    problems: list[Problem]


def validate_data(
    path: str | Path,
    *,
    format: str | None = None,  # noqa: A002 - the name users know from load_examples
    columns: Mapping[str, str] | None = None,
    label_delimiter: str | None = None,
    label_map: Any = None,
    taxonomy: str | Path | Taxonomy | None = None,
    languages: Sequence[str] = (),
    min_examples_per_label: int = 5,
    drop_invalid: bool = False,
    known_labels: Sequence[str] | None = None,
    role: str = "training",
) -> ValidationReport:
    """Read labelled data and check it before anything is trained on it.

    Args:
        path: the data file (or directory, for the external formats).
        format: data format (default: from the extension).
        columns: our column name -> the file's column name.
        label_delimiter: separator of themes written as one string (default: ``;``, ``|`` or ``,``).
        label_map: external label -> theme id (dict, YAML path or shipped mapping name).
        taxonomy: the taxonomy the themes must belong to. ``None``: the default taxonomy, unless *no* label
            belongs to it (a foreign label set such as SemEval categories, which then becomes the taxonomy).
        languages: keep only these languages (rows of other languages are left out, not reported).
        min_examples_per_label: a theme with fewer examples is a problem (0 disables the check).
        drop_invalid: drop invalid rows, and remove rare themes from their rows, instead of raising.
        known_labels: for dev data, the labels the model will know (unknown ones are problems);
            overrides the foreign-label-set rule.
        role: ``training`` or ``dev`` (used in messages).

    Returns:
        A :class:`ValidationReport` whose ``examples`` are safe to train on.

    Raises:
        TrainingDataError: problems were found and ``drop_invalid`` is false, or the problems cannot be
            resolved by dropping rows (missing columns, no labels, nothing left).
        DataFormatError: the file cannot be read at all (not a CSV, broken JSON line, ...).
    """
    path = Path(path)
    rows, file_problems = _read(path, format, columns, label_delimiter, label_map)
    report = ValidationReport(str(path), len(rows), [])
    if file_problems:
        report.problems = file_problems
        raise TrainingDataError(f"cannot use {role} data {path}:", report)
    if not rows:
        report.problems = [Problem("no_rows", "file", f"{path} has no rows", FIXES["no_rows"])]
        raise TrainingDataError(f"cannot use {role} data {path}:", report)

    _check_duplicates(rows)
    wanted = set(languages)
    kept = [r for r in rows if not wanted or r.example is None or r.example.lang in wanted]
    _check_themes(kept, taxonomy, known_labels, report)
    if not drop_invalid:
        report.problems = [p for r in kept for p in r.problems]
    else:
        report.dropped = [p for r in kept for p in r.problems]
    clean = [r for r in kept if not r.problems and r.example is not None]
    if min_examples_per_label > 0:
        rare = _rare_labels(clean, min_examples_per_label)
        if drop_invalid:
            _drop_labels(clean, rare)
        (report.dropped if drop_invalid else report.problems).extend(rare.values())
    report.examples = [r.example for r in clean if r.example is not None]
    if report.problems:
        raise TrainingDataError(f"{len(report.problems)} problem(s) in {role} data {path}; nothing was trained. "
                                "Fix them, or pass --drop-invalid (data.drop_invalid = true) to drop the rows "
                                "and train on the rest:", report)
    if not report.examples:
        report.problems = [Problem("no_rows", "file", f"no valid {role} rows left in {path}"
                                   + (f" for languages {', '.join(languages)}" if languages else ""), FIXES["no_rows"])]
        raise TrainingDataError(f"cannot use {role} data {path}:", report)
    return report


# ----------------------------------------------------------------------------------------------


def _read(path: Path, format: str | None, columns: Mapping[str, str] | None, label_delimiter: str | None,  # noqa: A002
          label_map: Any) -> tuple[list[_Row], list[Problem]]:
    """Every row of the file with its problems, and the problems of the file as a whole (missing columns)."""
    fmt = format
    if fmt is None and path.is_file():
        fmt = format_of(path)
    if fmt in ("jsonl", "csv", "parquet"):
        rows, file_problems = _tabular_rows(path, fmt, columns, label_delimiter)
        if label_map is not None:
            mapping = load_label_map(label_map)
            apply_label_map([r.example for r in rows if r.example is not None], mapping)
        return rows, file_problems
    examples = load_examples(path, format=format, label_map=label_map)
    return [_Row(i, f"example {i} (id {e.id})", e.id, e, _example_problems(e, f"example {i} (id {e.id})", i))
            for i, e in enumerate(examples, start=1)], []


def _drop_labels(rows: list[_Row], rare: dict[str, Problem]) -> None:
    """Remove each rare theme from the rows its problem names (``drop_invalid``)."""
    for label, problem in rare.items():
        for r in rows:
            if r.number in problem.rows and r.example is not None and r.example.themes is not None:
                r.example.themes.pop(label, None)
                if not r.example.themes:  # only the rare theme: unlabelled for themes, not "no theme"
                    r.example.themes = None
        problem.message += "; removed from these rows"


def _tabular_rows(path: Path, fmt: str, columns: Mapping[str, str] | None, delimiter: str | None
                  ) -> tuple[list[_Row], list[Problem]]:
    if not path.is_file():
        raise DataFormatError(f"{fmt} data file not found: {path}")
    mapping = column_mapping(columns, path)
    found, raw_rows = read_rows(path, fmt, sep="\t" if path.suffix.lower() == ".tsv" else None)
    shown = ", ".join(repr(c) for c in found) or "none"
    problems = []
    for ours, theirs in mapping.items():
        if theirs not in found and (ours == "text" or (columns and ours in columns)):
            problems.append(Problem("missing_column", "file", f"expected a column {theirs!r} for {ours!r}, "
                                    f"found columns: {shown}", FIXES["missing_column"]))
    if not problems and mapping["themes"] not in found and mapping["sentiment"] not in found:
        problems.append(Problem("no_labels", "file", f"no {mapping['themes']!r} or {mapping['sentiment']!r} column: "
                                f"nothing to learn from; found columns: {shown}", FIXES["no_labels"]))
    if problems:
        for _ in raw_rows:  # a row that cannot be read (not JSON, not UTF-8) explains a missing column better
            pass
        return [], problems
    has_themes = mapping["themes"] in found
    used = set(mapping.values())
    rows = [_parse_row(row.values, row.number, row.where, mapping, used, has_themes, delimiter) for row in raw_rows]
    return rows, []


def _parse_row(row: dict[str, Any], number: int, where: str, mapping: dict[str, str], used: set[str],
               has_themes: bool, delimiter: str | None) -> _Row:
    problems: list[Problem] = []

    def problem(kind: str, message: str) -> None:
        problems.append(Problem(kind, where, message, FIXES[kind], [number]))

    def get(name: str) -> Any:
        value = row.get(mapping[name])
        return None if is_missing(value) else value

    raw_text = row.get(mapping["text"])
    text = ""
    if isinstance(raw_text, (dict, list)):
        problem("bad_text", f"expected text to be a string, found {type(raw_text).__name__}")
    elif is_missing(raw_text):
        problem("empty_text", f"the text ({mapping['text']!r}) is empty")
    else:
        text = str(raw_text)
    raw_id = get("id")
    if isinstance(raw_id, float) and raw_id.is_integer():
        raw_id = int(raw_id)
    ex_id = str(number) if raw_id is None else str(raw_id)
    lang = None
    try:
        lang = normalize_lang(get("lang"), where=f"column {mapping['lang']!r}")
    except DataFormatError as exc:
        problem("bad_language", str(exc))
    score = None
    value = get("score")
    if value is not None:
        try:
            number_ = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            number_ = float("nan")
        if number_ != number_:
            problem("bad_score", f"score {value!r} is not a number")
        elif not number_.is_integer() or not 0 <= number_ <= 10:
            problem("bad_score", f"score {value!r} is outside 0-10 (a whole number is expected)")
        else:
            score = int(number_)
    sentiment = None
    try:
        sentiment = normalize_polarity(get("sentiment"), where=f"sentiment {get('sentiment')!r}")
    except DataFormatError as exc:
        problem("bad_polarity", str(exc).replace("unknown polarity", "unknown polarity value"))
    themes = None
    if has_themes:
        raw = row.get(mapping["themes"])
        if delimiter and isinstance(raw, str) and raw.strip()[:1] not in ("{", "["):
            raw = [[*part.strip().rsplit(":", 1), None][:2] for part in raw.split(delimiter) if part.strip()]
        try:
            themes = parse_themes(raw, f"themes {row.get(mapping['themes'])!r}")
        except DataFormatError as exc:
            message = str(exc)
            problem("bad_polarity" if "polarity" in message else "bad_themes", message)
    meta = {k: v for k, v in row.items() if k not in used}
    urgent = get("urgent")
    if urgent is not None:
        try:
            meta["urgent"] = parse_bool(urgent, f"column {mapping['urgent']!r}")
        except DataFormatError as exc:
            problem("bad_value", str(exc))
    example = Example(text=text, id=ex_id, lang=lang, score=score, sentiment=sentiment, themes=themes, meta=meta)
    return _Row(number, where, ex_id, example, problems)


def _example_problems(example: Example, where: str, number: int) -> list[Problem]:
    if example.text.strip():
        return []
    return [Problem("empty_text", where, "the text is empty", FIXES["empty_text"], [number])]


def _check_duplicates(rows: list[_Row]) -> None:
    first: dict[str, _Row] = {}
    for r in rows:
        if r.raw_id is None:
            continue
        if r.raw_id in first:
            r.problems.append(Problem("duplicate_id", r.where, f"id {r.raw_id!r} was already used at "
                                      f"{first[r.raw_id].where}", FIXES["duplicate_id"], [r.number]))
        else:
            first[r.raw_id] = r


def _check_themes(rows: list[_Row], taxonomy: str | Path | Taxonomy | None, known_labels: Sequence[str] | None,
                  report: ValidationReport) -> None:
    labels = sorted({label for r in rows if r.example and r.example.themes for label in r.example.themes})
    if not labels:
        return
    if known_labels is not None:
        valid = list(known_labels)
        source = "the training data's themes"
    else:
        tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        valid = tax.ids
        source = f"taxonomy {tax.name!r}"
        if taxonomy is None and not any(label in tax for label in labels):
            report.notices.append(f"no theme label is in the default taxonomy: the model's taxonomy is made of the "
                                  f"{len(labels)} training labels ({', '.join(labels[:8])}"
                                  + (", ..." if len(labels) > 8 else "") + "); set model.taxonomy to use your own")
            return
    allowed = set(valid)
    for r in rows:
        for label in (r.example.themes or {}) if r.example else {}:
            if label in allowed:
                continue
            close = difflib.get_close_matches(label, valid, n=1, cutoff=0.5)
            fix = (f"did you mean {close[0]!r}? " if close else "") + FIXES["unknown_theme"]
            r.problems.append(Problem("unknown_theme", r.where, f"theme {label!r} is not in {source}", fix, [r.number]))


def _rare_labels(rows: list[_Row], minimum: int) -> dict[str, Problem]:
    where: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        for label in (r.example.themes or {}) if r.example else {}:
            where[label].append(r)
    problems = {}
    for label, found in sorted(where.items()):
        if len(found) < minimum:
            names = ", ".join(r.where for r in found[:10]) + (", ..." if len(found) > 10 else "")
            problems[label] = Problem("rare_label", names, f"theme {label!r} has {len(found)} example(s), at least "
                                      f"{minimum} are needed", FIXES["rare_label"], [r.number for r in found])
    return problems


def write_report(report: ValidationReport, path: Path) -> None:
    """Save a report as JSON (what was dropped, and the notices)."""
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")

