"""``nps-nlp models list|show|promote|register``: the model registry from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nps_nlp.cli.common import OutputFormat, app, fail
from nps_nlp.errors import NpsNlpError

models_app = typer.Typer(help="The model registry: list, show, register and promote (activate) models.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")

RegistryOption = Annotated[Path | None, typer.Option("--registry", help="Registry directory (default NPS_REGISTRY_DIR, "
                                                                        "else ./registry).")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="table or json.")]


def _registry(path: Path | None):  # -> ModelRegistry
    from nps_nlp._settings import get_settings
    from nps_nlp.registry import ModelRegistry

    return ModelRegistry(path or get_settings().registry_dir)


def _short(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "-" if value is None else str(value)


@models_app.command("list")
def list_models(registry: RegistryOption = None, format: FormatOption = OutputFormat.table) -> None:
    """All registered models, newest first; the active one is marked."""
    try:
        reg = _registry(registry)
        entries = reg.list()
    except NpsNlpError as exc:
        fail(exc)
        return
    if format is OutputFormat.json:
        typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False))
        return
    table = Table(title=f"{len(entries)} model(s) in {reg.root}")
    for col in ("", "id", "created (UTC)", "micro-F1", "macro-F1", "polarity", "sentiment acc.", "eval n", "data"):
        table.add_column(col)
    for e in entries:
        m = e.metrics
        table.add_row("[green]*[/]" if e.active else "", e.id, e.created_at[:19].replace("T", " "),
                      _short(m, "micro_f1"), _short(m, "macro_f1"), _short(m, "theme_polarity"),
                      _short(m, "sentiment_accuracy"), _short(m, "n_examples"), e.data_fingerprint or "-")
    Console().print(table)
    if not entries:
        Console().print("register one with: nps-nlp models register RUN_DIR/model-best")
    elif not any(e.active for e in entries):
        Console().print("no active model (the service uses NPS_MODEL or models/default); "
                        "activate one with: nps-nlp models promote ID")


@models_app.command()
def show(model_id: Annotated[str, typer.Argument(metavar="ID", help="Registry id.")],
         registry: RegistryOption = None, format: FormatOption = OutputFormat.table) -> None:
    """One model: path, creation time, data fingerprint, metrics and how it was trained."""
    try:
        entry = _registry(registry).get(model_id)
    except NpsNlpError as exc:
        fail(exc)
        return
    if format is OutputFormat.json:
        typer.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"model {entry.id}" + (" (active)" if entry.active else ""), show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    args = entry.trained_with.get("training_arguments", {})
    rows = [("path", str(entry.path)), ("created", entry.created_at), ("active", "yes" if entry.active else "no"),
            ("data fingerprint", entry.data_fingerprint or "-"),
            ("training data", str(args.get("data", "-"))), ("evaluation data", str(args.get("dev_data") or "-")),
            ("mode", str(args.get("mode", "frozen"))), ("encoder", str(args.get("encoder") or "default")),
            ("versions", ", ".join(f"{k} {v}" for k, v in entry.trained_with.get("versions", {}).items()) or "-")]
    rows += [(k, str(v)) for k, v in entry.metrics.items()]
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


@models_app.command()
def promote(model_id: Annotated[str, typer.Argument(metavar="ID", help="Registry id to make active.")],
            registry: RegistryOption = None, format: FormatOption = OutputFormat.table) -> None:
    """Make ID the active model (atomic); a running service picks it up without a restart."""
    try:
        reg = _registry(registry)
        previous = reg.active_version()[0]
        entry = reg.promote(model_id)
    except NpsNlpError as exc:
        fail(exc)
        return
    if format is OutputFormat.json:
        typer.echo(json.dumps({**entry.to_dict(), "previous": previous}, ensure_ascii=False))
        return
    Console().print(f"[green]{entry.id} is now the active model[/] in {reg.root} (was: {previous or 'none'})")


@models_app.command("register")
def register_model(
    model_dir: Annotated[Path, typer.Argument(metavar="DIR", help="A model directory, or a training run directory "
                                                                  "(its model-best is registered).")],
    model_id: Annotated[str | None, typer.Option("--id", help="Registry id (default <name>-<UTC timestamp>).")] = None,
    promote_: Annotated[bool, typer.Option("--promote", help="Also make it the active model.")] = False,
    registry: RegistryOption = None, format: FormatOption = OutputFormat.table,
) -> None:
    """Copy a trained model into the registry."""
    from nps_nlp.model_dir import resolve_model_dir

    try:
        reg = _registry(registry)
        entry = reg.register(resolve_model_dir(model_dir), model_id=model_id)
        if promote_:
            entry = reg.promote(entry.id)
    except NpsNlpError as exc:
        fail(exc)
        return
    if format is OutputFormat.json:
        typer.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
        return
    Console().print(f"[green]registered {entry.id}[/] in {reg.root}" + (" and made it active" if promote_ else
                    f"; make it active with: nps-nlp models promote {entry.id}"))
