"""Workspace users: accounts with argon2 password hashes, roles, team memberships, and who may see what.

Roles: ``admin`` (everything, manages users), ``analyst`` (sees and works everything), ``team_lead`` (sees and
works the teams they belong to), ``agent`` (sees their teams' figures and works the alerts assigned to them).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import AppSecret, User, UserTeam
from nps_nlp.errors import ConfigError

ROLES: tuple[str, ...] = ("admin", "analyst", "team_lead", "agent")
"""Workspace roles, most rights first."""

LANGS: tuple[str, ...] = ("en", "nl", "nb")
"""Languages of the workspace interface."""

MIN_PASSWORD = 10
"""Shortest password accepted."""

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
_HASHER = PasswordHasher()
# verified against when the user does not exist, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash("not-a-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the pages see them: identity, role, teams and preferences."""

    id: int
    username: str
    display_name: str
    role: str
    teams: tuple[str, ...] = ()
    lang: str | None = None
    timezone: str = "Europe/Amsterdam"
    epoch: int = 0

    @property
    def sees_all(self) -> bool:
        """Admins and analysts see every team."""
        return self.role in ("admin", "analyst")

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The teams whose data this user may see; ``None`` means all."""
        return None if self.sees_all else self.teams

    @property
    def alert_owner(self) -> str | None:
        """Agents see only the alerts assigned to them: their username; ``None`` for other roles."""
        return self.username if self.role == "agent" else None

    def can_see_team(self, team: str) -> bool:
        return self.sees_all or team in self.teams

    def can_work_alert(self, team: str | None, owner: str | None) -> bool:
        """Whether this user may change an alert of ``team`` currently owned by ``owner``."""
        if self.sees_all:
            return True
        if self.role == "agent":
            return owner == self.username
        return team is not None and team in self.teams

    def can_manage_items(self, team: str | None) -> bool:
        """Whether this user may create and change the action items of ``team``."""
        return self.sees_all or (self.role == "team_lead" and team is not None and team in self.teams)


@dataclass
class NewUser:
    """What ``create_user`` needs; validated by :func:`check_new_user`."""

    username: str
    password: str
    role: str
    display_name: str | None = None
    teams: list[str] = field(default_factory=list)
    lang: str | None = None
    timezone: str = "Europe/Amsterdam"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _HASHER.hash(password)


def check_password(password: str) -> None:
    """Raise :class:`ConfigError` for a password that is too short."""
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters, got {len(password)}")


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (e.g. Europe/Oslo), else :class:`ConfigError`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name[:60]!r}; use an IANA name such as Europe/Amsterdam or UTC") from None
    return name


def check_new_user(user: NewUser) -> None:
    """Raise :class:`ConfigError` naming what is wrong with a new user's fields."""
    if not _USERNAME.match(user.username):
        raise ConfigError("a username is 2-100 characters: lower-case letters, digits, '.', '_', '@' or '-', "
                          f"starting with a letter or digit; got {user.username[:60]!r}")
    if user.role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}; got {user.role[:30]!r}")
    if user.lang is not None and user.lang not in LANGS:
        raise ConfigError(f"language must be one of {', '.join(LANGS)}; got {user.lang[:10]!r}")
    check_password(user.password)
    check_timezone(user.timezone)
    for team in user.teams:
        check_team(team)


def check_team(team: str) -> str:
    team = team.strip()
    if not team or len(team) > 100:
        raise ConfigError("a team name has 1-100 characters")
    return team


def create_user(session: Session, new: NewUser) -> User:
    """Create a user with a hashed password and their teams.

    Raises:
        ConfigError: a bad field, or the username is taken.
    """
    check_new_user(new)
    if session.scalar(select(User.id).where(User.username == new.username)) is not None:
        raise ConfigError(f"the username {new.username!r} is taken")
    user = User(username=new.username, display_name=(new.display_name or new.username).strip()[:200],
                password_hash=hash_password(new.password), role=new.role, lang=new.lang, timezone=new.timezone,
                active=True, session_epoch=0, created_at=datetime.now(UTC))
    user.memberships = [UserTeam(team=check_team(t)) for t in dict.fromkeys(new.teams)]
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    """The user called ``username``; :class:`ConfigError` if there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ConfigError(f"no user {username[:100]!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_password(session: Session, user: User, password: str) -> None:
    """Set a new password; every existing session of the user ends."""
    check_password(password)
    user.password_hash = hash_password(password)
    user.session_epoch += 1


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}; got {role[:30]!r}")
    user.role = role


def set_active(user: User, active: bool) -> None:
    """Enable or disable sign-in; disabling ends every session of the user."""
    if user.active and not active:
        user.session_epoch += 1
    user.active = active


def set_teams(user: User, teams: list[str]) -> None:
    """Replace the user's team memberships."""
    wanted = list(dict.fromkeys(check_team(t) for t in teams if t.strip()))
    keep = [m for m in user.memberships if m.team in wanted]
    have = {m.team for m in keep}
    user.memberships = keep + [UserTeam(team=t) for t in wanted if t not in have]


def add_team(user: User, team: str) -> None:
    set_teams(user, [*user.teams, team])


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or ``None``; rehashes an outdated hash."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        try:
            _HASHER.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user


def viewer_of(user: User) -> Viewer:
    return Viewer(user.id, user.username, user.display_name, user.role, tuple(user.teams), user.lang, user.timezone,
                  user.session_epoch)


def app_secret(session: Session, name: str) -> str:
    """A random secret stored under ``name``, created on first use (kept across restarts and shared by workers)."""
    row = session.get(AppSecret, name)
    if row is None:
        try:
            with session.begin_nested():  # another worker may create it at the same moment: then read theirs
                session.add(AppSecret(name=name, value=secrets.token_urlsafe(48), created_at=datetime.now(UTC)))
        except IntegrityError:
            pass
        row = session.get(AppSecret, name)
        assert row is not None
    return row.value


__all__ = ["LANGS", "ROLES", "NewUser", "Viewer", "add_team", "app_secret", "authenticate", "check_timezone",
           "create_user", "get_user", "hash_password", "list_users", "set_active", "set_password", "set_role",
           "set_teams", "viewer_of"]
