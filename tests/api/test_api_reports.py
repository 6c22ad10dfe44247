"""Report digests (JSON, HTML with the chart inline, PDF), the ``nps-nlp report`` command, subscriptions and the
e-mail schedule received on a local SMTP server (fake pipeline)."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import auth, new_key
from sqlalchemy import update

from api.db.models import Alert

WEEK = "2026-11-25T12:00:00Z"  # inside the week of Monday 2026-11-23


def _answers(team, ts, promoters, passives, detractors, tag):
    texts = ([(10, "Friendly staff, great help")] * promoters + [(7, "ok <b>fine</b>")] * passives
             + [(2, "The invoice was wrong and the app is slow")] * detractors)
    return [{"external_id": f"{tag}-{i}", "score": s, "text": t, "timestamp": ts, "segments": {"team": team, "channel": "email"}}
            for i, (s, t) in enumerate(texts)]


def _seed(c, h):
    rows = (_answers("north", "2026-11-17T10:00:00Z", 10, 10, 20, "n-prev") + _answers("north", WEEK, 25, 10, 5, "n-now")
            + _answers("south", WEEK, 5, 5, 5, "s-now") + _answers("north", "2026-11-24T09:00:00Z", 0, 0, 1, "n-late")
            + [{"external_id": "urgent-1", "score": 0, "text": "The site is down again and I am cancelling <script>x</script>",
                "timestamp": WEEK, "segments": {"team": "north"}}])
    assert c.post("/v1/responses/bulk", headers=h, json={"responses": rows}).status_code == 200
    with c.app.state.nps.db.session() as s:  # every alert two days past its due time
        s.execute(update(Alert).values(due_at=datetime.now(UTC) - timedelta(hours=50)))


@pytest.fixture
def svc(client, admin):
    _seed(client, admin)
    return client, auth(new_key(client, "read", name="lead"))


def test_digest_json_has_the_week_its_change_and_what_to_do(svc):
    c, h = svc
    r = c.get("/v1/reports/digest", params={"period": "week", "team": "north", "at": WEEK}, headers=h)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["label"] == "week of 2026-11-23" and d["start"].startswith("2026-11-23T00:00:00")
    assert d["nps"]["n"] == 42 and d["nps"]["promoters"] == 25  # 40 + the late detractor + the urgent one
    assert d["change"]["previous"]["n"] == 40 and d["change"]["significant"] and d["change"]["delta"] > 0
    assert len(d["trend"]) == 12 and d["trend"][-1]["period"] == "2026-11-23" and d["trend"][-2]["n"] == 40
    assert d["trend"][0]["nps"] is None and d["trend"][0]["n"] == 0
    themes = [p["theme"] for p in d["action_points"]]
    assert themes and set(themes) <= {"billing_payment", "website_app", "reliability_outages"}
    assert all(p["impact"] < 0 for p in d["action_points"])
    # praise routed to north? no: staff praise belongs to customer-service; north's digest lists none of it
    assert d["praise_count"] == 0
    cs = c.get("/v1/reports/digest", params={"period": "week", "team": "customer-service", "at": WEEK}, headers=h).json()
    assert cs["praise_count"] == 30, (cs["praise_count"], cs["nps"], cs["action_points"])
    assert cs["praise"][0]["evidence"] == "staff"
    company = c.get("/v1/reports/digest", params={"period": "week", "at": WEEK}, headers=h).json()
    assert company["team"] is None and company["nps"]["n"] == 57 and company["overdue_count"] >= 1
    assert company["overdue_alerts"][0]["hours_overdue"] >= 49


def test_digest_html_embeds_the_chart_and_escapes_answers(svc):
    c, h = svc
    r = c.get("/v1/reports/digest/html", params={"period": "week", "at": WEEK}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "NPS weekly digest: company, week of 2026-11-23" in page
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] >= 600
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert "Top action points" in page and "Overdue alerts" in page and "significant" in page


def test_digest_pdf(svc):
    pytest.importorskip("weasyprint")
    c, h = svc
    r = c.get("/v1/reports/digest/pdf", params={"period": "month", "team": "north", "at": WEEK}, headers=h)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] == 'attachment; filename="north_2026-11.pdf"'


def test_digest_bad_input(svc):
    c, h = svc
    assert c.get("/v1/reports/digest", params={"period": "quarter"}, headers=h).status_code == 422
    assert c.get("/v1/reports/digest", params={"tz": "Nowhere/Land"}, headers=h).status_code == 422
    assert c.get("/v1/reports/digest").status_code == 401


def test_report_command_writes_html_and_pdf(svc, tmp_path):
    from typer.testing import CliRunner

    from nps_nlp.cli import app

    c, _ = svc
    url = c.app.state.nps.db.url
    runner = CliRunner()
    page = tmp_path / "north.html"
    r = runner.invoke(app, ["report", "--period", "week", "--team", "north", "--at", "2026-11-25", "--format", "html",
                            "--out", str(page), "--database-url", url])
    assert r.exit_code == 0, r.output
    html = page.read_text(encoding="utf-8")
    assert "NPS weekly digest: north, week of 2026-11-23" in html and "data:image/png;base64," in html
    assert "42 answers" in html
    r = runner.invoke(app, ["report", "--period", "month", "--at", "2026-11-25", "--database-url", url])
    assert r.exit_code == 0 and "NPS monthly digest: company, 2026-11" in r.output
    if pytest.importorskip("weasyprint"):
        pdf = tmp_path / "company.pdf"
        r = runner.invoke(app, ["report", "--format", "pdf", "--out", str(pdf), "--at", "2026-11-25", "--database-url", url])
        assert r.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
    r = runner.invoke(app, ["report", "--format", "pdf", "--database-url", url])
    assert r.exit_code == 2 and "--out" in r.output
    r = runner.invoke(app, ["report", "--tz", "Mars/Base", "--database-url", url])
    assert r.exit_code == 2 and "time zone" in r.output


# -- subscriptions and e-mail ------------------------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps every message and lets a test wait for them."""

    def __init__(self) -> None:
        import threading

        self.messages: list = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        import email
        import email.policy

        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append((envelope.rcpt_tos, message))
            self.cond.notify_all()
        return "250 OK"

    def wait(self, n: int, timeout: float = 60) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.messages) >= n, timeout)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    port = _free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _mail_settings(c, port, **extra):
    return c.app.state.nps.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                                                       "smtp_from": "nps@example.com", **extra})


def test_subscriptions_are_managed_by_admins(client, admin):
    c = client
    r = c.post("/v1/reports/subscriptions", json={"email": "lead@example.com", "period": "week", "team": "north"}, headers=admin)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["team"] == "north" and sub["created_by"] == "admin"
    assert c.post("/v1/reports/subscriptions", json={"email": "LEAD@example.com", "period": "week", "team": "north"},
                  headers=admin).status_code == 409
    assert c.post("/v1/reports/subscriptions", json={"email": "lead@example.com", "period": "week"}, headers=admin).status_code == 201
    for bad in ({"email": "not-an-address", "period": "week"}, {"email": "a@b.c", "period": "year"},
                {"email": "Lead <lead@example.com>", "period": "day"}, {"email": "a@b.com", "period": "day", "cc": "x"}):
        assert c.post("/v1/reports/subscriptions", json=bad, headers=admin).status_code == 422, bad
    assert [s["team"] for s in c.get("/v1/reports/subscriptions", headers=admin).json()] == ["north", None]
    assert c.get("/v1/reports/subscriptions", params={"team": "north"}, headers=admin).json()[0]["id"] == sub["id"]
    reader = auth(new_key(c, "read", name="lead"))
    assert c.get("/v1/reports/subscriptions", headers=reader).status_code == 403
    assert c.delete(f"/v1/reports/subscriptions/{sub['id']}", headers=admin).json()["email"] == "lead@example.com"
    assert c.delete(f"/v1/reports/subscriptions/{sub['id']}", headers=admin).status_code == 404
    r = c.post("/v1/reports/run", headers=admin)
    assert r.status_code == 409 and "NPS_SMTP_HOST" in r.json()["detail"]


def test_digests_are_mailed_once_with_the_chart_inline(make_client, db_url, smtp):
    from api.services.scheduler import DigestScheduler

    inbox, port = smtp
    c = make_client(db_url)
    admin = auth(new_key(c, "admin", name="ops"))
    _seed(c, admin)
    for body in ({"email": "north@example.com", "period": "week", "team": "north"}, {"email": "cx@example.com", "period": "month"}):
        assert c.post("/v1/reports/subscriptions", json=body, headers=admin).status_code == 201
    db = c.app.state.nps.db
    scheduler = DigestScheduler(db, _mail_settings(c, port))
    monday = datetime(2026, 11, 30, 8, tzinfo=UTC)  # after 07:00: last week's digest is due, and October's
    result = scheduler.run_due(monday)
    assert (result.sent, result.failed, result.skipped) == (2, 0, 0)
    assert inbox.wait(2)
    by_to = {to[0]: m for to, m in inbox.messages}
    north = by_to["north@example.com"]
    assert north["Subject"] == "NPS weekly digest: north, week of 2026-11-23" and north["From"] == "nps@example.com"
    assert by_to["cx@example.com"]["Subject"] == "NPS monthly digest: company, 2026-10"
    html = north.get_body(("html",)).get_content()
    assert 'src="cid:nps-chart@nps-nlp"' in html and "Top action points" in html and "42 answers" in html
    assert "significant" in html
    images = [p for p in north.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<nps-chart@nps-nlp>"
    assert images[0].get_content().startswith(b"\x89PNG")
    assert "NPS +" in north.get_body(("plain",)).get_content()
    # the same run again, or after a restart: nothing is sent twice
    assert scheduler.run_due(monday + timedelta(hours=3)).skipped == 2
    assert DigestScheduler(db, _mail_settings(c, port)).run_due(monday).sent == 0
    assert len(inbox.messages) == 2
    sent = c.get("/v1/reports/sent", headers=admin).json()
    assert sorted((s["email"], s["status"], s["team"]) for s in sent) == [("cx@example.com", "sent", None),
                                                                           ("north@example.com", "sent", "north")]
    # a week on: this week's and November's digests are due
    result = scheduler.run_due(monday + timedelta(days=7))
    assert result.sent == 2 and inbox.wait(4)
    assert {m["Subject"] for _, m in inbox.messages[2:]} == {"NPS weekly digest: north, week of 2026-11-30",
                                                             "NPS monthly digest: company, 2026-11"}


def test_a_failed_send_is_retried_and_recorded(client, admin, smtp):
    from api.services.scheduler import DigestScheduler

    inbox, port = smtp
    c = client
    assert c.post("/v1/reports/subscriptions", json={"email": "a@example.com", "period": "day"}, headers=admin).status_code == 201
    db = c.app.state.nps.db
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    down = DigestScheduler(db, _mail_settings(c, _free_port(), report_retry_s=0))  # nothing listens there
    assert down.run_due(now).failed == 1
    row = c.get("/v1/reports/sent", headers=admin).json()[0]
    assert row["status"] == "failed" and row["attempts"] == 1 and "Error" in row["error"]
    assert DigestScheduler(db, _mail_settings(c, port, report_retry_s=3600)).run_due(now).sent == 0  # not yet
    assert DigestScheduler(db, _mail_settings(c, port, report_max_attempts=1, report_retry_s=0)).run_due(now).sent == 0
    up = DigestScheduler(db, _mail_settings(c, port, report_retry_s=0))
    assert up.run_due(now).sent == 1 and inbox.wait(1)
    row = c.get("/v1/reports/sent", headers=admin).json()[0]
    assert row["status"] == "sent" and row["attempts"] == 2 and row["error"] is None
    assert inbox.messages[0][1]["Subject"] == "NPS daily digest: company, 2026-12-01"


def test_the_service_runs_the_schedule(make_client, sqlite_url, smtp):
    inbox, port = smtp
    c = make_client(sqlite_url, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="nps@example.com")
    h = auth(new_key(c, "admin", name="ops"))
    assert c.app.state.digests is not None
    r = c.post("/v1/reports/subscriptions", json={"email": "ops@example.com", "period": "day"}, headers=h)
    assert r.status_code == 201
    assert inbox.wait(1)  # the new subscription woke the schedule: the latest due daily digest went out
    assert inbox.messages[0][1]["Subject"].startswith("NPS daily digest: company, ")
    r = c.post("/v1/reports/run", headers=h)
    assert r.status_code == 200 and r.json() == {"sent": 0, "failed": 0, "skipped": 1}


def test_due_times():
    from api.services.scheduler import due_window, next_due, send_time

    oslo = "Europe/Oslo"
    w = due_window("day", datetime(2026, 12, 7, 5, 59, tzinfo=UTC), oslo, 7)  # 06:59 in Oslo: yesterday's not yet
    assert w.label() == "2026-12-05" and send_time(w, 7) == datetime(2026, 12, 6, 6, tzinfo=UTC)
    assert due_window("day", datetime(2026, 12, 7, 6, 0, tzinfo=UTC), oslo, 7).label() == "2026-12-06"
    assert due_window("week", datetime(2026, 12, 7, 6, 0, tzinfo=UTC), oslo, 7).label() == "week of 2026-11-30"
    assert due_window("month", datetime(2026, 12, 1, 5, 0, tzinfo=UTC), oslo, 7).label() == "2026-10"
    assert next_due(["week", "month"], datetime(2026, 12, 2, tzinfo=UTC), "UTC", 7) == datetime(2026, 12, 7, 7, tzinfo=UTC)
    assert next_due(["day"], datetime(2026, 12, 2, 6, tzinfo=UTC), "UTC", 7) == datetime(2026, 12, 2, 7, tzinfo=UTC)
    assert next_due([], datetime(2026, 12, 2, tzinfo=UTC), "UTC", 7) is None


def test_digests_in_dutch_and_norwegian(svc):
    from api.services.mailer import digest_message
    from api.services.reports import build_digest, strings

    c, h = svc
    page = c.get("/v1/reports/digest/html", params={"period": "week", "at": WEEK, "locale": "nl"}, headers=h).text
    assert "NPS-weekoverzicht: hele bedrijf, week van 2026-11-23" in page and '<html lang="nl">' in page
    assert "Belangrijkste actiepunten" in page and "punten, significant" in page and "Top action points" not in page
    assert re.search(r'id="nps">[+-]\d+,\d<', page)  # a decimal comma
    assert c.get("/v1/reports/digest/html", params={"locale": "de"}, headers=h).status_code == 422
    with c.app.state.nps.db.session() as s:
        digest = build_digest(s, "week", "north", at=datetime(2026, 11, 25, tzinfo=UTC))
    message = digest_message(digest, "nps@example.com", "leder@example.no", locale="nb")
    assert message["Subject"] == "NPS-ukesrapport: north, uke fra 2026-11-23"
    assert "Viktigste tiltakspunkter" in message.get_body(("html",)).get_content()
    assert "poeng fra perioden før (signifikant)" in message.get_body(("plain",)).get_content()
    assert set(strings("en")) == set(strings("nl")) == set(strings("no"))
    with pytest.raises(ValueError, match="digests are written in"):
        strings("sv")
    r = c.post("/v1/reports/subscriptions", json={"email": "a@example.com", "period": "week", "locale": "nb"},
               headers=auth(new_key(c, "admin")))
    assert r.status_code == 201 and r.json()["locale"] == "nb"


def test_pdf_without_weasyprint_names_the_extra(svc, monkeypatch):
    import sys

    c, h = svc
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if the pdf extra were not installed
    r = c.get("/v1/reports/digest/pdf", params={"at": WEEK}, headers=h)
    assert r.status_code == 501 and "nps-nlp[pdf]" in r.json()["detail"]
