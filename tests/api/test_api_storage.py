"""Ingest, alerts, NPS, action points and teams against SQLite and PostgreSQL (fake pipeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import auth, new_key

from nps_nlp.nps import nps, nps_change


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url)
    return c, auth(new_key(c, "admin", name="ops"))


def _resp(ext, score, text, ts=None, **segments):
    item = {"external_id": ext, "score": score, "text": text, "segments": segments}
    if ts:
        item["timestamp"] = ts
    return item


def test_migrations_match_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db import Base, Database, migrate

    db = Database(db_url)
    migrate(db)
    migrate(db)  # idempotent
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_single_ingest_is_idempotent(svc):
    c, h = svc
    body = _resp("r-1", 2, "The invoice was wrong again, I am cancelling", "2024-05-01T10:00:00+02:00",
                 team="north", channel="email")
    body["customer_id"] = "acct-1"
    r1 = c.post("/v1/responses", json=body, headers=h)
    assert r1.status_code == 201, r1.text
    stored = r1.json()["response"]
    assert stored["timestamp"].startswith("2024-05-01T08:00:00")  # stored as UTC
    assert stored["segments"]["team"] == "north" and stored["customer_id"] == "acct-1"
    assert stored["urgent"] and stored["alert_id"] is not None
    r2 = c.post("/v1/responses", json=body, headers=h)
    assert r2.status_code == 200 and r2.json()["status"] == "duplicate"
    assert r2.json()["response"]["id"] == stored["id"] and r2.json()["response"]["text"] == body["text"]
    r3 = c.post("/v1/responses", json={**body, "text": "changed", "score": 3}, headers=h)
    assert r3.status_code == 409 and r3.json()["problems"] == ["score: differs from the stored response",
                                                               "text: differs from the stored response"]
    assert "PUT /v1/responses/" in r3.json()["detail"]
    assert c.get("/v1/responses", headers=h).json()["total"] == 1
    assert len(c.get("/v1/alerts", headers=h).json()["items"]) == 1
    assert c.get("/v1/responses/r-1", headers=h).json()["analysis"]["band"] == "detractor"
    assert c.get("/v1/responses/nope", headers=h).status_code == 404


@pytest.mark.parametrize(("patch", "needle"), [
    ({"score": 11}, "score"), ({"score": "ten"}, "score"), ({"timestamp": "yesterday"}, "not ISO-8601"),
    ({"timestamp": "2024-13-01T00:00:00"}, "not ISO-8601"), ({"segments": {"region": "x"}}, "unknown segment field(s) ['region']"),
    ({"external_id": ""}, "external_id"), ({"text": "x" * 301}, "over the limit of 300"),
])
def test_single_ingest_bad_input(make_client, sqlite_url, patch, needle):
    c = make_client(sqlite_url, require_auth=False, max_text_chars=300)
    r = c.post("/v1/responses", json={**_resp("x", 5, "ok"), **patch})
    assert r.status_code == 422, r.text
    assert needle in " ".join(r.json()["problems"]) + r.json()["detail"]


def test_bulk_ingest_reports_per_item_and_keeps_the_good_ones(svc):
    c, h = svc
    items = [_resp(f"b-{i}", i % 11, f"answer {i} about the app", "2024-05-02T12:00:00Z") for i in range(30)]
    items[3]["score"] = 12
    items[7]["timestamp"] = "02/05/2024"
    items[9]["segments"] = {"shop": "A"}
    items[11] = "not an object"
    items[12] = dict(items[0])  # duplicate inside the request
    r = c.post("/v1/responses/bulk", json={"responses": items}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (25, 1, 4)
    results = body["results"]
    assert [x["index"] for x in results] == list(range(30))
    assert results[3]["status"] == "error" and "score" in results[3]["error"]
    assert results[7]["status"] == "error" and "ISO-8601" in results[7]["error"]
    assert results[9]["status"] == "error" and "shop" in results[9]["error"]
    assert results[11]["status"] == "error" and results[11]["external_id"] is None
    assert results[12]["status"] == "duplicate" and results[12]["id"] == results[0]["id"]
    again = c.post("/v1/responses/bulk", json={"responses": items[:3]}, headers=h).json()
    assert again["duplicates"] == 3 and [x["id"] for x in again["results"]] == [x["id"] for x in results[:3]]
    assert c.get("/v1/responses?limit=1", headers=h).json()["total"] == 25


def test_bulk_limits_and_scope(make_client, sqlite_url):
    c = make_client(sqlite_url, max_bulk=3)
    classify_only = auth(new_key(c, "classify"))
    assert c.post("/v1/responses/bulk", json={"responses": [_resp("a", 1, "x")]}, headers=classify_only).status_code == 403
    ingest = auth(new_key(c, "ingest"))
    r = c.post("/v1/responses/bulk", json={"responses": [_resp(str(i), 1, "x") for i in range(4)]}, headers=ingest)
    assert r.status_code == 413 and "NPS_MAX_BULK" in r.json()["detail"]
    assert c.get("/v1/nps", headers=ingest).status_code == 403


def test_nps_overall_by_segment_and_period(svc):
    c, h = svc
    rows = []
    # April: team a 9,9,3 ; team b 7,10 -- May: team a 2,2,8 ; team b 9,9,9,1
    for ts, team, scores in (("2024-04-10T09:00:00Z", "a", [9, 9, 3]), ("2024-04-20T09:00:00Z", "b", [7, 10]),
                             ("2024-05-03T09:00:00Z", "a", [2, 2, 8]), ("2024-05-28T09:00:00Z", "b", [9, 9, 9, 1])):
        rows += [(ts, team, s) for s in scores]
    items = [_resp(f"n-{i}", s, "fine", ts, team=team, country="NO") for i, (ts, team, s) in enumerate(rows)]
    assert c.post("/v1/responses/bulk", json={"responses": items}, headers=h).json()["created"] == len(items)
    body = c.get("/v1/nps?period=month&by=team", headers=h).json()
    all_scores = [s for _, _, s in rows]
    assert body["overall"]["nps"] == pytest.approx(nps(all_scores).nps)
    assert body["overall"]["ci_low"] == pytest.approx(nps(all_scores).ci_low)
    april, may = body["trend"]
    assert april["period"] == "2024-04-01" and may["period"] == "2024-05-01"
    expected = nps_change([s for t, _, s in rows if t >= "2024-05"], [s for t, _, s in rows if t < "2024-05"])
    assert body["change"]["delta"] == pytest.approx(expected.delta)
    assert body["change"]["p_value"] == pytest.approx(expected.p_value)
    assert body["change"]["significant"] is expected.significant
    seg = {s["value"]: s for s in body["segments"]}
    assert seg["a"]["summary"]["nps"] == pytest.approx(nps([9, 9, 3, 2, 2, 8]).nps)
    assert seg["b"]["summary"]["nps"] == pytest.approx(nps([7, 10, 9, 9, 9, 1]).nps)
    # filters: one segment and a time window
    only_b_may = c.get("/v1/nps?team=b&since=2024-05-01T00:00:00Z&until=2024-06-01T00:00:00Z", headers=h).json()
    assert only_b_may["overall"]["n"] == 4 and only_b_may["overall"]["nps"] == pytest.approx(50.0)
    weekly = c.get("/v1/nps?period=week", headers=h).json()
    assert len(weekly["trend"]) == 4 and weekly["trend"][0]["period"] == "2024-04-08"
    assert c.get("/v1/nps?by=region", headers=h).status_code == 422
    assert c.get("/v1/nps?period=year", headers=h).status_code == 422
    assert c.get("/v1/nps?country=SE", headers=h).json()["overall"]["nps"] is None


def test_action_points_teams_and_assignments(svc):
    c, h = svc
    texts = [("The invoice was wrong", 2), ("invoice wrong again", 3), ("Great staff", 10), ("friendly staff", 9),
             ("the app is slow", 6), ("great app", 9), ("nothing to add", 8), ("Great staff, invoice fine", 7)]
    items = [_resp(f"ap-{i}", s, t, "2024-05-05T10:00:00Z") for i, (t, s) in enumerate(texts)]
    c.post("/v1/responses/bulk", json={"responses": items}, headers=h)
    body = c.get("/v1/action-points?min_count=1", headers=h).json()
    assert body["n"] == 8
    by_theme = {p["theme"]: p for p in body["items"]}
    billing = by_theme["billing_payment"]
    # hand computation: billing is in answers 0, 1, 7 (scores 2, 3, 7); without them: 10, 9, 6, 9, 8
    assert billing["count"] == 3 and billing["team"] == "finance"
    assert billing["nps_with"] == pytest.approx(nps([2, 3, 7]).nps, abs=1e-3)
    assert billing["nps_without"] == pytest.approx(nps([10, 9, 6, 9, 8]).nps, abs=1e-3)
    assert billing["impact"] == pytest.approx(nps([s for _, s in texts]).nps - nps([10, 9, 6, 9, 8]).nps, abs=1e-3)
    assert body["items"][0]["impact"] <= body["items"][-1]["impact"]  # most harmful first
    assert billing["quotes"][0]["sentiment"] == "negative"
    passives = c.get("/v1/action-points/passives?min_count=1", headers=h).json()
    assert passives["passives"] == 2
    # assign the action point, then follow it up
    due = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = c.post("/v1/action-points/billing_payment/assignments", json={"owner": "kari", "due_at": due, "title": "Fix invoices"},
               headers=h)
    assert r.status_code == 201 and r.json()["team"] == "finance" and r.json()["overdue"] is True
    item_id = r.json()["id"]
    assert c.post("/v1/action-points/nope/assignments", json={"owner": "x"}, headers=h).status_code == 404
    again = c.get("/v1/action-points?min_count=1", headers=h).json()
    assert [a["owner"] for a in {p["theme"]: p for p in again["items"]}["billing_payment"]["assignments"]] == ["kari"]
    teams = {t["team"]: t for t in c.get("/v1/teams", headers=h).json()["items"]}
    assert teams["finance"]["problems"] == 2 and teams["finance"]["open_action_items"] == 1
    assert teams["finance"]["overdue_action_items"] == 1
    assert teams["customer-service"]["praise"] == 3
    r = c.patch(f"/v1/action-items/{item_id}", json={"status": "in_progress", "progress": 40, "note": "vendor called"}, headers=h)
    assert r.json()["status"] == "in_progress" and r.json()["progress"] == 40 and r.json()["notes"][-1]["note"] == "vendor called"
    r = c.patch(f"/v1/action-items/{item_id}", json={"status": "done"}, headers=h)
    assert r.json()["progress"] == 100 and r.json()["overdue"] is False
    assert c.get("/v1/action-items?status=done", headers=h).json()[0]["id"] == item_id
    feed = c.get("/v1/teams/customer-service/feed?kind=praise", headers=h).json()
    assert feed["total"] == 3 and {i["kind"] for i in feed["items"]} == {"praise"}
    assert c.get("/v1/teams/finance/feed?kind=problem", headers=h).json()["total"] == 2


def test_alert_lifecycle_with_history(svc):
    c, h = svc
    c.post("/v1/responses/bulk", headers=h, json={"responses": [
        _resp("u-1", 1, "The site is down again and I am cancelling"),
        _resp("u-2", 8, "ok service"), _resp("u-3", 9, "Great staff, one of them got injured though")]})
    alerts = c.get("/v1/alerts", headers=h).json()["items"]
    # an injury is critical and comes first; an outage with a churn threat needs an alert within the day
    assert [a["external_id"] for a in alerts] == ["u-3", "u-1"]
    alert = alerts[1]
    assert alert["status"] == "new" and alert["level"] == "high" and alert["team"] == "it-operations"
    created = datetime.fromisoformat(alert["created_at"])
    assert datetime.fromisoformat(alert["due_at"]) - created == timedelta(hours=48)
    r = c.patch(f"/v1/alerts/{alert['id']}", json={"owner": "ola"}, headers=h)
    assert r.json()["status"] == "assigned" and r.json()["owner"] == "ola"
    r = c.patch(f"/v1/alerts/{alert['id']}", json={"status": "contacted", "note": "called back"}, headers=h)
    r = c.patch(f"/v1/alerts/{alert['id']}", json={"status": "resolved"}, headers=h)
    history = r.json()["history"]
    assert [e["kind"] for e in history] == ["created", "owner", "status", "status", "note", "status"]
    assert history[-1]["old"] == "contacted" and history[-1]["new"] == "resolved" and history[-1]["actor"] == "ops"
    assert c.patch(f"/v1/alerts/{alert['id']}", json={"status": "closed"}, headers=h).status_code == 422
    assert c.patch(f"/v1/alerts/{alert['id']}", json={}, headers=h).status_code == 422
    assert c.patch("/v1/alerts/9999", json={"status": "resolved"}, headers=h).status_code == 404
    # follow-up needs the triage scope: a dashboard's read key sees alerts but cannot change them
    reader, triage = auth(new_key(c, "read", name="dash")), auth(new_key(c, "triage", name="agent"))
    assert c.get(f"/v1/alerts/{alert['id']}", headers=reader).status_code == 200
    r = c.patch(f"/v1/alerts/{alert['id']}", json={"note": "seen"}, headers=reader)
    assert r.status_code == 403 and "'triage' scope" in r.json()["detail"]
    assert c.post("/v1/action-points/billing_payment/assignments", json={"owner": "x"}, headers=reader).status_code == 403
    r = c.patch(f"/v1/alerts/{alert['id']}", json={"note": "seen"}, headers=triage)
    assert r.status_code == 200 and r.json()["history"][-1]["actor"] == "agent"
    assert c.get("/v1/alerts", headers=triage).status_code == 403  # triage alone does not read the queue
    assert all(a["status"] != "resolved" for a in c.get("/v1/alerts?open_only=true", headers=h).json()["items"])
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    others = c.get("/v1/alerts?open_only=true", headers=h).json()["items"]
    assert [a["external_id"] for a in others] == ["u-3"]  # safety cue: urgent even from a promoter
    assert c.get("/v1/alerts?overdue=true", headers=h).json()["items"] == []
    c.patch(f"/v1/alerts/{others[0]['id']}", json={"due_at": past}, headers=h)
    assert [a["id"] for a in c.get("/v1/alerts?overdue=true", headers=h).json()["items"]] == [others[0]["id"]]
    assert {t["team"]: t for t in c.get("/v1/teams", headers=h).json()["items"]}[others[0]["team"] or "unassigned"][
        "overdue_alerts"] == 1


def test_concurrent_writer_race_turns_into_duplicates_without_double_alerts(db_url):
    """Another request stored an id between our duplicate check and our insert: the unique constraint
    catches it, that item becomes a duplicate, the others are still stored, and no alert is made twice."""
    from api_fakes import FakePipeline
    from sqlalchemy import func, select

    from api.db import Alert, Database, OutboxEvent, Response, migrate
    from api.schemas.responses import ResponseIn
    from api.services import store
    from api.settings import ServiceSettings

    db = Database(db_url)
    migrate(db)
    settings = ServiceSettings(database_url=db_url, webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret="x")
    items = [ResponseIn(external_id=f"race-{i}", score=1, text="The site is down, I am cancelling") for i in range(3)]
    answers = FakePipeline().analyze([i.text for i in items], [i.score for i in items])
    with db.session() as s:  # the "other request" wins the race for race-1
        assert store.store(s, items[1:2], answers[1:2], "m", settings) == [("created", 1, [])]
    with db.session() as s:
        out = store.store(s, items, answers, "m", settings)
    assert [o.status for o in out] == ["created", "duplicate", "created"]
    assert out[1].id == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 3
        assert s.scalar(select(func.count()).select_from(Alert)) == 3
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 3
    db.dispose()


def test_bulk_accepts_what_the_batch_tagger_uploads(make_client, sqlite_url):
    """The contract with ``nps-nlp tag --to-service``: its bulk items are accepted as they are."""
    import pandas as pd

    batch_upload = pytest.importorskip("nps_nlp.batch._upload")
    from nps_nlp.batch._rows import ColumnMap

    columns = ColumnMap(text="comment", id="rid", timestamp="ts", customer="acct", segments={"team": "grp", "country": "land"})
    rows = [{"rid": 1, "comment": "De factuur klopt niet", "nps_score": 3.0, "nps_lang": "nl", "ts": pd.Timestamp("2024-05-01 10:00"),
             "acct": "a-1", "grp": "north", "land": "NL"},
            {"rid": 2, "comment": "🙂", "nps_score": 10, "nps_lang": "und", "ts": "2024-05-02T10:00:00Z", "acct": None,
             "grp": None, "land": None},
            {"rid": 3, "comment": "Sehr gut", "nps_score": 9.0, "nps_lang": "other", "ts": None, "acct": "a-2", "grp": "south",
             "land": "DE"}]
    payload = [batch_upload.response_payload(row, columns) for row in rows]
    c = make_client(sqlite_url, require_auth=False)
    body = c.post("/v1/responses/bulk", json={"responses": payload}).json()
    assert (body["created"], body["errors"]) == (3, 0), body
    stored = c.get("/v1/responses/1").json()
    assert stored["segments"]["team"] == "north" and stored["customer_id"] == "a-1" and stored["timestamp"].startswith("2024-05-01T10:00")


def test_a_failed_request_leaves_nothing_behind(db_url):
    """Stored rows, alerts and events live in the request's transaction: an error after storing undoes them
    (on SQLite this needs SQLAlchemy to own BEGIN, or releasing the first savepoint would commit)."""
    from api_fakes import FakePipeline
    from sqlalchemy import func, select

    from api.db import Alert, Database, Response, migrate
    from api.schemas.responses import ResponseIn
    from api.services import store
    from api.settings import ServiceSettings

    db = Database(db_url)
    migrate(db)
    items = [ResponseIn(external_id="tx-1", score=0, text="The site is down, I am cancelling")]
    answers = FakePipeline().analyze([items[0].text], [0])
    with pytest.raises(RuntimeError), db.session() as s:
        assert store.store(s, items, answers, "m", ServiceSettings(database_url=db_url))[0][0] == "created"
        raise RuntimeError("later step failed")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 0
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
    db.dispose()


def test_concurrent_ingest_with_auth(svc):
    """Parallel clients (with key checks that write last_used_at) never see a 5xx or lose a response."""
    from concurrent.futures import ThreadPoolExecutor

    c, h = svc

    def post(i: int) -> int:
        n = i % 40  # each id is sent twice with the same content
        body = _resp(f"cc-{n}", n % 11, "The invoice was wrong, I am cancelling" if n % 3 else "great staff")
        return c.post("/v1/responses", json=body, headers=h).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, range(80)))
    assert set(statuses) <= {200, 201} and statuses.count(201) == 40
    assert c.get("/v1/responses?limit=1", headers=h).json()["total"] == 40
