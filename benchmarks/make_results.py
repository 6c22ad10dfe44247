"""Write benchmarks/RESULTS.md from every benchmarks/results/*.json.

The page is generated: each results file becomes a section (files that share a name before the first
``-``, such as ``accuracy-*.json``, are grouped under one heading), its scalar figures a key/value table,
and blocks of records (a dict of dicts or a list of dicts) a table with one row per record. Nothing is
typed by hand, so the page only says what the JSON files say.

Usage (from the repository root)::

    python benchmarks/make_results.py            # write benchmarks/RESULTS.md
    python benchmarks/make_results.py --check    # exit 1 if RESULTS.md is not up to date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python benchmarks/make_results.py"
SMALL_DICT = 6  # a nested dict of at most this many scalars is shown inline as dotted columns
SHORT_LIST = 10  # a list of at most this many scalars is shown inline
MAX_ROWS = 60  # longer lists of records are summarised, not tabulated
LONG_TEXT = 120  # a top-level string longer than this is shown as a paragraph, not a table cell


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _is_leaf(v: Any) -> bool:
    return _is_scalar(v) or (isinstance(v, list) and len(v) <= SHORT_LIST and all(_is_scalar(x) for x in v))


def _is_small_dict(v: Any) -> bool:
    return isinstance(v, dict) and 0 < len(v) <= SMALL_DICT and all(_is_leaf(x) for x in v.values())


def _fmt(v: Any, root: str = "") -> str:
    """One value as table-cell text."""
    if isinstance(v, list):
        return ", ".join(_fmt(x, root) for x in v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        if root and v.startswith(root):
            v = v[len(root) :]
        return v.replace("|", "\\|").replace("\n", " ")
    return str(v)


def _split(d: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a dict into columns (scalars, short lists, small dicts as dotted keys) and the rest."""
    cols: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    if len(d) >= 2 and all(isinstance(v, dict) for v in d.values()):
        return cols, dict(d)  # a dict of dicts (one per language, per band...) is a table of its own
    for k, v in d.items():
        if _is_leaf(v):
            cols[k] = v
        elif _is_small_dict(v):
            for kk, vv in v.items():
                cols[f"{k}.{kk}"] = vv
        else:
            rest[k] = v
    return cols, rest


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines.extend("| " + " | ".join(r) + " |" for r in rows)
    return lines + [""]


def _records_table(records: list[tuple[str, dict[str, Any]]], first: str, root: str) -> list[str]:
    columns: list[str] = []
    for _, cols in records:
        columns.extend(c for c in cols if c not in columns)
    rows = [[_fmt(name, root)] + [_fmt(cols.get(c), root) for c in columns] for name, cols in records]
    return _table([first] + columns, rows)


def _heading(title: str, level: int) -> list[str]:
    return [f"{'#' * min(level, 6)} {title}", ""]


def _render(title: str, value: Any, level: int, root: str) -> list[str]:
    """Markdown for one block of a results file."""
    out = _heading(title, level) if title else []
    if isinstance(value, list):
        return out + _render_list(value, level, root)
    if not isinstance(value, dict):
        return out + [_fmt(value, root), ""]
    # dict entries that share column names (one per task, per language...) become rows of one table
    parts = {k: _split(v) for k, v in value.items() if isinstance(v, dict)}
    parts = {k: p for k, p in parts.items() if p[0]}
    rows = [k for k in parts if any(set(parts[k][0]) & set(parts[j][0]) for j in parts if j != k)]
    cols, rest = _split({k: v for k, v in value.items() if k not in rows})
    notes = {k: v for k, v in cols.items() if isinstance(v, str) and len(v) > LONG_TEXT}
    for v in notes.values():
        out += [_fmt(v, root), ""]
    figures = [(k, v) for k, v in cols.items() if k not in notes]
    if figures:
        out += _table(["figure", "value"], ([_fmt(k), _fmt(v, root)] for k, v in figures))
    if rows:
        out += _records_table([(k, parts[k][0]) for k in rows], "", root)
        for k in rows:
            for kk, vv in parts[k][1].items():
                out += _render(f"{k}: {kk}", vv, level + 1, root)
    for k, v in rest.items():
        out += _render(k, v, level + 1, root)
    return out


def _render_list(items: list[Any], level: int, root: str) -> list[str]:
    if not items:
        return ["(empty)", ""]
    if not all(isinstance(x, dict) for x in items):
        return [f"{len(items)} values: see the JSON file.", ""]
    if len(items) > MAX_ROWS:
        return [f"{len(items)} entries: too many to tabulate, see the JSON file.", ""]
    parts = [_split(x) for x in items]
    out = _records_table([(str(i), cols) for i, (cols, _) in enumerate(parts, 1)], "#", root)
    nested = [(i, rest) for i, (_, rest) in enumerate(parts, 1) if rest]
    if nested and len(items) <= SHORT_LIST:
        for i, rest in nested:
            for k, v in rest.items():
                out += _render(f"#{i}: {k}", v, level + 1, root)
    elif nested:
        keys = sorted({k for _, rest in nested for k in rest})
        out += [f"Nested in each entry and not shown here: {', '.join(keys)} (see the JSON file).", ""]
    return out


def machine_line(machine: dict[str, Any]) -> str:
    """One sentence describing the machine a results file was measured on (its ``machine`` block)."""
    def yes(v: Any) -> str:
        return "?" if v is None else ("yes" if v else "no")

    parts = [str(machine.get("cpu_model") or "unknown CPU")]
    if machine.get("logical_cores"):
        usable = machine.get("usable_cores")
        shown = f" ({usable} usable)" if usable not in (None, machine["logical_cores"]) else ""
        parts.append(f"{machine['logical_cores']} cores{shown}")
    if machine.get("memory_gb"):
        parts.append(f"{machine['memory_gb']} GB")
    text = "Machine: " + ", ".join(parts)
    text += f"; native bfloat16: {yes(machine.get('native_bf16'))}, VNNI: {yes(machine.get('vnni'))}"
    if machine.get("cpu_flags"):
        text += f" (flags: {' '.join(machine['cpu_flags'])})"
    if machine.get("encoder_precision"):
        text += f"; encoder precision {machine['encoder_precision']}"
    loads = [("before", machine.get("load_avg")), ("after", machine.get("load_avg_after"))]
    loads = [f"{' / '.join(str(x) for x in v)} {k}" if isinstance(v, list) else f"{v} {k}" for k, v in loads if v]
    if loads:
        text += "; load average (1, 5, 15 min) " + ", ".join(loads)
    return text + "."


def _render_file(data: Any, title: str, level: int, root: str) -> list[str]:
    """A results file: the sentence on its machine (when it has a ``machine`` block), then its figures."""
    if isinstance(data, dict) and isinstance(data.get("machine"), dict):
        rest = {k: v for k, v in data.items() if k != "machine"}
        head = _heading(title, level) if title else []
        return head + [_fmt(machine_line(data["machine"])), ""] + _render("", rest, level, root)
    return _render(title, data, level, root)


def render(results_dir: Path, history: str | None = "HISTORY.md") -> str:
    """The whole RESULTS.md page for every ``*.json`` file in ``results_dir``.

    Args:
        results_dir: folder holding the results files.
        history: relative link to the hand-kept history page, or None for no link.

    Returns:
        The page as Markdown text, ending in a newline.
    """
    files = sorted(results_dir.glob("*.json"))
    families: dict[str, list[Path]] = {}
    for f in files:
        families.setdefault(f.stem.split("-", 1)[0], []).append(f)
    root = str(ROOT) + "/"
    lines = [
        "# Benchmark results",
        "",
        f"<!-- Generated by `{COMMAND}` from benchmarks/results/*.json. Do not edit by hand. -->",
        f"Generated by `{COMMAND}` from the {len(files)} files in `benchmarks/results/`; do not edit by hand.",
        "Which script writes which file, and how to rerun it: [README.md](README.md).",
    ]
    if history:
        lines.append(f"The hand-kept run history, with the goal for each figure: [{history}]({history}).")
    lines += ["", "Contents: " + ", ".join(f"[{name}](#{name.lower()})" for name in families), ""]
    for name, members in families.items():
        lines += _heading(name, 2)
        for f in members:
            data = json.loads(f.read_text(encoding="utf-8"))
            if len(members) > 1:
                lines += _render_file(data, f"`{f.name}`", 3, root)
            else:
                lines += [f"From `results/{f.name}`.", ""] + _render_file(data, "", 3, root)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("--results", type=Path, default=here / "results", help="folder of *.json results")
    parser.add_argument("--output", type=Path, default=here / "RESULTS.md", help="page to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page differs, write nothing")
    args = parser.parse_args(argv)
    page = render(args.results)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != page:
            print(f"{args.output} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(page, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
