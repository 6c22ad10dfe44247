"""What the service's commands share: the ``--database-url`` option, the check that the ``api`` extra is
installed, and a session on the service's database that is committed, rolled back and closed in one place.

The service's modules are imported inside the functions so that the rest of ``nps-nlp`` starts without a web
framework or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from nps_nlp.cli.common import fail
from nps_nlp.errors import MissingDependencyError, NpsNlpError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DatabaseOption = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: NPS_DATABASE_URL "
                                                     "or sqlite:///./nps-nlp.db).")]


def require_api() -> None:
    """Raise :class:`MissingDependencyError` (naming the ``api`` extra) unless the service's libraries are installed."""
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "fastapi", "api") from None


@contextmanager
def database_session(database_url: str | None) -> Iterator[Session]:
    """A session on the service's database (``database_url``, else ``NPS_DATABASE_URL``, else the SQLite default),
    upgraded with Alembic first. The session commits when the block ends without an error and rolls back
    otherwise; the engine is disposed either way, so a failed command leaves no connection open."""
    require_api()
    from api.db.session import Database, migrate
    from api.settings import load_settings

    db = Database(load_settings(**({"database_url": database_url} if database_url else {})).database_url)
    try:
        migrate(db)
        with db.session() as session:
            yield session
    finally:
        db.dispose()


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the library's and the service's :class:`NpsNlpError` into one red line and exit code 2."""
    try:
        yield
    except NpsNlpError as exc:
        fail(exc)


__all__ = ["DatabaseOption", "database_session", "reported_errors", "require_api"]
