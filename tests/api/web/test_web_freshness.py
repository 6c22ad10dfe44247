"""The workspace caches its figures, but never shows old data: a new answer, a corrected one and a resolved alert
show on the next view of every page that counts them, and the figures equal those of a service started afresh."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from workspace_data import csrf_of

from api.db.models import Alert
from api.services.keys import create_key

OUTAGE = "Everything was down again, a full outage, I am cancelling my subscription today"


def _n(page: str) -> int:
    """The answers the NPS panel counts."""
    return int(re.search(r'id="nps-n">\D*(\d+)', page).group(1))  # type: ignore[union-attr]


def _open(page: str) -> int:
    return int(re.search(r'id="open-count">(\d+)<', page).group(1))  # type: ignore[union-attr]


def _table_row(page: str, team: str) -> str:
    return re.search(rf'<tr><td><a href="/app/teams/{team}[^"]*">{team}</a></td>(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]


def _key(client) -> dict[str, str]:
    with client.app.state.nps.db.session() as s:
        key, _ = create_key(s, "fresh", ["admin"])
    return {"Authorization": f"Bearer {key}"}


def _ingest(client, headers, external_id: str, text: str = OUTAGE, score: int = 0) -> None:
    body = {"external_id": external_id, "score": score, "text": text, "lang": "en", "timestamp": datetime.now(UTC).isoformat(),
            "segments": {"team": "north", "channel": "app", "country": "NL"}}
    r = client.post("/v1/responses", json=body, headers=headers)
    assert r.status_code == 201, r.text


def test_a_new_answer_shows_at_once_on_the_overview_and_the_team_page(as_user, workspace):
    headers = _key(workspace)
    client = as_user("lena")  # a team lead of it-operations, where outages are routed
    overview, team = client.get("/app/overview").text, client.get("/app/teams/it-operations").text
    assert client.get("/app/overview").text == overview  # served again from the cache: the same page
    _ingest(workspace, headers, "fresh-1")
    overview2, team2 = client.get("/app/overview").text, client.get("/app/teams/it-operations").text
    assert _n(overview2) == _n(overview) + 1 and _n(team2) == _n(team) + 1
    assert _open(team2) == _open(team) + 1  # the new answer's alert is on the team's page
    client = as_user("admin")
    before = client.get("/app/overview?channel=app").text
    _ingest(workspace, headers, "fresh-2")
    after = client.get("/app/overview?channel=app").text
    assert _n(after) == _n(before) + 1
    assert _table_row(after, "it-operations") != _table_row(before, "it-operations")  # its NPS, answers and open alerts


def test_resolving_an_alert_shows_at_once_in_the_teams_table_and_on_the_team_page(as_user, workspace):
    client = as_user("admin")
    before = client.get("/app/overview").text
    page = client.get("/app/teams/it-operations").text
    with workspace.app.state.nps.db.session() as s:
        alert = s.scalar(select(Alert.id).where(Alert.team == "it-operations", Alert.status != "resolved").order_by(Alert.id))
    r = client.post(f"/app/alerts/{alert}", data={"action": "resolve", "note": "done", "csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code in (200, 303)
    assert _open(client.get("/app/teams/it-operations").text) == _open(page) - 1
    open_before = re.findall(r'<td class="num">(\d+)</td>', _table_row(before, "it-operations"))
    open_after = re.findall(r'<td class="num">(\d+)</td>', _table_row(client.get("/app/overview").text, "it-operations"))
    assert int(open_after[1]) == int(open_before[1]) - 1  # answers, then open alerts


def test_cached_figures_equal_those_of_a_fresh_service(as_user, workspace, make_client):
    """Views brought forward answer by answer (and after a correction) equal a service that counts from scratch."""
    headers = _key(workspace)
    client = as_user("admin")
    paths = ["/app/overview", "/app/overview?channel=app&period=week", "/app/teams/it-operations", "/app/teams/finance?country=NL",
             "/app/leaderboard"]
    for path in paths:
        client.get(path)
    _ingest(workspace, headers, "fresh-3")
    _ingest(workspace, headers, "fresh-4", "The invoice was wrong again", 3)
    for path in paths:
        client.get(path)
    r = workspace.put("/v1/responses/fresh-4", json={"external_id": "fresh-4", "score": 9, "text": "Great friendly staff",
                                                     "segments": {"team": "south", "channel": "email", "country": "NO"}},
                      headers=headers)
    assert r.status_code == 200, r.text
    _ingest(workspace, headers, "fresh-5", "Great friendly staff", 10)
    cached = {path: _figures(client.get(path).text) for path in paths}
    workspace.app.state.workspace_cache = None  # as if the service had just started
    assert {path: _figures(client.get(path).text) for path in paths} == cached


def _figures(page: str) -> str:
    """The page without what changes from one view to the next (the form tokens and the time figures were read)."""
    page = re.sub(r'name="csrf_token" value="[^"]+"', "", page)
    return re.sub(r'class="legend">[^<]*', "", page)
