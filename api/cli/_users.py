"""``nps-nlp users create|list|set-password|add-team``: people who sign in to the workspace at ``/app``.

Passwords are read from a prompt (hidden) or ``--password-stdin``, never from the command line's arguments.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli._database import DatabaseOption, database_session, reported_errors
from nps_nlp.cli.common import app, err

users_app = typer.Typer(help="Workspace users (sign-in at /app): roles admin, analyst, team_lead, agent.",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case, e.g. anna or anna@example.com).")],
    role: Annotated[str, typer.Option(help="admin, analyst, team_lead or agent.")],
    team: Annotated[list[str] | None, typer.Option("--team", "-t", help="A team the user belongs to (repeat for more).")] = None,
    name: Annotated[str | None, typer.Option(help="Display name (default: the username).")] = None,
    lang: Annotated[str | None, typer.Option(help="Interface language en, nl or nb (default: from the browser).")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone for dates and periods.")] = "Europe/Amsterdam",
    password_stdin: PasswordStdin = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create a user; the password is asked for (or read from stdin) and stored as an argon2 hash."""
    with reported_errors():
        from api.services.users import NewUser, create_user

        password = _password(password_stdin)
        with database_session(database_url) as session:
            user = create_user(session, NewUser(username, password, role, name, list(team or []), lang, timezone))
            user_id, teams = user.id, ", ".join(user.teams) or "no team"
    err.print(f"created user {user_id} '{username}' ({role}; {teams})")


@users_app.command("list")
def users_list(database_url: DatabaseOption = None) -> None:
    """List users (id, username, name, role, teams, language, active, last sign-in)."""
    with reported_errors():
        from api.services.users import list_users

        with database_session(database_url) as session:
            rows = [(str(u.id), u.username, u.display_name, u.role, ", ".join(u.teams), u.lang or "", "yes" if u.active else "no",
                     u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "") for u in list_users(session)]
    table = Table("id", "username", "name", "role", "teams", "lang", "active", "last sign-in")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)


@users_app.command("set-password")
def users_set_password(username: Annotated[str, typer.Argument(help="The user.")], password_stdin: PasswordStdin = False,
                       database_url: DatabaseOption = None) -> None:
    """Set a user's password; their open sessions end."""
    with reported_errors():
        from api.services.users import get_user, set_password

        password = _password(password_stdin)
        with database_session(database_url) as session:
            set_password(session, get_user(session, username), password)
    err.print(f"password of '{username}' changed")


@users_app.command("add-team")
def users_add_team(username: Annotated[str, typer.Argument(help="The user.")],
                   team: Annotated[str, typer.Argument(help="The team to add them to.")],
                   database_url: DatabaseOption = None) -> None:
    """Add a user to a team."""
    with reported_errors():
        from api.services.users import add_team, get_user

        with database_session(database_url) as session:
            user = get_user(session, username)
            add_team(user, team)
            teams = ", ".join(sorted(user.teams))
    err.print(f"'{username}' is now in: {teams}")
