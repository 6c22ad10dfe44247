"""``nps-nlp accounts import FILE.csv``: load accounts (revenue, currency, segment, owner) and the customers that
belong to them into the service's database, upserting by account id. The service (the ``api``
extra) is imported inside the command.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli._database import DatabaseOption, database_session, reported_errors
from nps_nlp.cli.common import app, err, parse_columns
from nps_nlp.errors import DataFormatError

accounts_app = typer.Typer(help="Accounts of the service: revenue, segment, owner and their customers.",
                           no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")

FIELDS: tuple[str, ...] = ("account_id", "name", "revenue", "currency", "segment", "owner", "customer_id")
ALIASES: dict[str, str] = {"arr": "revenue", "customer": "customer_id", "account": "account_id"}


def read_accounts_csv(path: Path, columns: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Read accounts from a CSV file with a header: one account per row, or several rows per account with one
    ``customer_id`` each (the customer -> account column). Empty cells leave a stored value as it is.

    Args:
        path: the CSV file (UTF-8, comma or semicolon separated).
        columns: our field -> the file's column name, for headers with other names.

    Returns:
        ``(accounts, problems)``: one dict per account (rows merged, ``customers`` collected) and one
        ``line N: ...`` message per bad row (bad rows are left out).

    Raises:
        DataFormatError: the file cannot be read or has no ``account_id`` column.
    """
    from pydantic import ValidationError

    from api.errors import describe_errors
    from api.schemas.accounts import AccountIn

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"cannot read {path}: {exc}") from None
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    wanted = {f: (columns or {}).get(f) or next((h for h, ours in ALIASES.items() if ours == f and h in header), f)
              for f in FIELDS}
    found = {f: header[c.lower()] for f, c in wanted.items() if c.lower() in header}
    if "account_id" not in found:
        raise DataFormatError(f"{path} has no account_id column (found: {', '.join(reader.fieldnames or []) or 'none'}); "
                              "name it account_id or pass --column account_id=YOUR_COLUMN")
    merged: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        values = {f: (row.get(c) or "").strip() for f, c in found.items()}
        data: dict[str, Any] = {f: v for f, v in values.items() if v and f != "customer_id"}
        if "revenue" in data:
            try:
                data["revenue"] = float(data["revenue"].replace("_", "").replace(" ", ""))
            except ValueError:
                problems.append(f"line {line}: revenue {data['revenue']!r} is not a number (use a dot for decimals, "
                                "no thousands separators)")
                continue
        if "currency" in data:
            data["currency"] = data["currency"].upper()
        data["customers"] = [values["customer_id"]] if values.get("customer_id") else []
        try:
            item = AccountIn.model_validate(data)
        except ValidationError as exc:
            problems.append(f"line {line}: " + "; ".join(describe_errors(exc.errors())))
            continue
        sent = item.model_dump(exclude_unset=True)
        account = merged.setdefault(item.account_id, {"account_id": item.account_id, "customers": []})
        account.update({k: v for k, v in sent.items() if k not in ("account_id", "customers")})
        account["customers"] += [c for c in item.customers if c not in account["customers"]]
    return list(merged.values()), problems


@accounts_app.command("import")
def accounts_import(
    path: Annotated[Path, typer.Argument(help="CSV with a header: account_id, name, revenue (or arr), currency, "
                                              "segment, owner, customer_id.", exists=True, dir_okay=False)],
    column: Annotated[list[str] | None, typer.Option("--column", "-c", help="OURS=THEIRS for another header name "
                                                     "(e.g. account_id=AccountNumber); repeat.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file only; store nothing.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create or update accounts by account id (and map their customers). Bad rows are listed with their line
    number and left out; the command then exits with code 1."""
    with reported_errors():
        items, problems = read_accounts_csv(path, parse_columns(column))
        counts = {"created": 0, "updated": 0}
        if not dry_run and items:
            from api.schemas.accounts import AccountIn
            from api.services.accounts import upsert

            with database_session(database_url) as session:
                for item in items:
                    counts[upsert(session, AccountIn.model_validate(item))] += 1
    for problem in problems:
        err.print(f"[red]{problem}[/]")
    what = "would import" if dry_run else f"created {counts['created']}, updated {counts['updated']} of"
    err.print(f"{what} {len(items)} accounts ({sum(len(i['customers']) for i in items)} customers); "
              f"{len(problems)} bad rows")
    if problems:
        raise typer.Exit(code=1)
