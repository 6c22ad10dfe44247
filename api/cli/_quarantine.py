"""``nps-nlp quarantine check|log-sent``: survey quarantine against the service's database.

The commands call the service's own code (``api.services.quarantine``) on the configured database, so a list of
100,000 customers is checked without an HTTP round trip; the rules are the ones the service applies.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli._database import DatabaseOption, database_session, reported_errors
from nps_nlp.cli.common import OutputFormat, app, err
from nps_nlp.errors import DataFormatError

quarantine_app = typer.Typer(help="Survey quarantine: may these customers be surveyed now? Log surveys sent.",
                             no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


def _read_column(path: Path, column: str | None, encoding: str) -> tuple[str, list[dict[str, str]]]:
    """The rows of a CSV file and the column holding customer ids (``customer_id``, else the first column)."""
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file")
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        name = column or ("customer_id" if "customer_id" in fields else fields[0] if fields else None)
        if name is None or name not in fields:
            raise DataFormatError(f"{path}: no column {name or 'customer_id'}; columns are {', '.join(fields) or 'none'}"
                                  " (pick one with --column)")
        return name, list(reader)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO-8601 time such as 2026-12-01T09:00:00Z, got {value!r}") from None
    if not 1900 <= at.year < 2200:
        raise typer.BadParameter(f"{value!r} is not a plausible survey time (years 1900-2199)")
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@quarantine_app.command("check")
def check(
    customers: Annotated[Path, typer.Argument(help="CSV file with a customer_id column (or --column).")],
    column: Annotated[str | None, typer.Option(help="Column with the customer ids (default: customer_id, "
                                               "else the first column).")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel of the planned survey (its rule, if one is set).")] = None,
    at: Annotated[str | None, typer.Option(help="Check for this moment (ISO-8601; default now).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write every verdict to this CSV file.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="table (a summary) or json (every verdict).")]
    = OutputFormat.table,
    encoding: Annotated[str, typer.Option(help="Encoding of the CSV file.")] = "utf-8",
    database_url: DatabaseOption = None,
) -> None:
    """May each customer be surveyed now? Prints how many may, and why the others may not; --output writes
    customer_id, eligible, reasons, eligible_from and reason per customer."""
    with reported_errors():
        from api.services.quarantine import check as check_customers
        from api.settings import load_settings

        name, rows = _read_column(customers, column, encoding)
        ids = [r[name].strip() for r in rows if (r.get(name) or "").strip()]
        settings = load_settings(**({"database_url": database_url} if database_url else {}))
        moment = _when(at) or datetime.now(UTC)
        with database_session(database_url) as session:
            verdicts = check_customers(session, settings, ids, channel, moment)
    records = [{"customer_id": v.customer_id, "eligible": v.eligible, "reasons": " ".join(v.reasons),
                "eligible_from": v.eligible_from.isoformat() if v.eligible_from else "", "reason": v.reason or ""}
               for v in verdicts]
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]) if records else ["customer_id"])
            writer.writeheader()
            writer.writerows(records)
        err.print(f"wrote {len(records):,} verdicts to {output}")
    if format is OutputFormat.json:
        typer.echo(json.dumps(records, ensure_ascii=False))
        return
    reasons = Counter(code for v in verdicts for code in v.reasons)
    table = Table(title=f"{len(verdicts):,} customers checked at {moment.isoformat(timespec='seconds')}"
                        + (f" for channel {channel}" if channel else ""))
    table.add_column("")
    table.add_column("customers", justify="right")
    table.add_row("[green]may be surveyed[/]", f"{sum(v.eligible for v in verdicts):,}")
    table.add_row("[red]may not[/]", f"{sum(not v.eligible for v in verdicts):,}")
    for code, n in reasons.most_common():
        table.add_row(f"  {code}", f"{n:,}")
    Console().print(table)


@quarantine_app.command("log-sent")
def log_sent(
    surveys: Annotated[Path, typer.Argument(help="CSV with customer_id and optional channel, sent_at, survey_id.")],
    encoding: Annotated[str, typer.Option(help="Encoding of the CSV file.")] = "utf-8",
    database_url: DatabaseOption = None,
) -> None:
    """Add surveys sent to the contact log the quarantine rules read."""
    with reported_errors():
        from api.services.quarantine import log_sent as log

        name, rows = _read_column(surveys, "customer_id", encoding)
        items = [{"customer_id": r[name].strip(), "channel": r.get("channel") or None,
                  "sent_at": _when(r.get("sent_at")), "survey_id": r.get("survey_id") or None}
                 for r in rows if (r.get(name) or "").strip()]
        with database_session(database_url) as session:
            n = log(session, items, datetime.now(UTC)) if items else 0
    err.print(f"logged {n:,} surveys sent")
