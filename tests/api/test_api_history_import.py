"""History imports (``POST /v1/responses/bulk?mode=history``, ``nps-nlp tag --to-service --history``): no
thank-yous, no open alert for answers older than ``history_alert_age_days``; thank-yous only for answers that say
something, in the answer's language."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from conftest import auth, new_key

URGENT = "The site is down and I am cancelling"
HOOK = {"webhook_urls": ["http://127.0.0.1:9/hook"], "webhook_secret": "s", "outbox_poll_s": 3600}


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _events(c) -> Counter:
    from sqlalchemy import select

    from api.db.models import OutboxEvent

    with c.app.state.nps.db.session() as s:
        return Counter(s.scalars(select(OutboxEvent.event_type)))


def _history(n_old: int, n_new: int) -> list[dict]:
    rows = []
    for i in range(n_old):
        rows.append({"external_id": f"old-u{i}", "score": 1, "text": URGENT, "timestamp": _ago(90 + i)})
        rows.append({"external_id": f"old-p{i}", "score": 10, "text": "Great staff, fast delivery", "timestamp": _ago(90 + i)})
    for i in range(n_new):
        rows.append({"external_id": f"new-u{i}", "score": 0, "text": URGENT, "timestamp": _ago(1)})
        rows.append({"external_id": f"new-p{i}", "score": 9, "text": "Friendly staff", "timestamp": _ago(1)})
    return rows


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url, **HOOK)
    return c, auth(new_key(c, "admin", name="ops"))


def test_history_import_sends_no_thank_you_and_opens_no_old_alert(svc):
    c, h = svc
    rows = _history(5, 2)
    body = c.post("/v1/responses/bulk?mode=history", headers=h, json={"responses": rows}).json()
    assert body["created"] == 14
    events = _events(c)
    assert events["promoter.thank_you"] == 0
    assert events["alert.created"] == 2  # the two recent urgent answers, nobody else
    alerts = c.get("/v1/alerts?limit=100", headers=h).json()["items"]
    by_ext = {a["external_id"]: a for a in alerts}
    assert {e for e, a in by_ext.items() if a["status"] != "resolved"} == {"new-u0", "new-u1"}
    old = by_ext["old-u0"]
    assert old["status"] == "resolved" and not old["overdue"]
    assert [(e["kind"], e["new"], e["note"]) for e in old["history"]][-1] == ("status", "resolved", "imported as history")
    # re-sending the same history changes nothing and sends nothing
    again = c.post("/v1/responses/bulk?mode=history", headers=h, json={"responses": rows}).json()
    assert again["duplicates"] == 14 and _events(c) == events


def test_old_alerts_can_be_skipped(make_client, sqlite_url):
    c = make_client(sqlite_url, require_auth=False, history_old_alerts="skip", history_alert_age_days=30, **HOOK)
    c.post("/v1/responses/bulk?mode=history", json={"responses": [
        {"external_id": "a", "score": 1, "text": URGENT, "timestamp": _ago(31)},
        {"external_id": "b", "score": 1, "text": URGENT, "timestamp": _ago(29)}]})
    assert c.get("/v1/responses/a").json()["alert_id"] is None
    assert c.get("/v1/responses/b").json()["alert_id"] is not None
    assert _events(c)["alert.created"] == 1


def test_live_mode_thanks_only_recent_answers_that_say_something(make_client, sqlite_url):
    c = make_client(sqlite_url, require_auth=False, **HOOK)
    r = c.post("/v1/responses/bulk", json={"responses": [
        {"external_id": "empty", "score": 10, "text": ""},
        {"external_id": "filler", "score": 10, "text": "n/a"},
        {"external_id": "ok", "score": 9, "text": "Ok."},
        {"external_id": "nb", "score": 10, "text": "Flott service, veldig fornøyd", "lang": "nb"},
        {"external_id": "nl", "score": 9, "text": "Goed geholpen door het personeel", "lang": "nl"},
        {"external_id": "one-word", "score": 10, "text": "Fantastisch!", "lang": "nl"},
        {"external_id": "old", "score": 10, "text": "Great staff", "timestamp": _ago(90)},
        {"external_id": "passive", "score": 8, "text": "Great staff"},
    ]})
    assert r.json()["created"] == 8
    from sqlalchemy import select

    from api.db.models import OutboxEvent

    with c.app.state.nps.db.session() as s:
        thanks = {e["data"]["response"]["external_id"]: e["data"]["message"] for e in
                  s.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "promoter.thank_you"))}
    assert set(thanks) == {"nb", "nl", "one-word"}
    assert thanks["nb"]["lang"] == "nb" and thanks["nb"]["text"].startswith("Tusen takk")
    assert thanks["nl"]["lang"] == "nl" and thanks["nl"]["text"].startswith("Hartelijk dank")


def test_says_something():
    from api.services.history import says_something

    assert not any(says_something(t) for t in ("", "   ", "-", "n/a", "OK", "nee", "Nei.", "10", "!!!", None))
    assert all(says_something(t) for t in ("Great", "Top!", "Snel geholpen", "veldig bra", "Fornøgd med alt"))


def test_mode_is_checked(make_client, sqlite_url):
    c = make_client(sqlite_url, require_auth=False)
    r = c.post("/v1/responses/bulk?mode=past", json={"responses": [{"external_id": "a", "score": 5, "text": "x"}]})
    assert r.status_code == 422 and "mode" in r.json()["problems"][0]


def test_tag_history_uploads_with_mode_history():
    from typer.testing import CliRunner

    from nps_nlp.cli import app
    from nps_nlp.cli._tag import _history_client

    with _history_client() as client:
        request = client.build_request("POST", "http://svc:8000/v1/responses/bulk", json={"responses": []})
    assert request.url.params["mode"] == "history"
    result = CliRunner().invoke(app, ["tag", "in.csv", "-o", "out.csv", "--history"])
    assert result.exit_code == 2 and "--history needs --to-service" in result.output
