"""Exports of responses, alerts and action items as CSV or XLSX, with the same filters as every figure.

Rows are read in pages of :data:`PAGE` by id (keyset pagination), each page in its own short transaction, so a
large export neither holds the database's write lock (SQLite transactions here are ``BEGIN IMMEDIATE``) nor
the whole table in memory. CSV is streamed as it is written; XLSX is written with openpyxl's write-only
workbook to a spooled temporary file and streamed from there.

Every export has a fixed column order (:data:`COLUMNS`), times as ISO 8601 in UTC, and text that a spreadsheet
could read as a formula (a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) prefixed
with an apostrophe (OWASP's advice for CSV injection); in XLSX such cells are also stored as plain strings.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.db.models import ActionItem, Alert, AlertEvent, Response, ResponseTheme
from api.db.session import Database
from api.services.leaderboard import CONTACTED
from api.services.queries import Filters, in_teams

Kind = Literal["responses", "alerts", "action_items"]
Format = Literal["csv", "xlsx"]
KINDS: tuple[Kind, ...] = ("responses", "alerts", "action_items")
PAGE = 1000
"""Rows read per database round trip."""

COLUMNS: dict[Kind, tuple[str, ...]] = {
    "responses": ("id", "external_id", "timestamp", "score", "band", "lang", "text", "customer_id", "team", "department",
                  "channel", "touchpoint", "country", "sentiment", "sentiment_score", "urgency_level", "urgent", "themes",
                  "problem_teams", "praise_teams", "model_id", "created_at"),
    "alerts": ("id", "response_id", "external_id", "created_at", "level", "reasons", "team", "status", "owner", "due_at",
               "overdue", "contacted_at", "score", "text", "lang", "customer_id", "channel", "country", "timestamp"),
    "action_items": ("id", "theme", "team", "title", "owner", "status", "progress", "due_at", "overdue", "created_at",
                     "updated_at", "last_note"),
}
"""The columns of each export, in their order (a contract: add at the end, never reorder)."""

MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Restrict = Callable[[Kind, Select[Any]], Select[Any]]
"""Narrows an export's query further (e.g. to the teams a signed-in user may see)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """``value`` with an apostrophe in front when a spreadsheet could read it as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def cell(value: Any) -> Any:
    """One exported value: ISO 8601 for times, ``true``/``false`` for booleans, numbers as they are, text
    made formula-safe, ``None`` as an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, int | float):
        return value
    return safe_text(str(value))


def teams_restriction(teams: Collection[str]) -> Restrict:
    """A :data:`Restrict` to the data of ``teams``: their responses (:func:`api.services.queries.in_teams`), the
    alerts and action items routed to them."""
    names = sorted(set(teams))

    def restrict(kind: Kind, query: Select[Any]) -> Select[Any]:
        if kind == "responses":
            return query.where(in_teams(names))
        if kind == "alerts":
            return query.where(Alert.team.in_(names))
        return query.where(ActionItem.team.in_(names))

    return restrict


_RESPONSE_COLUMNS = (Response.id, Response.external_id, Response.timestamp, Response.score, Response.band, Response.lang,
                     Response.text, Response.customer_id, Response.team, Response.department, Response.channel,
                     Response.touchpoint, Response.country, Response.sentiment, Response.sentiment_score,
                     Response.urgency_level, Response.urgent, Response.model_id, Response.created_at)
_ALERT_COLUMNS = (Alert.id, Response.id, Response.external_id, Alert.created_at, Alert.level, Alert.reasons, Alert.team,
                  Alert.status, Alert.owner, Alert.due_at, Response.score, Response.text, Response.lang, Response.customer_id,
                  Response.channel, Response.country, Response.timestamp)


def _query(kind: Kind, filters: Filters) -> Select[Any]:
    if kind == "responses":
        return filters.apply(cast("Select[Any]", select(*_RESPONSE_COLUMNS)))
    if kind == "alerts":
        return filters.apply(cast("Select[Any]", select(*_ALERT_COLUMNS).join(Response, Alert.response_id == Response.id)))
    query = select(ActionItem)  # no response behind an item: team, scope and the window (on created_at) apply
    if filters.team is not None:
        query = query.where(ActionItem.team == filters.team)
    if filters.scope is not None:
        query = query.where(ActionItem.team.in_(list(filters.scope)))
    start, end = filters.bounds()
    if start is not None:
        query = query.where(ActionItem.created_at >= start)
    if end is not None:
        query = query.where(ActionItem.created_at < end)
    return query


def _response_rows(session: Session, page: list[Any]) -> list[list[Any]]:
    """Response rows with their themes and the teams their problems and praise were routed to."""
    themes: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"themes": [], "problem": [], "praise": []})
    query = (select(ResponseTheme.response_id, ResponseTheme.theme, ResponseTheme.team, ResponseTheme.kind)
             .where(ResponseTheme.response_id.in_([r[0] for r in page])).order_by(ResponseTheme.id))
    for rid, theme, team, kind in session.execute(query):
        found = themes[rid]
        found["themes"].append(theme)
        if kind in ("problem", "praise") and team not in found[kind]:
            found[kind].append(team)
    out = []
    for row in page:
        found = themes.get(row[0], {"themes": [], "problem": [], "praise": []})
        out.append([*row[:17], "; ".join(found["themes"]), "; ".join(sorted(found["problem"])),
                    "; ".join(sorted(found["praise"])), row[17], row[18]])
    return out


def _alert_rows(session: Session, page: list[Any], now: datetime) -> list[list[Any]]:
    """Alert rows with ``overdue`` and the first time each was marked contacted (or resolved)."""
    contacts = dict(session.execute(
        select(AlertEvent.alert_id, func.min(AlertEvent.at))
        .where(AlertEvent.alert_id.in_([r[0] for r in page]), AlertEvent.kind == "status", AlertEvent.new.in_(CONTACTED))
        .group_by(AlertEvent.alert_id)).all())
    out = []
    for (aid, rid, ext, created, level, reasons, team, status, owner, due, score, text, lang, customer, channel, country,
         ts) in page:
        out.append([aid, rid, ext, created, level, "; ".join(x.get("code", "") for x in reasons or []), team, status, owner,
                    due, status != "resolved" and due < now, contacts.get(aid), score, text, lang, customer, channel,
                    country, ts])
    return out


def _item_row(item: ActionItem, now: datetime) -> list[Any]:
    notes = item.notes or []
    last = next((n.get("note") for n in reversed(notes) if n.get("note")), None)
    return [item.id, item.theme, item.team, item.title, item.owner, item.status, item.progress, item.due_at,
            item.status != "done" and item.due_at is not None and item.due_at < now, item.created_at, item.updated_at, last]


def export_rows(db: Database, kind: Kind, filters: Filters, restrict: Restrict | None = None,
                now: datetime | None = None) -> Iterator[list[Any]]:
    """The rows of an export (raw values, in :data:`COLUMNS` order), oldest id first, a page at a time.

    Args:
        db: the service database.
        kind: ``responses``, ``alerts`` or ``action_items``.
        filters: the window and segments (for action items: team, and the window on ``created_at``).
        restrict: narrows the query further (see :func:`teams_restriction`).
        now: the time ``overdue`` is judged at (default: now).

    Raises:
        ValueError: an unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown export {kind!r}; choose from {', '.join(KINDS)}")
    now = now or datetime.now(UTC)
    key: Any = {"responses": Response.id, "alerts": Alert.id, "action_items": ActionItem.id}[kind]
    base = _query(kind, filters)
    if restrict is not None:
        base = restrict(kind, base)
    last = 0
    while True:
        with db.session() as session:
            if kind == "action_items":
                rows = [_item_row(item, now) for item in session.scalars(base.where(key > last).order_by(key).limit(PAGE))]
            else:
                page = list(session.execute(base.where(key > last).order_by(key).limit(PAGE)))
                rows = (_response_rows(session, page) if kind == "responses" else _alert_rows(session, page, now)) if page else []
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
        if len(rows) < PAGE:
            return


def csv_chunks(header: Sequence[str], rows: Iterator[list[Any]], rows_per_chunk: int = 500) -> Iterator[bytes]:
    """UTF-8 CSV (with a byte-order mark, so spreadsheet programs read the characters right) in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in map(cell, row)])
        if i % rows_per_chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_file(title: str, header: Sequence[str], rows: Iterator[list[Any]]) -> Any:
    """An XLSX workbook (one sheet, a bold frozen header) in a spooled temporary file, rewound; text cells are
    stored as strings, never as formulas (see :func:`cell`)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heads = []
    for name in header:
        head = WriteOnlyCell(sheet, value=name)
        head.font = bold
        heads.append(head)
    sheet.append(heads)
    for row in rows:
        # plain values: openpyxl stores a text as a formula only when it starts with '=', which cell() never leaves
        sheet.append(list(map(cell, row)))
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    book.save(out)
    out.seek(0)
    return out


def file_chunks(handle: Any, size: int = 64 * 1024) -> Iterator[bytes]:
    """Read ``handle`` in chunks, closing it at the end."""
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


def export_stream(db: Database, kind: Kind, fmt: Format, filters: Filters, restrict: Restrict | None = None,
                  now: datetime | None = None) -> Iterator[bytes]:
    """An export as bytes, ready for a streaming response (see :func:`export_rows` for the arguments).

    Raises:
        ValueError: an unknown ``kind`` or ``fmt``.
    """
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown format {fmt!r}; choose csv or xlsx")
    rows = export_rows(db, kind, filters, restrict, now)
    if fmt == "csv":
        return csv_chunks(COLUMNS[kind], rows)
    return file_chunks(xlsx_file(kind, COLUMNS[kind], rows))


def safe_name(text: str) -> str:
    """``text`` with everything but ASCII letters, digits, ``-`` and ``_`` replaced by ``-`` (for a file name in a
    ``Content-Disposition`` header, which must be Latin-1)."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in text)


def _day(value: date | datetime) -> str:
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def filename(kind: Kind, fmt: Format, filters: Filters, now: datetime | None = None) -> str:
    """``responses_<team>_<since>_<until>.csv`` style name: what is in the file, safe for any file system."""
    parts: list[str] = [kind]
    if filters.team:
        parts.append(safe_name(filters.team)[:40])
    if filters.since or filters.until:
        parts.append((_day(filters.since) if filters.since else "start") + "_" + (_day(filters.until) if filters.until else "now"))
    else:
        parts.append((now or datetime.now(UTC)).date().isoformat())
    return "_".join(parts) + "." + fmt


__all__ = ["COLUMNS", "KINDS", "MEDIA_TYPES", "Format", "Kind", "Restrict", "cell", "export_rows", "export_stream",
           "filename", "safe_name", "safe_text", "teams_restriction"]
