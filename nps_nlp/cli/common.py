"""The typer app and the helpers every command module shares.

Command modules register on ``app`` when imported: the core library's own under ``nps_nlp/cli/``, the service's
and training's through the ``nps_nlp.commands`` entry points (see :mod:`nps_nlp.cli`), so the library never
imports the packages above it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

app = typer.Typer(help="nps-nlp: themes, per-theme sentiment and urgency for NPS answers (nl, nb, nn, en).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True, soft_wrap=True)

FORMAT_HELP = "jsonl, csv, parquet, semeval2016, mams, norec, airline (also semeval2014, norec_fine)"


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


def default_model_path() -> Path:
    """``NPS_MODEL``, else the registry's active model, else the shipped ``models/default``."""
    from nps_nlp.registry import resolve_model_path

    return resolve_model_path()


def fail(exc: Exception) -> NoReturn:
    """Print the error in one red line and exit with code 2 (a usage or data error, not a crash)."""
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def parse_columns(items: list[str] | None) -> dict[str, str]:
    """``--column text=comment`` options -> ``{"text": "comment"}``."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected OURS=THEIRS (e.g. text=comment), got {item!r}")
        ours, theirs = item.split("=", 1)
        out[ours.strip()] = theirs.strip()
    return out
