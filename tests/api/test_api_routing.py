"""Ownership and escalation: routing rules, owners on new alerts, alert.overdue and escalation to the team lead,
follow-up time per team, and feeds of teams that exist only as a segment value."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import auth, new_key
from sqlalchemy import select

SECRET = "s3cret-for-tests"
HOOK = "http://127.0.0.1:9/hook"  # nothing listens: events stay in the outbox, where the tests count them


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url, webhook_urls=[HOOK], webhook_secret=SECRET, escalation_poll_s=0)
    return c, auth(new_key(c, "admin", name="ops"))


def _resp(ext, score, text, **segments):
    return {"external_id": ext, "score": score, "text": text, "segments": segments}


def _ingest(c, h, *items):
    r = c.post("/v1/responses/bulk", json={"responses": list(items)}, headers=h)
    assert r.status_code == 200 and r.json()["errors"] == 0, r.text


def _rules(c, h):
    made = []
    for body in ({"priority": 10, "match": {"theme": "billing_payment"}, "team": "finance", "owner": "anna@example.com",
                  "lead": "fin-lead@example.com"},
                 {"priority": 20, "match": {"team": "support-north"}, "team_from": "team", "owner": "kari@example.com",
                  "lead": "lea@example.com"},
                 {"priority": 30, "match": {"channel": "app", "level": "critical"}, "team": "safety"}):
        r = c.post("/v1/routing/rules", json=body, headers=h)
        assert r.status_code == 201, r.text
        made.append(r.json())
    return made


def _alerts(c, h):
    return {a["external_id"]: a for a in c.get("/v1/alerts", params={"limit": 1000}, headers=h).json()["items"]}


def _events(c, event_type):
    from api.db.models import OutboxEvent

    with c.app.state.nps.db.session() as s:
        return [row.payload for row in s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == event_type))]


def test_rule_crud_and_validation(svc):
    c, h = svc
    made = _rules(c, h)
    listed = c.get("/v1/routing/rules", headers=h).json()["items"]
    assert [r["priority"] for r in listed] == [10, 20, 30] and listed[0]["source"] == "api"
    assert listed[1]["match"] == {"team": "support-north"} and listed[1]["team_from"] == "team"
    for body, word in (({"team": "a", "team_from": "team"}, "exactly one"), ({"owner": "x"}, "exactly one"),
                       ({"team": "a", "match": {"colour": "red"}}, "colour"), ({"team": "a", "team_from": "region"}, "team_from"),
                       ({"team": "a", "match": {"level": "urgent"}}, "level")):
        r = c.post("/v1/routing/rules", json=body, headers=h)
        assert r.status_code == 422 and word in r.text, (body, r.text)
    rid = made[1]["id"]
    r = c.patch(f"/v1/routing/rules/{rid}", json={"team": "north-desk"}, headers=h)
    assert r.status_code == 200 and (r.json()["team"], r.json()["team_from"]) == ("north-desk", None)
    assert c.patch(f"/v1/routing/rules/{rid}", json={}, headers=h).status_code == 422
    assert c.patch(f"/v1/routing/rules/{rid}", json={"team": None}, headers=h).status_code == 422
    assert c.delete(f"/v1/routing/rules/{rid}", headers=h).status_code == 204
    assert c.get(f"/v1/routing/rules/{rid}", headers=h).status_code == 404
    reader = auth(new_key(c, "read", name="reader"))
    assert c.get("/v1/routing/rules", headers=reader).status_code == 200
    assert c.post("/v1/routing/rules", json={"team": "a"}, headers=reader).status_code == 403


def test_new_alerts_get_team_and_owner_at_once(svc):
    c, h = svc
    _rules(c, h)
    _ingest(c, h,
            _resp("bill", 2, "The invoice was wrong again, I am cancelling", team="support-north"),  # theme rule first
            _resp("site", 1, "The site is down again and I am cancelling", team="support-north"),  # frontline team
            _resp("other", 1, "The site is down again and I am cancelling", team="support-south"))  # no rule
    alerts = _alerts(c, h)
    assert (alerts["bill"]["team"], alerts["bill"]["owner"], alerts["bill"]["status"]) == ("finance", "anna@example.com", "assigned")
    assert (alerts["site"]["team"], alerts["site"]["owner"]) == ("support-north", "kari@example.com")
    assert [e["kind"] for e in alerts["site"]["history"]] == ["created", "owner", "status"]
    assert "routing rule" in alerts["site"]["history"][1]["note"] and alerts["site"]["history"][1]["actor"] == "routing"
    # no rule matches: the theme's team from the taxonomy, no owner
    assert (alerts["other"]["team"], alerts["other"]["owner"], alerts["other"]["status"]) == ("it-operations", None, "new")
    created = {e["data"]["alert"]["id"]: e["data"]["alert"] for e in _events(c, "alert.created")}
    assert created[alerts["site"]["id"]]["owner"] == "kari@example.com"  # the webhook already names the owner


def test_overdue_alerts_are_escalated_once(svc):
    from api.services.escalation import tick

    c, h = svc
    _rules(c, h)
    _ingest(c, h, _resp("site", 1, "The site is down again and I am cancelling", team="support-north"),
            _resp("other", 1, "The site is down again and I am cancelling", team="support-south"),
            _resp("done", 2, "The invoice was wrong again, I am cancelling"))
    alerts = _alerts(c, h)
    c.patch(f"/v1/alerts/{alerts['done']['id']}", json={"status": "resolved"}, headers=h)
    state = c.app.state.nps
    assert tick(state.db, state.settings) == {"overdue": 0, "escalated": 0}  # nothing is due yet
    later = datetime.now(UTC) + timedelta(hours=49)
    assert tick(state.db, state.settings, now=later) == {"overdue": 2, "escalated": 1}
    assert tick(state.db, state.settings, now=later + timedelta(hours=1)) == {"overdue": 0, "escalated": 0}
    alerts = _alerts(c, h)
    site = alerts["site"]
    assert site["owner"] == "lea@example.com"
    escalated = [e for e in site["history"] if e["kind"] == "escalated"]
    assert len(escalated) == 1 and (escalated[0]["old"], escalated[0]["new"]) == ("kari@example.com", "lea@example.com")
    assert alerts["other"]["owner"] is None
    assert "no team lead" in alerts["other"]["history"][-1]["note"]
    overdue = _events(c, "alert.overdue")
    assert len(overdue) == 2  # once per alert, none for the resolved one
    by_id = {e["data"]["alert"]["id"]: e["data"] for e in overdue}
    assert by_id[site["id"]]["escalation"]["lead"] == "lea@example.com" and by_id[site["id"]]["alert"]["owner"] == "lea@example.com"
    assert by_id[alerts["other"]["id"]]["escalation"]["escalated"] is False


def test_escalate_endpoint_needs_admin(svc):
    c, h = svc
    r = c.post("/v1/routing/escalate", headers=h)
    assert r.status_code == 200 and r.json() == {"overdue": 0, "escalated": 0}
    reader = auth(new_key(c, "read", "triage", name="reader"))
    assert c.post("/v1/routing/escalate", headers=reader).status_code == 403


def test_the_service_escalates_by_itself(make_client, sqlite_url):
    c = make_client(sqlite_url, escalation_poll_s=0.05, alert_due_hours=0.0003)  # due about a second after creation
    h = auth(new_key(c, "admin", name="ops"))
    c.post("/v1/routing/rules", json={"match": {"team": "support-north"}, "team_from": "team", "owner": "kari",
                                      "lead": "lea"}, headers=h)
    _ingest(c, h, _resp("site", 1, "The site is down again and I am cancelling", team="support-north"))
    alert_id = _alerts(c, h)["site"]["id"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alert = c.get(f"/v1/alerts/{alert_id}", headers=h).json()
        if alert["owner"] == "lea":
            break
        time.sleep(0.05)
    assert alert["owner"] == "lea" and alert["overdue"] is True
    assert [e["kind"] for e in alert["history"]].count("escalated") == 1


def test_rules_from_a_yaml_file(make_client, tmp_path, sqlite_url):
    path = tmp_path / "routing.yaml"
    path.write_text("rules:\n"
                    "  - priority: 5\n    match: {theme: billing_payment}\n    team: finance\n    owner: anna\n    lead: bo\n"
                    "  - match: {team: support-north}\n    team_from: team\n    lead: lea\n", encoding="utf-8")
    c = make_client(sqlite_url, routing_rules_file=path)
    h = auth(new_key(c, "admin", name="ops"))
    c.post("/v1/routing/rules", json={"priority": 1, "match": {"channel": "x"}, "team": "x-team"}, headers=h)
    rules = c.get("/v1/routing/rules", headers=h).json()["items"]
    assert [(r["source"], r["team"] or r["team_from"]) for r in rules] == [("api", "x-team"), ("file", "finance"), ("file", "team")]
    _ingest(c, h, _resp("bill", 2, "The invoice was wrong again, I am cancelling"))
    assert _alerts(c, h)["bill"]["owner"] == "anna"

    from api.db.session import Database
    from api.services.routing import load_file

    path.write_text("rules:\n  - match: {}\n    team: everyone\n", encoding="utf-8")
    db = Database(sqlite_url)
    assert load_file(db, path) == 1  # what a restart does: the file's rules are replaced, the API's stay
    db.dispose()
    rules = c.get("/v1/routing/rules", headers=h).json()["items"]
    assert [(r["source"], r["team"]) for r in rules] == [("api", "x-team"), ("file", "everyone")]


def test_a_bad_rules_file_stops_the_start(make_client, tmp_path, sqlite_url):
    from nps_nlp.errors import ConfigError

    path = tmp_path / "routing.yaml"
    path.write_text("rules:\n  - match: {theme: billing_payment}\n  - team: a\n    team_from: team\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules\[0\].*exactly one") as info:
        make_client(sqlite_url, routing_rules_file=path)
    assert any(p.startswith("rules[1]") for p in info.value.problems)
    path.write_text("- not a mapping\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'rules' list"):
        make_client(sqlite_url, routing_rules_file=path)


def test_followup_per_team(svc):
    from api.db.models import Alert, AlertEvent

    c, h = svc
    _rules(c, h)
    texts = [_resp(f"n{i}", 1, "The site is down again and I am cancelling", team="support-north") for i in range(4)]
    _ingest(c, h, *texts, _resp("bill", 2, "The invoice was wrong again, I am cancelling"))
    alerts = _alerts(c, h)
    now = datetime.now(UTC)
    # hours from creation to first contact: n0 2 h, n1 10 h, n2 60 h (late), n3 never and created 100 h ago (late)
    with c.app.state.nps.db.session() as s:
        for ext, age, contact_after in (("n0", 80, 2), ("n1", 80, 10), ("n2", 80, 60), ("n3", 100, None)):
            alert = s.get(Alert, alerts[ext]["id"])
            alert.created_at = now - timedelta(hours=age)
            if contact_after is not None:
                at = alert.created_at + timedelta(hours=contact_after)
                s.add(AlertEvent(alert_id=alert.id, at=at, actor="t", kind="status", old="assigned", new="contacted"))
                s.add(AlertEvent(alert_id=alert.id, at=at + timedelta(hours=1), actor="t", kind="status", old="contacted",
                                 new="resolved"))
    r = c.get("/v1/teams/followup", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    teams = {t["team"]: t for t in out["items"]}
    north = teams["support-north"]
    assert (north["alerts"], north["followed_up"], north["within_target"], north["pending"]) == (4, 3, 2, 0)
    assert north["share_within_target"] == 0.5
    assert north["median_hours"] == pytest.approx(10.0, abs=0.01)
    assert north["p90_hours"] == pytest.approx(50.0, abs=0.05)  # numpy's linear interpolation of 2, 10, 60
    finance = teams["finance"]
    assert (finance["alerts"], finance["pending"], finance["share_within_target"], finance["median_hours"]) == (1, 1, None, None)
    assert out["overall"]["alerts"] == 5 and out["target_hours"] == 48.0
    only = c.get("/v1/teams/followup", params={"team": "finance"}, headers=h).json()
    assert [t["team"] for t in only["items"]] == ["finance"]
    recent = c.get("/v1/teams/followup", params={"since": (now - timedelta(hours=90)).isoformat()}, headers=h).json()
    assert recent["overall"]["alerts"] == 4  # n3 was created before
    assert c.get("/v1/teams/followup", params={"target_hours": 0}, headers=h).status_code == 422


def test_feed_of_a_team_that_exists_only_as_a_segment(svc):
    c, h = svc
    _ingest(c, h, _resp("a", 3, "The invoice was wrong", team="support-north"),
            _resp("b", 9, "great", team="support-north"),  # no theme at all
            _resp("c", 9, "great staff", team="support-south"))
    r = c.get("/v1/teams/support-north/feed", headers=h)
    assert r.status_code == 200, r.text
    feed = r.json()
    assert feed["total"] == 2 and {i["external_id"] for i in feed["items"]} == {"a", "b"}
    assert {i["via"] for i in feed["items"]} == {"segment"}
    by_ext = {i["external_id"]: i for i in feed["items"]}
    assert by_ext["a"]["theme"] == "billing_payment" and by_ext["b"]["theme"] is None
    assert c.get("/v1/teams/support-north/feed", params={"kind": "problem"}, headers=h).json()["total"] == 1
    # a theme-owning team still gets its routed themes, marked as such
    finance = c.get("/v1/teams/finance/feed", headers=h).json()
    assert finance["total"] == 1 and finance["items"][0]["via"] == "theme"
    r = c.get("/v1/teams/nobody/feed", headers=h)
    assert r.status_code == 404 and "finance" in r.text


def test_two_workers_never_handle_an_alert_twice(svc):
    from concurrent.futures import ThreadPoolExecutor

    from api.services.escalation import tick

    c, h = svc
    _rules(c, h)
    _ingest(c, h, *[_resp(f"n{i}", 1, "The site is down again and I am cancelling", team="support-north") for i in range(6)])
    state = c.app.state.nps
    later = datetime.now(UTC) + timedelta(hours=49)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: tick(state.db, state.settings, now=later), range(2)))
    assert sum(r["overdue"] for r in results) == 6 and sum(r["escalated"] for r in results) == 6
    assert len(_events(c, "alert.overdue")) == 6
    for alert in _alerts(c, h).values():
        assert [e["kind"] for e in alert["history"]].count("escalated") == 1
