"""Survey quarantine: whom the organisation may survey now, and which stored answers broke its contact rules.

A contact rule says: no survey within ``survey_days`` of the customer's last survey, none within
``complaint_days`` of a complaint (a detractor answer, 0-6), none while an alert on one of the customer's answers
is open, and at most ``max_per_year`` surveys in 365 days. The rule for channel ``*`` (from the settings unless
stored) covers every channel; a rule stored for one channel replaces it for surveys on that channel and then
counts only that channel's surveys (complaints and open alerts count on every channel).

A customer's surveys are read from two places: the log of surveys sent (``POST /v1/surveys/sent``) and the
stored answers (an answer is a survey that was answered). The last survey is the later of the two; the count in a
year is the larger of the two counts, so a logged survey and its answer are not counted twice.

:func:`screen` answers for a list of customers with a few set-based queries (the ids travel as one sorted JSON
parameter) and returns only the customers who may not be surveyed; :func:`check` gives a verdict per customer;
:func:`breaches` judges answers at ingest against what was stored before them.
"""

from __future__ import annotations

import gc
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from api.db.models import Alert, ContactRule, Response, SurveySent, UTCDateTime
from api.settings import ServiceSettings

ALL_CHANNELS = "*"
YEAR = timedelta(days=365)


@dataclass(frozen=True)
class Rule:
    """One contact rule (``channel`` ``*`` for every channel)."""

    channel: str
    survey_days: int
    complaint_days: int
    max_per_year: int

    @cached_property
    def survey_gap(self) -> timedelta:
        return timedelta(days=self.survey_days)

    @cached_property
    def complaint_gap(self) -> timedelta:
        return timedelta(days=self.complaint_days)


@dataclass(slots=True)
class Contacts:
    """What a rule reads about one customer before a moment: the last survey, surveys in the year before, the date
    the oldest survey that counts against the yearly limit drops out, the last complaint and an open alert."""

    last_survey: datetime | None = None
    in_year: int = 0
    cap_until: datetime | None = None
    last_complaint: datetime | None = None
    open_alert: bool = False
    counted_from: str = "surveys_sent"  # the table whose count is ``in_year``


@dataclass(slots=True)
class Verdict:
    """May the customer be surveyed? ``reasons`` are codes (``recent_survey``, ``recent_complaint``,
    ``open_alert``, ``yearly_limit``), ``reason`` says it in words, ``eligible_from`` is the first moment all
    rules allow a survey (``None`` while an alert is open)."""

    customer_id: str
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    reason: str | None = None
    eligible_from: datetime | None = None


def default_rule(settings: ServiceSettings) -> Rule:
    return Rule(ALL_CHANNELS, settings.quarantine_survey_days, settings.quarantine_complaint_days,
                settings.quarantine_max_per_year)


def rules(session: Session, settings: ServiceSettings) -> dict[str, Rule]:
    """The rules in force by channel; ``*`` always present (stored, else from the settings)."""
    out = {ALL_CHANNELS: default_rule(settings)}
    for row in session.scalars(select(ContactRule)):
        out[row.channel] = Rule(row.channel, row.survey_days, row.complaint_days, row.max_per_year)
    return out


def set_rules(session: Session, new: Sequence[Rule], actor: str) -> None:
    """Replace the stored rules with ``new`` (without a ``*`` rule, the settings' default applies again)."""
    session.execute(delete(ContactRule))
    now = datetime.now(UTC)
    session.add_all(ContactRule(channel=r.channel, survey_days=r.survey_days, complaint_days=r.complaint_days,
                                max_per_year=r.max_per_year, updated_at=now, updated_by=actor) for r in new)
    session.flush()


def rule_for(all_rules: dict[str, Rule], channel: str | None) -> Rule:
    return all_rules.get(channel or ALL_CHANNELS) or all_rules[ALL_CHANNELS]


def judge(customer_id: str, rule: Rule, c: Contacts, at: datetime) -> Verdict:
    """Apply ``rule`` to a customer's ``Contacts`` at moment ``at``."""
    reasons: list[str] = []
    words: list[str] = []
    until: list[datetime] = []
    last = c.last_survey
    if last is not None and (end := last + rule.survey_gap) > at:
        reasons.append("recent_survey")
        words.append(f"surveyed on {last.date().isoformat()}, less than {rule.survey_days} days ago")
        until.append(end)
    last = c.last_complaint
    if last is not None and (end := last + rule.complaint_gap) > at:
        reasons.append("recent_complaint")
        words.append(f"complained (a detractor answer) on {last.date().isoformat()}, "
                     f"less than {rule.complaint_days} days ago")
        until.append(end)
    if c.open_alert:
        reasons.append("open_alert")
        words.append("has an open alert (resolve it first)")
    if c.in_year >= rule.max_per_year:
        reasons.append("yearly_limit")
        words.append(f"{c.in_year} surveys in the last 365 days (limit {rule.max_per_year})")
        if c.cap_until is not None:
            until.append(c.cap_until)
    if not reasons:
        return Verdict(customer_id, True)
    eligible_from = None if c.open_alert else max(until) if until else None
    return Verdict(customer_id, False, reasons, "; ".join(words), eligible_from)


class _CollectorPause:
    """Pauses Python's cyclic garbage collector while any holder is inside (thread-safe, nestable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._was_enabled:
                    gc.enable()


collector_paused = _CollectorPause()
"""``with collector_paused():`` around checking a long list. The check makes some hundred thousand short-lived
objects, freed by reference counting as it goes; left running, the collector would walk every object of the
service (full collections) during the check, for no garbage. Keep the paused block to the check itself
and let its results go before it ends, so they are not promoted into the old generation when it resumes."""


# --- the list check: set-based SQL -------------------------------------------------------------------------------


def _ids_source(session: Session) -> str:
    """A table expression of the ``:ids`` parameter, one JSON array of text on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        return "SELECT json_array_elements_text(CAST(:ids AS json)) AS customer_id"
    return "SELECT value AS customer_id FROM json_each(:ids)"


def _ids_param(ids: Sequence[str]) -> str:
    """The ids as one JSON array, sorted, so that the look-ups walk each index in its own order. One JSON text is
    cheaper for the driver to send than an array parameter of as many texts."""
    return json.dumps(sorted(ids), ensure_ascii=False)


_EPOCH, _NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1)


def _aware(value: Any) -> datetime | None:
    """A stored moment (naive UTC, or text on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates return text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # the same as value.replace(tzinfo=UTC), without replace's slow keyword call
        return _EPOCH + (value - _NAIVE_EPOCH)
    return value.astimezone(UTC)


def _kth_latest(session: Session, table: str, column: str, ids: Sequence[str], k: int, at: datetime,
                channel: str | None) -> dict[str, datetime]:
    """The ``k``-th most recent survey in the year before ``at`` per customer (those with at least ``k``)."""
    where_channel = " AND t.channel = :channel" if channel else ""
    sql = _query(f"""WITH ids AS ({_ids_source(session)})
        SELECT customer_id, moment FROM (
            SELECT t.customer_id AS customer_id, t.{column} AS moment,
                   ROW_NUMBER() OVER (PARTITION BY t.customer_id ORDER BY t.{column} DESC) AS rn
            FROM ids JOIN {table} t ON t.customer_id = ids.customer_id
            WHERE t.{column} < :at AND t.{column} >= :year_ago{where_channel}) ranked
        WHERE rn = :k""")
    rows = session.execute(sql, {"ids": _ids_param(ids), "at": at, "year_ago": at - YEAR,
                                 "k": k, "channel": channel})
    return {cid: moment for cid, value in rows if (moment := _aware(value)) is not None}


_TIMES = ("at", "year_ago", "survey_cut", "complaint_cut", "window_start")


def _query(sql: str) -> Any:
    """``sql`` as a statement whose time parameters bind as stored timestamps (the same text on SQLite)."""
    return text(sql).bindparams(*(bindparam(name, type_=UTCDateTime) for name in _TIMES if f":{name}" in sql))


def _contacts(session: Session, ids: Sequence[str], at: datetime, rule: Rule, channel: str | None) -> dict[str, Contacts]:
    """The :class:`Contacts` before ``at`` of the listed customers that ``rule`` may refuse (surveys of ``channel``
    only when given). Only the rule's window is read (older surveys and answers cannot break it), and customers the
    rule allows are left out by the queries themselves (``HAVING``), so only the others travel back."""
    params = {"ids": _ids_param(ids), "at": at, "year_ago": at - YEAR, "channel": channel, "k": rule.max_per_year,
              "survey_cut": at - timedelta(days=rule.survey_days), "complaint_cut": at - timedelta(days=rule.complaint_days),
              "window_start": at - max(YEAR, timedelta(days=max(rule.survey_days, rule.complaint_days)))}
    chan = "t.channel = :channel" if channel else "1 = 1"
    src = _ids_source(session)
    out: dict[str, Contacts] = {}
    sent = session.execute(_query(f"""WITH ids AS ({src})
        SELECT t.customer_id, MAX(t.sent_at), SUM(CASE WHEN t.sent_at >= :year_ago THEN 1 ELSE 0 END)
        FROM ids JOIN surveys_sent t ON t.customer_id = ids.customer_id
        WHERE t.sent_at < :at AND t.sent_at >= :window_start AND {chan} GROUP BY t.customer_id
        HAVING MAX(t.sent_at) >= :survey_cut OR SUM(CASE WHEN t.sent_at >= :year_ago THEN 1 ELSE 0 END) >= :k"""),
        params)
    for cid, last, n in sent:
        out[cid] = Contacts(last_survey=_aware(last), in_year=int(n or 0))
    answered = session.execute(_query(f"""WITH ids AS ({src})
        SELECT t.customer_id,
               MAX(CASE WHEN {chan} THEN t.timestamp END),
               SUM(CASE WHEN {chan} AND t.timestamp >= :year_ago THEN 1 ELSE 0 END),
               MAX(CASE WHEN t.score <= 6 THEN t.timestamp END)
        FROM ids JOIN responses t ON t.customer_id = ids.customer_id
        WHERE t.timestamp < :at AND t.timestamp >= :window_start GROUP BY t.customer_id
        HAVING MAX(CASE WHEN {chan} THEN t.timestamp END) >= :survey_cut
            OR SUM(CASE WHEN {chan} AND t.timestamp >= :year_ago THEN 1 ELSE 0 END) >= :k
            OR MAX(CASE WHEN t.score <= 6 THEN t.timestamp END) >= :complaint_cut"""), params)
    # a customer left out by one query is within the rule on that table, so the other table's figures decide
    for cid, last, n, complaint in answered:
        c = out.setdefault(cid, Contacts())
        last_answer = _aware(last)
        if last_answer is not None and (c.last_survey is None or last_answer > c.last_survey):
            c.last_survey = last_answer
        if int(n or 0) > c.in_year:
            c.in_year, c.counted_from = int(n or 0), "responses"
        c.last_complaint = _aware(complaint)
    # open alerts are few (they get resolved): read them all rather than probing every listed customer
    listed = set(ids)
    for cid in session.scalars(select(Response.customer_id).join(Alert, Alert.response_id == Response.id)
                               .where(Alert.status != "resolved", Response.timestamp < at).distinct()):
        if cid in listed:
            out.setdefault(cid, Contacts()).open_alert = True
    return out


@dataclass
class Screening:
    """A list checked at ``at`` under ``rule``: the distinct ids in the order given, and a :class:`Verdict` for each
    customer that may not be surveyed; every other listed customer may be."""

    ids: list[str]
    rule: Rule
    at: datetime
    refused: dict[str, Verdict]

    @property
    def eligible(self) -> int:
        return len(self.ids) - len(self.refused)

    def verdicts(self) -> list[Verdict]:
        """One :class:`Verdict` per id, in order."""
        refused = self.refused
        return [refused.get(cid) or Verdict(cid, True) for cid in self.ids]


def screen(session: Session, settings: ServiceSettings, customer_ids: Iterable[str], channel: str | None = None,
           at: datetime | None = None) -> Screening:
    """Which of these customers may not be surveyed at ``at`` (default now) on ``channel``, and why. A few set-based
    queries whatever the list's length; only the refused customers travel back from the database."""
    at = at or datetime.now(UTC)
    ids = list(dict.fromkeys(customer_ids))
    rule = rule_for(rules(session, settings), channel)
    scope = channel if rule.channel != ALL_CHANNELS else None
    contacts = _contacts(session, ids, at, rule, scope) if ids else {}
    capped: dict[str, list[str]] = defaultdict(list)
    for cid, c in contacts.items():
        if c.in_year >= rule.max_per_year:
            capped[c.counted_from].append(cid)
    for table, cids in capped.items():
        column = "sent_at" if table == "surveys_sent" else "timestamp"
        for cid, moment in _kth_latest(session, table, column, cids, rule.max_per_year, at, scope).items():
            contacts[cid].cap_until = moment + YEAR
    refused: dict[str, Verdict] = {}
    for cid, c in contacts.items():
        verdict = judge(cid, rule, c, at)
        if not verdict.eligible:
            refused[cid] = verdict
    return Screening(ids, rule, at, refused)


def check(session: Session, settings: ServiceSettings, customer_ids: Iterable[str], channel: str | None = None,
          at: datetime | None = None) -> list[Verdict]:
    """May each customer be surveyed at ``at`` (default now) on ``channel``? One :class:`Verdict` per distinct id,
    in the order given (:func:`screen`, with a verdict for those who may be surveyed too)."""
    return screen(session, settings, customer_ids, channel, at).verdicts()


# --- ingest: judge new answers against what was stored before them ------------------------------------------------


@dataclass
class _Event:
    at: datetime
    channel: str | None
    detractor: bool = False
    open_alert: bool = False
    sent: bool = False


def _load_events(session: Session, customers: set[str], since: datetime, until: datetime) -> dict[str, list[_Event]]:
    events: dict[str, list[_Event]] = defaultdict(list)
    ids = sorted(customers)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for cid, at, channel in session.execute(select(SurveySent.customer_id, SurveySent.sent_at, SurveySent.channel)
                                                .where(SurveySent.customer_id.in_(chunk), SurveySent.sent_at >= since,
                                                       SurveySent.sent_at <= until)):
            events[cid].append(_Event(at, channel, sent=True))
        rows = session.execute(select(Response.customer_id, Response.timestamp, Response.channel, Response.score,
                                      Alert.status).outerjoin(Alert, Alert.response_id == Response.id)
                               .where(Response.customer_id.in_(chunk), Response.timestamp >= since,
                                      Response.timestamp <= until))
        for customer, moment, answer_channel, score, status in rows:
            if customer is None:
                continue
            events[customer].append(_Event(moment, answer_channel, detractor=score <= 6,
                                      open_alert=status is not None and status != "resolved"))
    return events


def _contacts_before(events: list[_Event], t0: datetime, scope: str | None) -> Contacts:
    c = Contacts()
    sent = sorted((e.at for e in events if e.sent and e.at < t0 and (scope is None or e.channel == scope)), reverse=True)
    answers = sorted((e.at for e in events if not e.sent and e.at < t0 and (scope is None or e.channel == scope)),
                     reverse=True)
    c.last_survey = max(sent[:1] + answers[:1], default=None)
    counted = max([x for x in sent if x >= t0 - YEAR], [x for x in answers if x >= t0 - YEAR], key=len)
    c.in_year = len(counted)  # cap_until stays unset: at ingest only the verdict matters
    complaints = [e.at for e in events if not e.sent and e.detractor and e.at < t0]
    c.last_complaint = max(complaints, default=None)
    c.open_alert = any(e.open_alert and e.at < t0 for e in events)
    return c


def breaches(session: Session, settings: ServiceSettings, items: Sequence[Any], now: datetime) -> list[str | None]:
    """For each new answer (a ``ResponseIn``), why its survey broke the contact rules, or ``None``.

    An answer belongs to the last survey logged for its customer in the ``quarantine_answer_window_days`` before it
    when no other answer came in between (else it stands for a survey of its own, at its own time); that survey is
    judged against the surveys, answers and complaints before it, the stored ones and the other answers of the same
    request."""
    keyed = [(i, item) for i, item in enumerate(items) if item.customer_id]
    out: list[str | None] = [None] * len(items)
    if not keyed:
        return out
    moments = [item.timestamp or now for _, item in keyed]
    all_rules = rules(session, settings)
    longest = max([365, *(max(r.survey_days, r.complaint_days) for r in all_rules.values())])
    window = timedelta(days=longest + settings.quarantine_answer_window_days + 1)
    events = _load_events(session, {item.customer_id for _, item in keyed}, min(moments) - window, max(moments))
    batch = defaultdict(list)
    for (_, item), at in zip(keyed, moments, strict=True):
        batch[item.customer_id].append((item, _Event(at, item.segments.channel, detractor=item.score <= 6)))
    answer_window = timedelta(days=settings.quarantine_answer_window_days)
    for (i, item), at in zip(keyed, moments, strict=True):
        channel = item.segments.channel
        rule = rule_for(all_rules, channel)
        scope = channel if rule.channel != ALL_CHANNELS else None
        stored = events.get(item.customer_id, [])
        own = max((e.at for e in stored if e.sent and at - answer_window <= e.at <= at
                   and (e.channel is None or channel is None or e.channel == channel)), default=None)
        pool = list(stored) + [e for other, e in batch[item.customer_id] if other is not item]
        if own is not None and any(not e.sent and own <= e.at < at for e in pool):
            own = None  # that survey was answered already: this answer stands for a survey of its own
        t0 = own or at
        pool = [e for e in pool if not (e.sent and e.at == own)]
        verdict = judge(item.customer_id, rule, _contacts_before(pool, t0, scope), t0)
        if not verdict.eligible:
            out[i] = f"{', '.join(verdict.reasons)}: {verdict.reason}"[:300]
    return out


def log_sent(session: Session, surveys: Sequence[dict[str, Any]], now: datetime) -> int:
    """Add surveys sent to the log (``customer_id``, ``channel``, ``sent_at`` default now, ``survey_id``)."""
    session.execute(insert(SurveySent), [
        {"customer_id": s["customer_id"], "channel": s.get("channel"), "sent_at": s.get("sent_at") or now,
         "survey_id": s.get("survey_id"), "created_at": now} for s in surveys])
    return len(surveys)
