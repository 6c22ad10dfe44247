"""The workspace on SQLite and PostgreSQL: the same pages, figures and actions (the trend is counted per hour by
the database, with each dialect's own date function)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from workspace_data import csrf_of, seed, sign_in

from api.db.models import Alert, Response
from api.services.queries import Filters, in_teams
from api.services.workspace import nps_block
from nps_nlp.nps import nps, nps_trend


def test_pages_figures_and_actions_on_each_database(make_client, db_url):
    client = make_client(db_url)
    seed(client, n_days=12)
    db = client.app.state.nps.db
    with db.session() as s:
        rows = s.execute(select(Response.score, Response.timestamp)).all()
        block = nps_block(s, Filters(tz="Europe/Oslo"), "day")
        alert = s.scalar(select(Alert.id).where(Alert.team == "finance"))
    local = [t.astimezone(ZoneInfo("Europe/Oslo")).replace(tzinfo=None) for _, t in rows]
    expected = nps_trend([r[0] for r in rows], local, "day")
    assert [(p["period"], p["n"], round(p["nps"], 6)) for p in block["trend"]] == \
        [(p["period"], p["n"], round(p["nps"], 6)) for p in expected]
    assert round(block["overall"]["nps"], 6) == round(nps([r[0] for r in rows]).nps, 6)
    with db.session() as s:  # a team's figures: exactly its answers (segment, routed theme or alert)
        scoped = nps_block(s, Filters(tz="Europe/Oslo", scope=("finance", "north")), "week")
        mine = [score for (score,) in s.execute(select(Response.score).where(in_teams(("finance", "north"))))]
    assert scoped["overall"]["n"] == len(mine) and round(scoped["overall"]["nps"], 6) == round(nps(mine).nps, 6)
    assert sign_in(client, "finn").status_code == 303
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    for path in ("/app/teams/finance", "/app/overview", f"/app/teams/finance?since={day}&until={day}&lang=en", "/app/leaderboard"):
        assert client.get(path).status_code == 200, path
    page = client.get("/app/teams/finance").text
    assert re.search(r'class="point', page)
    r = client.post(f"/app/alerts/{alert}", data={"action": "resolve", "note": "done", "csrf_token": csrf_of(page)})
    assert r.status_code == 200
    with db.session() as s:
        assert s.get(Alert, alert).status == "resolved"
