"""The digest schedule: e-mail each subscription's latest due digest once, from a task the service runs.

A period's digest is *due* from ``report_hour`` (in ``report_timezone``) on the day after the period ends: a
day's on the next morning, a week's on Monday, a month's on the 1st. Each run sends, for every subscription, the
latest due digest that has not gone to that address yet (so a new subscriber gets the latest one at once, and a
service that was down sends what is due when it is back, never a backlog).

*At most once*: before a digest is sent, a ``digests_sent`` row (unique on address, period, team and period
start) is written in its own transaction; a second run, a restart or a second worker finds it and skips. A send
that fails is marked ``failed`` and tried again after ``report_retry_s``, at most ``report_max_attempts`` times;
one cut off half-way (the process killed while sending) stays ``sending`` and is not resent.

Between runs the task sleeps until the next due time (:func:`next_due`), at most an hour (so a changed clock
or time zone rule is picked up), or until :meth:`DigestScheduler.wake` is called (a new subscription).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from api.db.models import DigestSent, ReportSubscription
from api.db.session import Database
from api.services.leaderboard import Window, zone
from api.services.mailer import digest_message, send_message
from api.services.reports import build_digest, chart_png
from api.services.tasks import cancel_and_wait
from api.settings import ServiceSettings

log = logging.getLogger("nps_nlp.api")

MAX_SLEEP_S = 3600.0
"""Longest sleep between two looks at the schedule."""


def send_time(window: Window, hour: int) -> datetime:
    """When the digest of ``window`` is due: ``hour`` o'clock local time on the day after it ends."""
    return datetime.combine(window.next_day, time(hour), zone(window.tz)).astimezone(UTC)


def due_window(period: Any, now: datetime, tz: str, hour: int) -> Window:
    """The latest period of kind ``period`` whose digest is due at ``now``."""
    window = Window.last_complete(period, now, tz)
    while send_time(window, hour) > now:
        window = window.previous()
    return window


def next_due(periods: Iterable[Any], now: datetime, tz: str, hour: int) -> datetime | None:
    """The first time after ``now`` at which a digest of one of ``periods`` falls due (``None``: no periods)."""
    times = []
    for period in set(periods):
        current = Window.containing(period, now, tz)
        times.append(min(t for t in (send_time(current.previous(), hour), send_time(current, hour)) if t > now))
    return min(times) if times else None


@dataclass
class RunResult:
    """What one run did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0


class DigestScheduler:
    """Sends the due digests of every subscription (see the module docstring).

    Args:
        db: the service database.
        settings: SMTP and schedule settings.
        taxonomy: returns the served model's taxonomy (theme labels and teams of action points).
        send: sends one message (default: :func:`api.services.mailer.send_message`).
    """

    def __init__(self, db: Database, settings: ServiceSettings, taxonomy: Callable[[], Any] | None = None,
                 send: Callable[[ServiceSettings, EmailMessage], None] = send_message) -> None:
        self.db = db
        self.settings = settings
        self.taxonomy = taxonomy or (lambda: None)
        self.send = send
        self._task: asyncio.Task[None] | None = None
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- one run -------------------------------------------------------------------------------------------------

    def _claim(self, sub: ReportSubscription, window: Window, now: datetime) -> int | None:
        """Record that ``sub``'s digest of ``window`` is being sent; its row id, or ``None`` when it was sent (or is
        being sent, or has failed too often or too recently) already."""
        key = {"email": sub.email, "period": sub.period, "team_key": sub.team or "", "period_start": window.start}
        retry = timedelta(seconds=self.settings.report_retry_s)
        try:
            with self.db.session() as s:
                row = s.scalar(select(DigestSent).filter_by(**key))
                if row is None:
                    row = DigestSent(**key, subscription_id=sub.id, status="sending", attempts=1, created_at=now, updated_at=now)
                    s.add(row)
                    s.flush()
                    return row.id
                if row.status != "failed" or row.attempts >= self.settings.report_max_attempts or row.updated_at + retry > now:
                    return None
                taken = s.execute(update(DigestSent).where(DigestSent.id == row.id, DigestSent.status == "failed",
                                                           DigestSent.attempts == row.attempts)
                                  .values(status="sending", attempts=row.attempts + 1, updated_at=now))
                return row.id if taken.rowcount == 1 else None  # type: ignore[attr-defined]
        except IntegrityError:  # another worker claimed it at the same moment
            return None

    def _finish(self, row_id: int, error: str | None, now: datetime) -> None:
        """Mark a claimed digest sent or failed; ``now`` (the run's time) is when a retry is counted from."""
        with self.db.session() as s:
            s.execute(update(DigestSent).where(DigestSent.id == row_id).values(
                status="failed" if error else "sent", error=error, updated_at=now,
                sent_at=None if error else datetime.now(UTC)))

    def run_due(self, now: datetime | None = None) -> RunResult:
        """Send every subscription's latest due digest that has not gone out yet (blocking: run it in a thread).

        Args:
            now: the time the schedule is read at (default: now).
        """
        now = now or datetime.now(UTC)
        conf = self.settings
        with self.db.session() as s:
            subs = list(s.scalars(select(ReportSubscription).order_by(ReportSubscription.id)))
        groups: dict[tuple[str, str | None, Window], list[ReportSubscription]] = defaultdict(list)
        for sub in subs:
            groups[(sub.period, sub.team, due_window(sub.period, now, conf.report_timezone, conf.report_hour))].append(sub)
        result = RunResult()
        for (period, team, window), members in groups.items():
            claims = [(sub, row_id) for sub in members if (row_id := self._claim(sub, window, now)) is not None]
            result.skipped += len(members) - len(claims)
            if not claims:
                continue
            try:
                with self.db.session() as s:
                    digest = build_digest(s, period, team, at=window.start, tz=window.tz, taxonomy=self.taxonomy())  # type: ignore[arg-type]
                charts = {locale: chart_png(digest, locale) for locale in {sub.locale for sub, _ in claims}}
            except Exception as exc:  # a digest that cannot be made is recorded, not raised: the others still go
                log.exception("digest failed", extra={"period": period, "team": team})
                for _, row_id in claims:
                    self._finish(row_id, f"the digest could not be made: {type(exc).__name__}", now)
                result.failed += len(claims)
                continue
            for sub, row_id in claims:
                try:
                    self.send(conf, digest_message(digest, conf.smtp_from, sub.email, charts[sub.locale], sub.locale))
                except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
                    self._finish(row_id, f"{type(exc).__name__}: {str(exc)[:500]}", now)
                    result.failed += 1
                else:
                    self._finish(row_id, None, now)
                    result.sent += 1
        if result.sent or result.failed:
            log.info("digests", extra={"sent": result.sent, "failed": result.failed, "skipped": result.skipped})
        return result

    def seconds_to_next(self, now: datetime | None = None) -> float:
        """How long to sleep: until the next digest falls due or a failed one may be retried, at most an hour."""
        now = now or datetime.now(UTC)
        conf = self.settings
        with self.db.session() as s:
            periods = list(s.scalars(select(ReportSubscription.period).distinct()))
            retry_at = s.scalar(select(func.min(DigestSent.updated_at)).where(
                DigestSent.status == "failed", DigestSent.attempts < conf.report_max_attempts))
        times = [t for t in (next_due(periods, now, conf.report_timezone, conf.report_hour),
                             retry_at + timedelta(seconds=conf.report_retry_s) if retry_at else None) if t is not None]
        if not times:
            return MAX_SLEEP_S
        return min(MAX_SLEEP_S, max(1.0, (min(times) - now).total_seconds()))

    # -- the task ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the schedule as a task of the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="nps-digests")

    def wake(self) -> None:
        """Look at the schedule now (thread-safe; e.g. after a subscription was added)."""
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        assert self._event is not None
        while True:
            self._event.clear()
            delay = MAX_SLEEP_S / 12
            try:
                await asyncio.to_thread(self.run_due)
                delay = await asyncio.to_thread(self.seconds_to_next)
            except Exception:  # the database away: look again in a while
                log.exception("digest schedule failed; trying again in 5 minutes")
            try:
                await asyncio.wait_for(self._event.wait(), timeout=delay)
            except TimeoutError:
                pass


__all__ = ["DigestScheduler", "RunResult", "due_window", "next_due", "send_time"]
