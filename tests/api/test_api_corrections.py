"""Re-sent responses: the same content is an idempotent 200, other content a 409 naming the fields, and
``PUT /v1/responses/{external_id}`` corrects a response (re-tagged, alert and NPS follow, audit entry kept)."""

from __future__ import annotations

import pytest
from conftest import auth, new_key


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url)
    return c, auth(new_key(c, "admin", name="ops"))


def _resp(ext, score, text, **extra):
    return {"external_id": ext, "score": score, "text": text, "timestamp": "2024-05-01T10:00:00Z", **extra}


def test_bulk_reports_conflicts_per_item_and_stores_the_rest(svc):
    c, h = svc
    assert c.post("/v1/responses", json=_resp("k-1", 9, "Great staff"), headers=h).status_code == 201
    body = c.post("/v1/responses/bulk", headers=h, json={"responses": [
        _resp("k-1", 9, "Great staff"),                        # same content: duplicate
        _resp("k-1", 2, "Great staff"),                        # other score: conflict
        _resp("k-2", 5, "ok", segments={"team": "north"}),     # new
        _resp("k-2", 5, "ok", segments={"team": "south"}),     # repeated in the request with another team
        _resp("k-3", 5, "ok", timestamp="0001-01-01T00:00:00+01:00"),  # bad item: error, others stored
    ]}).json()
    assert [r["status"] for r in body["results"]] == ["duplicate", "conflict", "created", "conflict", "error"]
    assert (body["created"], body["duplicates"], body["conflicts"], body["errors"]) == (1, 1, 2, 1)
    assert "score differ" in body["results"][1]["error"] and "PUT /v1/responses/" in body["results"][1]["error"]
    assert "team differ" in body["results"][3]["error"]
    assert c.get("/v1/responses/k-2", headers=h).json()["segments"]["team"] == "north"


def test_a_timestamp_left_out_is_not_a_conflict(svc):
    c, h = svc
    c.post("/v1/responses", json=_resp("t-1", 7, "fine"), headers=h)
    again = {k: v for k, v in _resp("t-1", 7, "fine").items() if k != "timestamp"}
    assert c.post("/v1/responses", json=again, headers=h).status_code == 200


def test_put_corrects_retags_and_keeps_an_audit_entry(svc):
    c, h = svc
    first = c.post("/v1/responses", json=_resp("c/1", 9, "Great staff", customer_id="acct-7"), headers=h).json()
    assert first["response"]["alert_id"] is None
    nps_before = c.get("/v1/nps", headers=h).json()["overall"]["nps"]
    fixed = _resp("c/1", 1, "The site is down and I am cancelling", customer_id="acct-7")
    r = c.put("/v1/responses/c/1", json=fixed, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "corrected" and out["changed"] == ["score", "text"]
    resp = out["response"]
    assert resp["id"] == first["response"]["id"] and resp["band"] == "detractor" and resp["urgent"]
    assert resp["alert_id"] is not None  # became urgent: alert opened
    assert {t["theme"] for t in resp["analysis"]["themes"]} >= {"reliability_outages"}
    [entry] = resp["history"]
    assert entry["kind"] == "corrected" and entry["actor"] == "ops"
    assert entry["changes"]["fields"] == ["score", "text"] and entry["changes"]["old"]["score"] == 9
    assert (nps_before, c.get("/v1/nps", headers=h).json()["overall"]["nps"]) == (100.0, -100.0)
    # the stored response is the corrected one, fetched by an id with a slash
    assert c.get("/v1/responses/c/1", headers=h).json()["text"] == fixed["text"]
    # the same PUT again changes nothing; the POST of the corrected content is now a duplicate
    again = c.put("/v1/responses/c/1", json=fixed, headers=h).json()
    assert again["status"] == "unchanged" and len(again["response"]["history"]) == 1
    assert c.post("/v1/responses", json=fixed, headers=h).status_code == 200


def test_correcting_an_urgent_answer_updates_its_alert(svc):
    c, h = svc
    created = c.post("/v1/responses", json=_resp("a-1", 1, "The site is down and I am cancelling"), headers=h).json()
    alert_id = created["response"]["alert_id"]
    r = c.put("/v1/responses/a-1", json=_resp("a-1", 9, "All good now, great staff"), headers=h)
    assert r.status_code == 200 and not r.json()["response"]["urgent"]
    alert = c.get(f"/v1/alerts/{alert_id}", headers=h).json()
    last = alert["history"][-1]
    assert last["kind"] == "corrected" and last["new"] == r.json()["response"]["urgency_level"]
    assert "score, text" in last["note"] and alert["score"] == 9


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/responses/nope", _resp("nope", 5, "x"), 404),
    ("/v1/responses/a-1", _resp("other", 5, "x"), 422),
    ("/v1/responses/a-1", {**_resp("a-1", 5, "x"), "notes": "y"}, 422),
])
def test_put_refuses_unknown_ids_and_mismatches(make_client, sqlite_url, path, body, status):
    c = make_client(sqlite_url, require_auth=False)
    c.post("/v1/responses", json=_resp("a-1", 5, "x"))
    r = c.put(path, json=body)
    assert r.status_code == status and r.json()["detail"]


def test_put_needs_the_ingest_scope(make_client, sqlite_url):
    c = make_client(sqlite_url)
    reader = auth(new_key(c, "read", name="reader"))
    assert c.put("/v1/responses/a", json=_resp("a", 5, "x"), headers=reader).status_code == 403
