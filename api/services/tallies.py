"""Sums over the stored answers, kept up to date as answers arrive instead of counted again from scratch.

A *tally* is a value computed from the answers within a range of ids (counts per day, per theme, per team) that
two ranges can be merged into (:class:`Tallies` takes the ``compute`` and ``merge`` functions). Each is computed
once over every answer up to the newest id; when answers arrive, only those stored since (ids above the last one
it covers) are counted and merged in. It is counted again from scratch when that is not safe:

- an answer was corrected or re-tagged (a new ``response_events`` row: ``store.correct`` and ``retag`` write one
  with every change to an answer's content, themes or alert);
- an answer appeared at or below the covered id (on PostgreSQL ids are handed out before commit, so a slow
  transaction can commit a lower id later) or was removed: the number of answers at or below it changed;
- an alert was opened for an answer the tally already covers (alerts route answers to teams).

Every query of a tally is bounded by the newest id read before it (:class:`IdRange`), so no answer is counted
twice, whatever commits meanwhile.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from api.db.models import Alert, Response, ResponseEvent, ResponseTheme
from api.services.queries import Filters

T = TypeVar("T")


@dataclass(frozen=True)
class Mark:
    """How far the stored answers go: the newest answer id, the answers at or below it, the newest response
    event and the newest alert."""

    upto: int
    below: int
    events: int
    alerts: int


@dataclass(frozen=True)
class IdRange:
    """The answers with ``after < id <= upto`` (``after`` ``None``: from the first)."""

    after: int | None
    upto: int

    @property
    def is_delta(self) -> bool:
        """Whether this is a range of new answers (usually few) rather than all of them."""
        return self.after is not None

    def where(self, column: Any = Response.id) -> list[Any]:
        """The range as conditions on ``column`` (an answer id column)."""
        conditions = [column <= self.upto]
        if self.after is not None:
            conditions.append(column > self.after)
        return conditions


def member_of(teams: Iterable[str]) -> Any:
    """:func:`api.services.queries.in_teams` as correlated ``EXISTS`` tests: cheaper when few answers are tested
    (new answers, or a walk that stops early), where ``IN`` first lists every answer of the teams."""
    teams = list(teams)
    if not teams:
        return false()
    routed = aliased(ResponseTheme)
    return or_(Response.team.in_(teams), exists().where(routed.response_id == Response.id, routed.team.in_(teams)),
               exists().where(Alert.response_id == Response.id, Alert.team.in_(teams)))


def within(filters: Filters, query: Any, ids: IdRange | None = None, few: bool = False) -> Any:
    """``query`` (over ``Response``, possibly joined) restricted to ``filters`` and the answers in ``ids``; the
    teams' scope as :func:`member_of` when ``few`` answers are tested or ``ids`` is a delta."""
    if filters.scope is not None and (few or (ids is not None and ids.is_delta)):
        query = dataclasses.replace(filters, scope=None).apply(query).where(member_of(filters.scope))
    else:
        query = filters.apply(query)
    return query.where(*ids.where()) if ids is not None else query


def read_mark(session: Session) -> Mark:
    """The current :class:`Mark`; the events and alerts first, so a change committed meanwhile is seen as newer."""
    events = session.scalar(select(func.max(ResponseEvent.id))) or 0
    alerts = session.scalar(select(func.max(Alert.id))) or 0
    upto = session.scalar(select(func.max(Response.id))) or 0
    return Mark(upto, _count_upto(session, upto), events, alerts)


def _count_upto(session: Session, upto: int) -> int:
    """Answers with ``id <= upto`` (all answers less those above: both counts are quick on SQLite's indexes)."""
    total = session.scalar(select(func.count()).select_from(Response)) or 0
    above = session.scalar(select(func.count()).select_from(Response).where(Response.id > upto)) or 0
    return int(total - above)


@dataclass
class _Entry(Generic[T]):
    mark: Mark
    value: T


class KeyLocks:
    """One lock per cache key, from a fixed set of ``stripes``: the first of several threads that want the same
    missing value computes it while the others wait and then find it cached, instead of each computing it (the
    start-up warm-up and a first request, or two people opening the same view)."""

    def __init__(self, stripes: int = 64) -> None:
        self.locks = [threading.RLock() for _ in range(stripes)]

    def __call__(self, key: Any) -> threading.RLock:
        return self.locks[hash(key) % len(self.locks)]


class Tallies:
    """The most recently used tallies (``size``), keyed by what they count (a view's filters)."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.items: OrderedDict[Any, _Entry[Any]] = OrderedDict()
        self.lock = threading.Lock()
        self.computing = KeyLocks()

    def _cached(self, key: Any) -> _Entry[Any] | None:
        with self.lock:
            entry = self.items.get(key)
            if entry is not None:
                self.items.move_to_end(key)
            return entry

    def get(self, key: Any, session: Session, mark: Mark, compute: Callable[[IdRange], T],
            merge: Callable[[T, T], T], counted: dict[Any, Any] | None = None) -> T:
        """The tally ``key`` at ``mark``: cached, brought forward with the answers stored since, or computed (by
        one thread at a time per key: another that wants it meanwhile waits and reuses it). ``compute(ids)``
        counts the answers in ``ids``; ``merge(old, new)`` returns their sum (a new value: a cached one is never
        changed in place). ``counted`` keeps what was read to check that across the calls of one request (the
        answers at or below an id, alerts opened late)."""
        entry = self._cached(key)
        if entry is not None and entry.mark == mark:
            return entry.value  # type: ignore[no-any-return]
        with self.computing(key):
            return self._bring_forward(key, session, mark, compute, merge, counted)

    def _bring_forward(self, key: Any, session: Session, mark: Mark, compute: Callable[[IdRange], T],
                       merge: Callable[[T, T], T], counted: dict[Any, Any] | None) -> T:
        entry = self._cached(key)
        if entry is not None and entry.mark == mark:
            return entry.value  # type: ignore[no-any-return]
        if entry is not None and self._extends(session, entry.mark, mark, {} if counted is None else counted):
            value = merge(entry.value, compute(IdRange(entry.mark.upto, mark.upto)))
        else:
            value = compute(IdRange(None, mark.upto))
        with self.lock:
            self.items[key] = _Entry(mark, value)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    @staticmethod
    def _extends(session: Session, old: Mark, new: Mark, counted: dict[Any, Any]) -> bool:
        """Whether ``new`` only adds answers above ``old.upto`` (and alerts of those) to what ``old`` covered."""
        if new.events != old.events or new.upto < old.upto:
            return False
        counted.setdefault(new.upto, new.below)
        if old.upto not in counted:
            counted[old.upto] = _count_upto(session, old.upto)
        if counted[old.upto] != old.below:
            return False
        if new.alerts == old.alerts:
            return True
        late = ("late alert", old.alerts, old.upto)  # kept with the counts: the same for every tally of a request
        if late not in counted:
            counted[late] = session.scalar(select(Alert.id).where(Alert.id > old.alerts, Alert.response_id <= old.upto).limit(1))
        return counted[late] is None

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


__all__ = ["IdRange", "KeyLocks", "Mark", "Tallies", "member_of", "read_mark", "within"]
