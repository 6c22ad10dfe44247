"""``nps-nlp serve`` (the FastAPI service) and ``nps-nlp keys create|list|revoke`` (its API keys).

The service needs the ``api`` extra; it is imported inside the commands so that the rest of ``nps-nlp``
starts without a web framework.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli._database import DatabaseOption, database_session, reported_errors, require_api
from nps_nlp.cli.common import app, err
from nps_nlp.errors import NpsNlpError

keys_app = typer.Typer(help="API keys of the service (stored hashed in its database).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 for all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    database_url: DatabaseOption = None,
    model: Annotated[Path | None, typer.Option(help="Serve this model directory (default: NPS_MODEL, else the "
                                               "registry's active model, else models/default).")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve without API keys (local experiments only).")] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Run the service (api.main:app) with uvicorn: SQLite and the offline model by default."""
    with reported_errors():
        require_api()
        if model is not None and not model.exists():
            raise NpsNlpError(f"model directory {model} does not exist")
        overrides: dict[str, object] = {"log_level": log_level}
        if database_url:
            overrides["database_url"] = database_url
        if model is not None:
            overrides["model"] = model
        if no_auth:
            overrides["require_auth"] = False
        from api.main import create_app
        from api.settings import load_settings

        settings = load_settings(**overrides)  # fail here, with the variable names, before uvicorn starts
    import uvicorn

    err.print(f"nps-nlp service on http://{host}:{port} (docs at /docs), database {settings.database_url.split('@')[-1]}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level.lower(), access_log=False)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (e.g. crm-prod).")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="classify, ingest, read, triage or admin (repeat for more).")],
    database_url: DatabaseOption = None,
) -> None:
    """Create an API key and print it once (only its SHA-256 hash is stored)."""
    with reported_errors(), database_session(database_url) as session:
        from api.services.keys import create_key

        key, row = create_key(session, name, [s for item in scope for s in item.split(",")])
        key_id, scopes = row.id, row.scopes
    err.print(f"created key {key_id} '{name}' with scopes {scopes}; store it now, it is not shown again:")
    typer.echo(key)


@keys_app.command("list")
def keys_list(database_url: DatabaseOption = None) -> None:
    """List keys (id, name, prefix, scopes, created, last used, revoked)."""
    with reported_errors(), database_session(database_url) as session:
        from api.services.keys import list_keys

        rows = [(str(k.id), k.name, k.prefix + "...", k.scopes, k.created_at.isoformat(timespec="seconds"),
                 k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "",
                 k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "") for k in list_keys(session)]
    table = Table("id", "name", "prefix", "scopes", "created", "last used", "revoked")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see keys list).")],
                database_url: DatabaseOption = None) -> None:
    """Revoke a key: it stops working at once."""
    with reported_errors(), database_session(database_url) as session:
        from api.services.keys import revoke_key

        name = revoke_key(session, key_id).name
    err.print(f"revoked key {key_id} '{name}'")
