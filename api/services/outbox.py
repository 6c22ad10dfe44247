"""Webhook delivery from the outbox table: signed, retried with exponential backoff, restart-safe.

Each outbox row is one event for one receiver; its id is the event id and is sent as the
``Idempotency-Key`` header on every attempt, so a receiver that saw it already can drop a repeat. A
worker *claims* a row with a conditional UPDATE (lease in ``locked_until``), so two workers never send the
same row at once, and a row claimed by a worker that died is picked up again when its lease runs out.

Signature: ``X-NPS-Signature: sha256=<hex HMAC-SHA256(secret, f"{X-NPS-Timestamp}." + body)>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import or_, select, update

from api.db.models import OutboxEvent
from api.db.session import Database
from api.services.tasks import cancel_and_wait
from api.settings import ServiceSettings

log = logging.getLogger("nps_nlp.api.outbox")

LEASE = timedelta(seconds=60)
MAX_BACKOFF_S = 3600.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-NPS-Signature`` value for a body sent at ``timestamp`` (unix seconds as a string)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance_s: float = 300) -> bool:
    """Receiver side: is the signature right and the timestamp recent?"""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class _Claimed:
    id: str
    event_type: str
    target_url: str
    payload: dict
    attempts: int


class OutboxWorker:
    """Delivers due outbox rows.

    Args:
        db: the database.
        settings: secret, timeout, attempts and backoff.
        on_result: called with (event type, ok) after each attempt (metrics).
    """

    def __init__(self, db: Database, settings: ServiceSettings, on_result: Callable[[str, bool], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.db = db
        self.settings = settings
        self.on_result = on_result
        self.client = httpx.AsyncClient(timeout=settings.webhook_timeout_s, transport=transport)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="nps-outbox")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.client.aclose()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed; retrying")
                sent = 0
            if not sent:
                await asyncio.sleep(self.settings.outbox_poll_s)

    def _claim(self, limit: int) -> list[_Claimed]:
        now = datetime.now(UTC)
        claimed = []
        with self.db.session() as s:
            rows = s.execute(select(OutboxEvent.id).where(
                OutboxEvent.status == "pending", OutboxEvent.next_attempt_at <= now,
                or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until < now),
            ).order_by(OutboxEvent.created_at, OutboxEvent.id).limit(limit)).scalars().all()
        for event_id in rows:
            with self.db.session() as s:
                result = s.execute(update(OutboxEvent).where(
                    OutboxEvent.id == event_id, OutboxEvent.status == "pending",
                    or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until < now),
                ).values(locked_until=now + LEASE))
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another worker took it
                row = s.get(OutboxEvent, event_id)
                assert row is not None
                claimed.append(_Claimed(row.id, row.event_type, row.target_url, dict(row.payload), row.attempts))
        return claimed

    def _finish(self, event: _Claimed, error: str | None) -> None:
        now = datetime.now(UTC)
        attempts = event.attempts + 1
        with self.db.session() as s:
            row = s.get(OutboxEvent, event.id)
            if row is None:
                return
            row.attempts = attempts
            row.locked_until = None
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
            else:
                row.last_error = error[:2000]
                if attempts >= self.settings.webhook_max_attempts:
                    row.status = "dead"
                else:
                    delay = min(self.settings.webhook_backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
                    row.next_attempt_at = now + timedelta(seconds=delay)

    async def _send(self, event: _Claimed) -> str | None:
        body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "nps-nlp-webhooks/1",
                   "X-NPS-Event": event.event_type, "X-NPS-Event-Id": event.id, "Idempotency-Key": event.id,
                   "X-NPS-Timestamp": timestamp,
                   "X-NPS-Signature": sign(self.settings.webhook_secret or "", timestamp, body)}
        try:
            response = await self.client.post(event.target_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def deliver_due(self, limit: int = 50) -> int:
        """Send every due row once (claimed first); returns how many were attempted."""
        events = await asyncio.to_thread(self._claim, limit)
        for event in events:
            error = await self._send(event)
            await asyncio.to_thread(self._finish, event, error)
            if self.on_result is not None:
                self.on_result(event.event_type, error is None)
            log.info("webhook attempt", extra={"event_id": event.id, "event_type": event.event_type,
                                               "attempt": event.attempts + 1, "ok": error is None,
                                               **({"error": error} if error else {})})
        return len(events)
