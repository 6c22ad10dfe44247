"""Survey quarantine: contact rules, the log of surveys sent, the eligibility check (API and CLI) and the
``quarantine_breach`` flag on answers collected against the rules."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import auth, new_key

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _t(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url)
    return c, auth(new_key(c, "admin", name="ops")), db_url


def _check(c, h, ids, **extra):
    r = c.post("/v1/surveys/eligibility", json={"customer_ids": ids, "at": NOW.isoformat(), **extra}, headers=h)
    assert r.status_code == 200, r.text
    return {v["customer_id"]: v for v in r.json()["results"]}


def test_eligibility_applies_every_rule_with_reasons_and_dates(svc):
    c, h, _ = svc
    sent = [{"customer_id": "recent", "sent_at": _t(10), "channel": "email"},
            {"customer_id": "long-ago", "sent_at": _t(200)},
            *({"customer_id": "frequent", "sent_at": _t(d)} for d in (350, 250, 150, 100))]
    assert c.post("/v1/surveys/sent", json={"surveys": sent}, headers=h).json() == {"logged": 6}
    c.post("/v1/responses/bulk", headers=h, json={"responses": [
        {"external_id": "d-1", "score": 3, "text": "meh", "customer_id": "detractor", "timestamp": _t(100)},
        {"external_id": "d-2", "score": 8, "text": "fine", "customer_id": "detractor", "timestamp": _t(95)},
        {"external_id": "u-1", "score": 1, "text": "The site is down and I am cancelling", "customer_id": "alerted",
         "timestamp": _t(200)},
    ]})
    # the complaint rule reaches further than the survey rule here
    c.put("/v1/surveys/rules", headers=h, json={"rules": [{"channel": "*", "survey_days": 90, "complaint_days": 120,
                                                           "max_per_year": 4}]})
    out = _check(c, h, ["recent", "long-ago", "frequent", "detractor", "alerted", "unknown", "recent"])
    assert list(out) == ["recent", "long-ago", "frequent", "detractor", "alerted", "unknown"]  # distinct, in order
    assert out["recent"]["reasons"] == ["recent_survey"] and not out["recent"]["eligible"]
    assert out["recent"]["eligible_from"].startswith((NOW + timedelta(days=80)).date().isoformat())
    assert "90 days" in out["recent"]["reason"]
    assert out["long-ago"]["eligible"] and out["unknown"]["eligible"] and out["unknown"]["reasons"] == []
    assert out["frequent"]["reasons"] == ["yearly_limit"]  # the last one was 100 days ago: the gap is fine
    assert out["frequent"]["eligible_from"].startswith((NOW + timedelta(days=15)).date().isoformat())
    assert out["detractor"]["reasons"] == ["recent_complaint"]
    assert out["detractor"]["eligible_from"].startswith((NOW + timedelta(days=20)).date().isoformat())
    alerted = out["alerted"]
    assert alerted["reasons"] == ["open_alert"] and alerted["eligible_from"] is None
    # resolving the alert lifts it
    alert_id = c.get("/v1/responses/u-1", headers=h).json()["alert_id"]
    assert c.patch(f"/v1/alerts/{alert_id}", json={"status": "resolved"}, headers=h).status_code == 200
    assert _check(c, h, ["alerted"])["alerted"]["eligible"]


def test_a_channel_rule_replaces_the_default_for_its_channel(svc):
    c, h, _ = svc
    c.post("/v1/surveys/sent", headers=h, json={"surveys": [{"customer_id": "a", "channel": "email", "sent_at": _t(10)},
                                                           {"customer_id": "b", "channel": "sms", "sent_at": _t(10)}]})
    r = c.put("/v1/surveys/rules", headers=h, json={"rules": [
        {"channel": "sms", "survey_days": 7, "complaint_days": 30, "max_per_year": 6}]})
    assert r.status_code == 200
    rules = {x["channel"]: x for x in r.json()["rules"]}
    assert rules["*"]["source"] == "settings" and rules["sms"]["source"] == "stored"
    sms = _check(c, h, ["a", "b"], channel="sms")
    assert sms["a"]["eligible"] and sms["b"]["eligible"]  # 10 days > 7, and a's email survey is not an sms one
    email = _check(c, h, ["a", "b"], channel="email")
    assert not email["a"]["eligible"] and not email["b"]["eligible"]  # the * rule counts every channel


def test_ingest_flags_answers_collected_against_the_rules(svc):
    c, h, _ = svc
    # a logged survey answered an hour later: the answer belongs to it, no breach
    c.post("/v1/surveys/sent", headers=h, json={"surveys": [{"customer_id": "k", "sent_at": _t(300)}]})
    first = c.post("/v1/responses", headers=h, json={"external_id": "k-1", "score": 9, "text": "great staff",
                                                     "customer_id": "k", "timestamp": _t(299.9)}).json()["response"]
    assert first["quarantine_breach"] is None
    # asked again 5 days later (no survey logged): stored, and flagged
    second = c.post("/v1/responses", headers=h, json={"external_id": "k-2", "score": 9, "text": "still great",
                                                      "customer_id": "k", "timestamp": _t(295)})
    assert second.status_code == 201
    assert second.json()["response"]["quarantine_breach"].startswith("recent_survey:")
    assert c.get("/v1/responses/k-2", headers=h).json()["quarantine_breach"].startswith("recent_survey")
    # two answers of one customer in one bulk request a minute apart: the later is flagged
    body = c.post("/v1/responses/bulk", headers=h, json={"responses": [
        {"external_id": "m-2", "score": 7, "text": "ok", "customer_id": "m", "timestamp": "2026-05-01T10:01:00Z"},
        {"external_id": "m-1", "score": 7, "text": "ok", "customer_id": "m", "timestamp": "2026-05-01T10:00:00Z"},
        {"external_id": "n-1", "score": 7, "text": "ok", "timestamp": "2026-05-01T10:00:00Z"},  # no customer: no rule
    ]}).json()
    assert body["created"] == 3
    flags = {e: c.get(f"/v1/responses/{e}", headers=h).json()["quarantine_breach"] for e in ("m-1", "m-2", "n-1")}
    assert flags["m-1"] is None and flags["n-1"] is None and flags["m-2"].startswith("recent_survey")
    # a detractor answer makes the next survey within 30 days a complaint breach too
    c.post("/v1/responses", headers=h, json={"external_id": "p-1", "score": 2, "text": "bad", "customer_id": "p",
                                             "timestamp": _t(100)})
    late = c.post("/v1/responses", headers=h, json={"external_id": "p-2", "score": 5, "text": "meh",
                                                    "customer_id": "p", "timestamp": _t(80)}).json()["response"]
    assert late["quarantine_breach"].startswith("recent_survey, recent_complaint:")


@pytest.mark.parametrize(("path", "method", "body", "status"), [
    ("/v1/surveys/eligibility", "post", {"customer_ids": []}, 422),
    ("/v1/surveys/eligibility", "post", {"customer_ids": ["x" * 201]}, 422),
    ("/v1/surveys/eligibility", "post", {"customer_ids": ["a\u0000b"]}, 422),
    ("/v1/surveys/eligibility", "post", {"customer_ids": ["a"], "channel": "x", "extra": 1}, 422),
    ("/v1/surveys/eligibility", "post", {"customer_ids": ["a"], "at": "0001-01-01T00:00:00Z"}, 422),
    ("/v1/surveys/sent", "post", {"surveys": [{"channel": "email"}]}, 422),
    ("/v1/surveys/sent", "post", {"surveys": [{"customer_id": "a", "sent_at": "9999-12-31T23:59:59Z"}]}, 422),
    ("/v1/surveys/sent", "post", {"surveys": [{"customer_id": "a", "sent_at": "yesterday"}]}, 422),
    ("/v1/surveys/rules", "put", {"rules": [{"channel": "sms"}, {"channel": "sms"}]}, 422),
    ("/v1/surveys/rules", "put", {"rules": [{"channel": "*", "max_per_year": 0}]}, 422),
])
def test_bad_input_is_a_clear_422(make_client, sqlite_url, path, method, body, status):
    c = make_client(sqlite_url, require_auth=False)
    r = getattr(c, method)(path, json=body)
    assert r.status_code == status and r.json()["detail"]


def test_scopes(make_client, sqlite_url):
    c = make_client(sqlite_url)
    reader = auth(new_key(c, "read", name="reader"))
    assert c.post("/v1/surveys/eligibility", json={"customer_ids": ["a"]}, headers=reader).status_code == 200
    assert c.put("/v1/surveys/rules", json={"rules": []}, headers=reader).status_code == 403
    assert c.post("/v1/surveys/sent", json={"surveys": [{"customer_id": "a"}]}, headers=reader).status_code == 403


def test_cli_checks_a_csv_against_the_database(svc, tmp_path):
    from typer.testing import CliRunner

    from nps_nlp.cli import app

    c, h, url = svc
    c.post("/v1/surveys/sent", headers=h, json={"surveys": [{"customer_id": "c-1", "sent_at": _t(5)}]})
    path = tmp_path / "customers.csv"
    path.write_text("name,customer_id\nAnn,c-1\nBob,c-2\n", encoding="utf-8")
    out = tmp_path / "verdicts.csv"
    result = CliRunner().invoke(app, ["quarantine", "check", str(path), "--database-url", url, "--at", NOW.isoformat(),
                                      "--output", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    assert [(v["customer_id"], v["eligible"], v["reasons"]) for v in verdicts] == [("c-1", False, "recent_survey"),
                                                                                  ("c-2", True, "")]
    with out.open(encoding="utf-8") as f:
        assert [row["eligible"] for row in csv.DictReader(f)] == ["False", "True"]
    sent = tmp_path / "sent.csv"
    sent.write_text(f"customer_id,channel,sent_at\nc-2,email,{_t(1)}\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["quarantine", "log-sent", str(sent), "--database-url", url]).exit_code == 0
    assert not _check(c, h, ["c-2"])["c-2"]["eligible"]
    missing = CliRunner().invoke(app, ["quarantine", "check", str(path), "--column", "nope", "--database-url", url])
    assert missing.exit_code == 2 and "no column nope" in missing.output
