"""Working from a team's page: an alert from new to resolved (and reopened), action items created and updated;
every change is in the same history the API shows, with the signed-in user as actor."""

from __future__ import annotations

from sqlalchemy import select
from workspace_data import csrf_of

from api.db.models import ActionItem, Alert


def _open_alert(client, team: str) -> int:
    with client.app.state.nps.db.session() as s:
        return s.scalar(select(Alert.id).where(Alert.team == team, Alert.status == "new").order_by(Alert.id))


def test_a_team_lead_takes_an_alert_from_new_to_resolved_and_back(as_user, workspace):
    client = as_user("lena")
    alert = _open_alert(workspace, "it-operations")
    page = client.get("/app/teams/it-operations")
    assert f'id="alert-{alert}"' in page.text
    token = csrf_of(page.text)
    back = "/app/teams/it-operations?channel=app"
    for data in ({"action": "assign_me"}, {"action": "contacted"}, {"action": "resolve", "note": "Called back, credit given"}):
        r = client.post(f"/app/alerts/{alert}", data={**data, "csrf_token": token, "next": back}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == back
    with workspace.app.state.nps.db.session() as s:
        row = s.get(Alert, alert)
        assert (row.status, row.owner) == ("resolved", "lena")
        events = [(e.kind, e.old, e.new, e.note, e.actor) for e in row.events]
    assert events[1:] == [("owner", None, "lena", None, "lena"), ("status", "new", "assigned", None, "lena"),
                          ("status", "assigned", "contacted", None, "lena"), ("status", "contacted", "resolved", None, "lena"),
                          ("note", None, None, "Called back, credit given", "lena")]
    page = client.get("/app/teams/it-operations").text
    assert f'id="alert-{alert}"' in page.split('class="resolved"')[1]  # now under "recently resolved"
    r = client.post(f"/app/alerts/{alert}", data={"action": "reopen", "note": "customer wrote again", "csrf_token": token})
    assert r.status_code == 200
    with workspace.app.state.nps.db.session() as s:
        assert s.get(Alert, alert).status == "assigned"


def test_resolving_a_new_alert_makes_the_user_its_owner_and_the_api_sees_the_history(as_user, workspace):
    client = as_user("lena")
    alert = _open_alert(workspace, "it-operations")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    assert client.post(f"/app/alerts/{alert}", data={"action": "resolve", "csrf_token": token}).status_code == 200
    from api.services.keys import create_key

    with workspace.app.state.nps.db.session() as s:
        key, _ = create_key(s, "reader", ["read"])
    body = workspace.get(f"/v1/alerts/{alert}", headers={"Authorization": f"Bearer {key}"}).json()
    assert body["status"] == "resolved" and body["owner"] == "lena"
    assert [h["actor"] for h in body["history"][1:]] == ["lena", "lena"]


def test_assigning_to_someone_needs_an_active_user(as_user, workspace):
    client = as_user("lena")
    alert = _open_alert(workspace, "it-operations")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    assert client.post(f"/app/alerts/{alert}", data={"action": "assign", "owner": "nobody", "csrf_token": token}).status_code == 400
    assert client.post(f"/app/alerts/{alert}", data={"action": "fly", "csrf_token": token}).status_code == 400
    assert client.post(f"/app/alerts/{alert}", data={"action": "note", "csrf_token": token}).status_code == 400
    assert client.post("/app/alerts/99999", data={"action": "resolve", "csrf_token": token}).status_code == 404
    r = client.post(f"/app/alerts/{alert}", data={"action": "assign", "owner": "aga", "csrf_token": token})
    assert r.status_code == 200
    with workspace.app.state.nps.db.session() as s:
        assert s.get(Alert, alert).owner == "aga"


def test_action_items_are_created_and_updated_with_their_history(as_user, workspace):
    client = as_user("lena")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    r = client.post("/app/teams/it-operations/items", data={"theme": "reliability_outages", "title": "Status page with live outages",
                                                            "owner": "aga", "due": "2030-01-31", "csrf_token": token})
    assert r.status_code == 200 and "Status page with live outages" in r.text
    with workspace.app.state.nps.db.session() as s:
        item = s.scalar(select(ActionItem))
        assert (item.team, item.owner, item.status, item.progress) == ("it-operations", "aga", "open", 0)
        assert item.due_at.year == 2030 and item.notes[0]["by"] == "lena"
        item_id = item.id
    r = client.post(f"/app/items/{item_id}", data={"progress": "40", "note": "vendor picked", "due": "2030-02-15", "csrf_token": token})
    assert r.status_code == 200
    with workspace.app.state.nps.db.session() as s:
        item = s.get(ActionItem, item_id)
        assert (item.progress, item.status, item.due_at.month) == (40, "in_progress", 2)
        assert [n.get("change") or "note" for n in item.notes[1:]] == ["status", "progress", "due_at", "note"]
        assert all(n["by"] == "lena" for n in item.notes)
    # the owner (an agent) may update their own item, not take it from the lead's control
    agent = as_user("aga")
    token = csrf_of(agent.get("/app/teams/it-operations").text)
    assert agent.post(f"/app/items/{item_id}", data={"status": "done", "csrf_token": token}).status_code == 200
    with workspace.app.state.nps.db.session() as s:
        item = s.get(ActionItem, item_id)
        assert (item.status, item.progress, item.notes[-1]["by"]) == ("done", 100, "aga")
    bad = agent.post(f"/app/items/{item_id}", data={"progress": "140", "csrf_token": token})
    assert bad.status_code == 400
    assert agent.post("/app/teams/it-operations/items", data={"theme": "reliability_outages", "owner": "aga",
                                                             "csrf_token": token}).status_code == 403
