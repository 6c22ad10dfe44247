"""No page, action or export of the workspace shows or changes another team's data for a team lead or an agent;
sign-in, session cookies and CSRF checks."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from workspace_data import PASSWORD, csrf_of, sign_in

from api.db.models import ActionItem, Alert

FINANCE_ONLY = "lawyer"  # the one answer text routed to finance alone
IT_ONLY = "full outage"  # routed to it-operations alone


def _alert_id(client, team: str) -> int:
    with client.app.state.nps.db.session() as s:
        return s.scalar(select(Alert.id).where(Alert.team == team).order_by(Alert.id))


def _pages(client, team: str) -> dict[str, object]:
    return {path: client.get(path) for path in (
        "/app", "/app/overview", f"/app/teams/{team}", "/app/me", "/app/overview?period=day&channel=app",
        "/app/export/responses", "/app/export/alerts", "/app/export/action_items", "/app/export/responses?format=xlsx",
        "/app/leaderboard", "/app/leaderboard?over=week&rank_by=praise", f"/app/reports/{team}?period=week",
        f"/app/reports/{team}?period=month")}


def test_anonymous_visitors_are_sent_to_sign_in_for_every_page(workspace):
    for path in ("/app", "/app/overview", "/app/teams/finance", "/app/admin/users", "/app/me", "/app/export/responses"):
        r = workspace.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/app/login?next="), path
    alert = _alert_id(workspace, "finance")
    page = workspace.get("/app/login")
    r = workspace.post(f"/app/alerts/{alert}", data={"action": "resolve", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/app/login")


@pytest.mark.parametrize(("user", "own", "other"), [("lena", "it-operations", "finance"), ("finn", "finance", "it-operations"),
                                                    ("aga", "it-operations", "finance")])
def test_a_team_lead_or_agent_sees_only_their_teams_on_every_page_and_export(as_user, user, own, other):
    client = as_user(user)
    foreign = FINANCE_ONLY if other == "finance" else IT_ONLY
    for path, r in _pages(client, own).items():
        assert r.status_code == 200, (path, r.status_code)
        body = r.content.decode("utf-8", "replace") if "xlsx" not in path else ""
        assert foreign not in body, f"{user} sees {other}'s answers on {path}"
        assert f"/app/teams/{other}" not in body, path
    assert client.get(f"/app/teams/{other}").status_code == 404
    assert client.get(f"/app/reports/{other}").status_code == 404 and client.get("/app/reports/company").status_code == 404
    assert client.get("/app/admin/users").status_code == 403
    board = client.get("/app/leaderboard?over=month").text  # their own rows, with their rank among all teams
    assert f">{other}<" not in board and "/ " in board
    # the overview is limited to the user's teams: its team table names only theirs
    overview = client.get("/app/overview").text
    assert f'href="/app/teams/{own}' in overview
    # exports hold rows of their teams only
    rows = list(csv.DictReader(io.StringIO(client.get("/app/export/alerts").content.decode("utf-8-sig"))))
    assert all(row["team"] == own for row in rows)


def test_admins_and_analysts_see_every_team(as_user):
    for user in ("admin", "ann"):
        client = as_user(user)
        assert FINANCE_ONLY in client.get("/app/teams/finance").text and IT_ONLY in client.get("/app/teams/it-operations").text
        overview = client.get("/app/overview").text
        assert 'href="/app/teams/finance' in overview and 'href="/app/teams/it-operations' in overview
        assert client.get("/app/reports/company?period=week").status_code == 200
        assert 'href="/app/teams/finance"' in client.get("/app/leaderboard").text
        exported = client.get("/app/export/responses").content.decode("utf-8-sig")
        assert FINANCE_ONLY in exported and IT_ONLY in exported


def test_nobody_acts_on_another_teams_alerts_or_items(as_user, workspace):
    finance_alert = _alert_id(workspace, "finance")
    client = as_user("finn")
    page = client.get("/app/teams/finance")
    r = client.post("/app/teams/finance/items", data={"theme": "billing_payment", "owner": "finn", "csrf_token": csrf_of(page.text),
                                                      "next": "/app/teams/finance"})
    assert r.status_code == 200
    with workspace.app.state.nps.db.session() as s:
        item_id = s.scalar(select(ActionItem.id))
    client = as_user("lena")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    for action in ("assign_me", "contacted", "resolve", "reopen"):
        r = client.post(f"/app/alerts/{finance_alert}", data={"action": action, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 404, action
    assert client.post(f"/app/items/{item_id}", data={"progress": "90", "csrf_token": token}).status_code == 404
    r = client.post("/app/teams/finance/items", data={"theme": "billing_payment", "owner": "lena", "csrf_token": token})
    assert r.status_code == 403
    with workspace.app.state.nps.db.session() as s:
        alert = s.get(Alert, finance_alert)
        assert alert.status == "new" and alert.owner is None and len(alert.events) == 1
        assert s.get(ActionItem, item_id).progress == 0
    # an agent works only the alerts assigned to them: an unassigned alert of their own team is not theirs
    it_alert = _alert_id(workspace, "it-operations")
    client = as_user("aga")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    assert client.post(f"/app/alerts/{it_alert}", data={"action": "resolve", "csrf_token": token}).status_code == 404


def test_an_agent_sees_exactly_the_alerts_assigned_to_them(as_user, workspace):
    it_alert = _alert_id(workspace, "it-operations")
    lead = as_user("lena")
    token = csrf_of(lead.get("/app/teams/it-operations").text)
    r = lead.post(f"/app/alerts/{it_alert}", data={"action": "assign", "owner": "aga", "csrf_token": token})
    assert r.status_code == 200
    agent = as_user("aga")
    page = agent.get("/app/teams/it-operations").text
    assert page.count('class="alert level-') == 1 and f'id="alert-{it_alert}"' in page
    token = csrf_of(page)
    assert agent.post(f"/app/alerts/{it_alert}", data={"action": "contacted", "csrf_token": token}).status_code == 200
    with workspace.app.state.nps.db.session() as s:
        assert s.get(Alert, it_alert).status == "contacted"


def test_posts_need_the_sessions_csrf_token_and_a_same_site_origin(as_user, workspace):
    client = as_user("lena")
    alert = _alert_id(workspace, "it-operations")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    assert client.post(f"/app/alerts/{alert}", data={"action": "resolve"}).status_code == 403
    assert client.post(f"/app/alerts/{alert}", data={"action": "resolve", "csrf_token": "x" + token}).status_code == 403
    assert client.post(f"/app/alerts/{alert}", data={"action": "resolve", "csrf_token": token},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    with workspace.app.state.nps.db.session() as s:
        assert s.get(Alert, alert).status == "new"
    # the header form (htmx sends it on every request) is accepted
    r = client.post(f"/app/alerts/{alert}", data={"action": "contacted"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200


def test_sign_in_sets_a_hardened_cookie_and_a_password_change_ends_the_session(workspace):
    r = sign_in(workspace, "lena", "wrong-password-1")
    assert r.status_code == 401 and "Wrong username or password" in r.text
    r = sign_in(workspace, "lena")
    assert r.status_code == 303 and r.headers["location"] == "/app/teams/it-operations"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # http here; https adds Secure
    assert workspace.get("/app/teams/it-operations").status_code == 200
    from api.services.users import get_user, set_password

    with workspace.app.state.nps.db.session() as s:
        set_password(s, get_user(s, "lena"), PASSWORD + "-new")
    assert workspace.get("/app/teams/it-operations", follow_redirects=False).status_code == 303
    # no open redirect after sign-in
    page = workspace.get("/app/login")
    r = workspace.post("/app/login", data={"username": "finn", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                           "next": "https://evil.example/app"}, follow_redirects=False)
    assert r.headers["location"] == "/app"


def test_secure_cookie_over_https(make_client, sqlite_url):
    from fastapi.testclient import TestClient

    client = make_client(sqlite_url)
    https = TestClient(client.app, base_url="https://testserver")
    assert "secure" in https.get("/app/login").headers["set-cookie"].lower()


def test_admin_manages_users_from_the_page(as_user, workspace):
    client = as_user("admin")
    token = csrf_of(client.get("/app/admin/users").text)
    r = client.post("/app/admin/users", data={"username": "nora", "display_name": "Nora", "role": "team_lead",
                                              "teams": "finance, digital", "password": "long-enough-pw", "csrf_token": token})
    assert r.status_code == 200 and 'id="user-nora"' in r.text
    bad = client.post("/app/admin/users", data={"username": "x", "role": "boss", "password": "short", "csrf_token": token})
    assert bad.status_code == 400 and "username" in bad.text
    with workspace.app.state.nps.db.session() as s:
        from api.services.users import get_user

        nora = get_user(s, "nora")
        assert nora.teams == ["digital", "finance"] and nora.role == "team_lead"
        nora_id = nora.id
    r = client.post(f"/app/admin/users/{nora_id}", data={"role": "agent", "teams": "digital", "active": "0", "csrf_token": token})
    assert r.status_code == 200
    assert sign_in(workspace, "nora", "long-enough-pw").status_code == 401  # disabled
    lead = as_user("lena")
    token = csrf_of(lead.get("/app/me").text)
    assert lead.post(f"/app/admin/users/{nora_id}", data={"role": "admin", "csrf_token": token}).status_code == 403
