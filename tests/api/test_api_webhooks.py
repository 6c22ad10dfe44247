"""Signed webhooks from the outbox: retries with backoff, exactly-once after a restart, thank-you texts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import auth, new_key

SECRET = "s3cret-for-tests"


class Receiver:
    """A local webhook receiver that answers 500 to the first ``fail_first`` requests (on ``port``, default free)."""

    def __init__(self, fail_first: int = 0, port: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.fail_first else 200
                receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b, status in self.requests if status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=2)
    yield r
    r.close()


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_events_are_signed_retried_and_delivered_once(make_client, sqlite_url, receiver):
    from api.services.outbox import verify

    c = make_client(sqlite_url, webhook_urls=[receiver.url], webhook_secret=SECRET, outbox_poll_s=0.05,
                    webhook_backoff_s=0.05)
    h = auth(new_key(c, "admin"))
    c.post("/v1/responses/bulk", headers=h, json={"responses": [
        {"external_id": "w-1", "score": 0, "text": "The site is down and I am cancelling", "customer_id": "acct-7"},
        {"external_id": "w-2", "score": 10, "text": "Flott service, veldig fornøyd", "lang": "nb"},
        {"external_id": "w-3", "score": 8, "text": "ok"}]})
    alert_id = c.get("/v1/alerts", headers=h).json()["items"][0]["id"]
    c.patch(f"/v1/alerts/{alert_id}", json={"status": "contacted"}, headers=h)
    assert _wait(lambda: len(receiver.delivered()) == 3), receiver.requests
    assert [s for *_, s in receiver.requests[:2]] == [500, 500]  # the first two attempts failed and were retried
    # every event is delivered and none is pending: nothing more can arrive
    assert _wait(lambda: c.get("/v1/webhooks/events?status=delivered", headers=h).json()["total"] == 3)
    assert c.get("/v1/webhooks/events?status=pending", headers=h).json()["total"] == 0
    delivered = receiver.delivered()
    assert len(delivered) == 3 and len(receiver.requests) == 5
    events = {}
    for headers, body in delivered:
        assert verify(SECRET, headers["X-NPS-Timestamp"], body, headers["X-NPS-Signature"])
        assert not verify("wrong", headers["X-NPS-Timestamp"], body, headers["X-NPS-Signature"])
        payload = json.loads(body)
        assert headers["Idempotency-Key"] == payload["id"] == headers["X-NPS-Event-Id"]
        events[payload["type"]] = payload
    assert set(events) == {"alert.created", "alert.updated", "promoter.thank_you"}
    assert events["alert.created"]["data"]["response"]["customer_id"] == "acct-7"
    assert events["alert.updated"]["data"]["changes"][0]["new"] == "contacted"
    thanks = events["promoter.thank_you"]["data"]
    assert thanks["response"]["external_id"] == "w-2" and thanks["message"]["lang"] == "nb"
    assert thanks["message"]["text"].startswith("Tusen takk")
    # retried events keep their id: the failed and the successful attempt carry the same key
    keys = [h["Idempotency-Key"] for h, _, _ in receiver.requests]
    assert len(set(keys)) == 3
    metrics = c.get("/metrics").text
    assert 'nps_webhook_attempts_total{event_type="alert.created",outcome="ok"} 1.0' in metrics


def test_thank_you_texts_cover_every_language():
    from api.services.store import thank_you_text

    texts = {lang: thank_you_text(lang) for lang in ("en", "nl", "nb", "nn", "other", "und", None)}
    assert len({t for _, t in texts.values()}) == 4
    assert texts["nn"][1] != texts["nb"][1] and "dei" in texts["nn"][1]
    assert texts["other"] == texts[None] == texts["en"]


def test_restart_delivers_pending_rows_exactly_once(db_url):
    from api.db import Database, OutboxEvent, migrate
    from api.services.outbox import OutboxWorker
    from api.services.store import enqueue
    from api.settings import ServiceSettings

    down = Receiver()
    down_url = down.url
    down.close()  # nothing listens on this port now
    db = Database(db_url)
    migrate(db)
    settings = ServiceSettings(database_url=db_url, webhook_urls=[down_url], webhook_secret=SECRET,
                               webhook_backoff_s=60, webhook_max_attempts=5)  # the test ends the backoff itself
    with db.session() as s:
        ids = [enqueue(s, settings, "alert.created", {"n": i})[0] for i in range(5)]

    async def attempt(worker: OutboxWorker) -> int:
        try:
            return await worker.deliver_due()
        finally:
            await worker.client.aclose()

    # the receiver is down: one failed attempt each, rows stay pending with a backoff
    assert asyncio.run(attempt(OutboxWorker(db, settings))) == 5
    with db.session() as s:
        rows = s.query(OutboxEvent).all()
        assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
        assert all(r.next_attempt_at > datetime.now(UTC) for r in rows) and all(r.last_error for r in rows)
    # a worker that "died" holding a lease: that row waits until the lease runs out
    with db.session() as s:
        s.get(OutboxEvent, ids[0]).locked_until = datetime.now(UTC) + timedelta(minutes=5)
    # the service restarts and the receiver is back (same port is not guaranteed, so point rows at the new one)
    up = Receiver()
    try:
        with db.session() as s:
            for r in s.query(OutboxEvent):
                r.target_url = up.url
                r.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)  # the backoff is over

        async def two_workers() -> tuple[int, int]:
            a, b = OutboxWorker(db, settings), OutboxWorker(db, settings)
            try:
                return tuple(await asyncio.gather(a.deliver_due(), b.deliver_due()))  # type: ignore[return-value]
            finally:
                await a.client.aclose()
                await b.client.aclose()

        sent = asyncio.run(two_workers())
        assert sum(sent) == 4  # the leased row is not sent; no row is sent by both workers
        assert asyncio.run(attempt(OutboxWorker(db, settings))) == 0  # nothing left to send
        got = [json.loads(b)["id"] for _, b in up.delivered()]
        assert sorted(got) == sorted(ids[1:])
        with db.session() as s:
            s.get(OutboxEvent, ids[0]).locked_until = datetime.now(UTC) - timedelta(seconds=1)  # lease expired
        assert asyncio.run(attempt(OutboxWorker(db, settings))) == 1
        assert sorted(json.loads(b)["id"] for _, b in up.delivered()) == sorted(ids)
        with db.session() as s:
            assert {(r.status, r.attempts) for r in s.query(OutboxEvent)} == {("delivered", 2)}
    finally:
        up.close()
        db.dispose()


def test_gives_up_after_max_attempts(sqlite_url):
    from api.db import Database, OutboxEvent, migrate
    from api.services.outbox import OutboxWorker
    from api.services.store import enqueue
    from api.settings import ServiceSettings

    failing = Receiver(fail_first=100)
    db = Database(sqlite_url)
    migrate(db)
    settings = ServiceSettings(database_url=sqlite_url, webhook_urls=[failing.url], webhook_secret=SECRET,
                               webhook_backoff_s=0.01, webhook_max_attempts=3)
    with db.session() as s:
        enqueue(s, settings, "promoter.thank_you", {})

    def backoff_over() -> None:
        with db.session() as s:
            for r in s.query(OutboxEvent):
                r.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)

    async def run() -> None:
        worker = OutboxWorker(db, settings)
        try:
            for _ in range(6):  # twice the attempts it may make
                await worker.deliver_due()
                backoff_over()
        finally:
            await worker.client.aclose()

    try:
        asyncio.run(run())
        with db.session() as s:
            row = s.query(OutboxEvent).one()
            assert (row.status, row.attempts, row.last_error) == ("dead", 3, "HTTP 500")
        assert len(failing.requests) == 3
    finally:
        failing.close()
        db.dispose()


def test_webhooks_need_a_secret():
    from api.settings import load_settings
    from nps_nlp.errors import ConfigError

    with pytest.raises(ConfigError, match="NPS_WEBHOOK_SECRET"):
        load_settings(webhook_urls=["https://example.invalid/hook"])
    with pytest.raises(ConfigError, match="NPS_WEBHOOK_URLS"):
        load_settings(webhook_urls=["ftp://x"], webhook_secret="x")


def test_dead_events_are_listed_and_sent_again(make_client, sqlite_url):
    """An event that ran out of attempts is 'dead'; an admin lists it with its error and re-sends it once the
    receiver is fixed; it keeps its id (idempotency key); a delivered event is never re-sent."""
    down = Receiver()
    url = down.url
    down.close()  # nothing listens here yet
    c = make_client(sqlite_url, webhook_urls=[url], webhook_secret=SECRET, outbox_poll_s=0.05,
                    webhook_backoff_s=0.01, webhook_max_attempts=2)
    h = auth(new_key(c, "admin"))
    c.post("/v1/responses", headers=h, json={"external_id": "d-1", "score": 0, "text": "The site is down, I am cancelling"})
    assert _wait(lambda: c.get("/v1/webhooks/events?status=dead", headers=h).json()["total"] == 1)
    dead = c.get("/v1/webhooks/events?status=dead&include_payload=true", headers=h).json()["items"][0]
    assert dead["event_type"] == "alert.created" and dead["attempts"] == 2 and dead["last_error"]
    assert dead["payload"]["data"]["response"]["external_id"] == "d-1"
    assert c.get("/v1/webhooks/events", headers=auth(new_key(c, "read"))).status_code == 403
    assert c.post("/v1/webhooks/events/nope/retry", headers=h).status_code == 404
    # the receiver is back on the same port: re-send
    back = Receiver(port=down.server.server_address[1])
    try:
        r = c.post(f"/v1/webhooks/events/{dead['id']}/retry", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["attempts"] == 0
        assert _wait(lambda: len(back.delivered()) == 1)
        headers, body = back.delivered()[0]
        assert headers["Idempotency-Key"] == dead["id"] == json.loads(body)["id"]
        assert _wait(lambda: c.get("/v1/webhooks/events?status=delivered", headers=h).json()["total"] == 1)
        r = c.post(f"/v1/webhooks/events/{dead['id']}/retry", headers=h)
        assert r.status_code == 409 and "not sent twice" in r.json()["detail"]
        # the refused retry queued nothing: no event is pending, so nothing more is sent
        assert c.get("/v1/webhooks/events?status=pending", headers=h).json()["total"] == 0
        assert len(back.requests) == 1
    finally:
        back.close()
