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
