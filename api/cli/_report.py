"""``nps-nlp report``: a day's, week's or month's digest for a team or the company, from the service's database,
as HTML (the chart inline) or PDF. The service is imported inside the command."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli._database import DatabaseOption, database_session
from nps_nlp.cli.common import app, default_model_path, err, fail
from nps_nlp.errors import DataValidationError, NpsNlpError


class ReportPeriod(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class ReportLocale(StrEnum):
    en = "en"
    nl = "nl"
    nb = "nb"


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


def _taxonomy(model: Path | None):  # type: ignore[no-untyped-def]
    """The theme labels and owning teams of the served model (``None`` when it has no taxonomy file)."""
    from nps_nlp.taxonomy import load_taxonomy

    path = (model or default_model_path()) / "taxonomy.yaml"
    return load_taxonomy(path) if path.exists() else None


@app.command()
def report(
    period: Annotated[ReportPeriod, typer.Option(help="day, week or month.")] = ReportPeriod.week,
    team: Annotated[str | None, typer.Option(help="The team (default: the whole company).")] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="html (chart inline) or pdf (needs the pdf extra).")]
    = ReportFormat.html,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: HTML to standard output).")] = None,
    at: Annotated[str | None, typer.Option(help="A date or time inside the period (ISO 8601; default: the latest "
                                                "complete period).")] = None,
    tz: Annotated[str, typer.Option(help="Time zone the periods are cut in (IANA name).")] = "UTC",
    locale: Annotated[ReportLocale, typer.Option(help="Language: en, nl or nb.")] = ReportLocale.en,
    database_url: DatabaseOption = None,
    model: Annotated[Path | None, typer.Option(help="Model directory whose taxonomy names the themes (default: the "
                                               "served model).")] = None,
) -> None:
    """Write the digest of a period (NPS and its change with significance, trend chart, top action points, new
    praise, overdue alerts) from the service's database (NPS_DATABASE_URL)."""
    try:
        if format == ReportFormat.pdf and out is None:
            raise DataValidationError("a PDF needs --out FILE")
        when = None
        if at is not None:
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                raise DataValidationError(f"--at {at!r} is not an ISO 8601 date or time (e.g. 2026-11-30)") from None
        from api.services.leaderboard import zone
        from api.services.reports import build_digest, html_document, pdf_document

        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=zone(tz))

        with database_session(database_url) as session:
            digest = build_digest(session, period.value, team, at=when, tz=tz, taxonomy=_taxonomy(model))
        document: str | bytes = (pdf_document(digest, locale.value) if format == ReportFormat.pdf
                                 else html_document(digest, locale.value))
    except ValueError as exc:  # an unknown time zone
        fail(DataValidationError(str(exc)))
        return
    except NpsNlpError as exc:
        fail(exc)
        return
    if out is None:
        typer.echo(document)
        return
    if isinstance(document, bytes):
        out.write_bytes(document)
    else:
        out.write_text(document, encoding="utf-8")
    err.print(f"wrote the {period.value} digest for {team or 'the company'} ({digest['label']}, {digest['nps']['n']} answers) "
              f"to {out}")
