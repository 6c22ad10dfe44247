"""GET /v1/leaderboard and api.services.leaderboard: teams ranked on follow-up, NPS change and praise; badges
only for a significant rise or counts above the minimums (fake pipeline; SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import auth, new_key
from sqlalchemy import delete, select

from api.db.models import Alert, AlertEvent, Response
from api.services.leaderboard import BadgeRules, Window, leaderboard, period_start, wilson

OCT, NOV = "2026-10-15T10:00:00Z", "2026-11-15T10:00:00Z"


def _answers(team, ts, promoters, passives, detractors, tag):
    texts = [(10, "Friendly staff, great help")] * promoters + [(7, "ok")] * passives + [(3, "meh")] * detractors
    return [{"external_id": f"{tag}-{i}", "score": s, "text": t, "timestamp": ts, "segments": {"team": team, "channel": "email"}}
            for i, (s, t) in enumerate(texts)]


def _alerts(db, team, created, contact_hours):
    """Alerts on ``team``'s November detractors, opened at ``created``; one per entry of ``contact_hours``
    (hours to the first 'contacted' event, None: never contacted)."""
    with db.session() as s:
        ids = s.scalars(select(Response.id).where(Response.team == team, Response.score <= 6,
                                                  Response.timestamp >= datetime(2026, 11, 1, tzinfo=UTC))
                        .order_by(Response.id)).all()
        assert len(ids) >= len(contact_hours)
        for rid, hours in zip(ids, contact_hours, strict=False):
            alert = Alert(response_id=rid, level="high", reasons=[], team=team, status="new", due_at=created + timedelta(hours=48),
                          created_at=created, updated_at=created)
            alert.events.append(AlertEvent(at=created, kind="created", new="new"))
            if hours is not None:
                alert.status = "contacted"
                alert.events.append(AlertEvent(at=created + timedelta(hours=hours), kind="status", old="new", new="contacted"))
            s.add(alert)


@pytest.fixture
def board(make_client, db_url):
    c = make_client(db_url)
    h = auth(new_key(c, "read", name="lead"))
    admin = auth(new_key(c, "admin", name="ops"))
    rows = (_answers("north", OCT, 10, 10, 20, "n-oct") + _answers("north", NOV, 24, 10, 6, "n-nov")
            + _answers("south", OCT, 15, 10, 15, "s-oct") + _answers("south", NOV, 15, 10, 15, "s-nov")
            + _answers("east", OCT, 0, 0, 3, "e-oct") + _answers("east", NOV, 3, 0, 3, "e-nov"))
    assert c.post("/v1/responses/bulk", headers=admin, json={"responses": rows}).status_code == 200
    db = c.app.state.nps.db
    with db.session() as s:
        s.execute(delete(Alert))  # the detector's own alerts: this test sets its own
    created = datetime(2026, 11, 10, 9, tzinfo=UTC)
    _alerts(db, "north", created, [2, 5, 10, 20, 30, None])  # 5 of 6 within 48 h
    _alerts(db, "south", created, [1, 3, 72, 80, 90, None])  # 2 of 6
    _alerts(db, "east", created, [1, 2])  # 2 of 2, but too few to judge
    return c, h


def test_ranks_and_badges(board):
    c, h = board
    r = c.get("/v1/leaderboard", params={"period": "month", "at": NOV, "min_praise": 20}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["label"] == "2026-11" and out["complete"] is True and out["start"].startswith("2026-11-01")
    teams = {t["team"]: t for t in out["teams"]}
    north, south, east = teams["north"], teams["south"], teams["east"]
    assert north["followup"]["in_time"] == 5 and north["followup"]["judged"] == 6 and north["followup"]["share"] == 0.8333
    assert south["followup"]["share"] == 0.3333 and east["followup"]["share"] == 1.0
    # ranked on the interval's lower end: 2 of 2 is not more convincing than 5 of 6
    ranked = [t["team"] for t in out["teams"] if t["team"] in ("north", "south", "east")]
    assert ranked == ["north", "east", "south"]
    assert [t["rank"] for t in out["teams"]] == list(range(1, len(out["teams"]) + 1))
    # NPS -25 -> +45 on 40 answers each: a significant rise; east's -100 -> 0 rests on 3 and 6 answers
    assert north["change"]["significant"] and north["change"]["delta"] == 70.0
    assert east["change"]["too_few"] and not east["change"]["significant"]
    assert not south["change"]["significant"]
    badges = {t["team"]: [b["badge"] for b in t["badges"]] for t in out["teams"]}
    assert badges["north"] == ["most_improved", "fastest_follow_up"]
    assert badges["east"] == [] and badges["south"] == []
    assert "5 of 6 detractors contacted within 48 hours" in north["badges"][1]["reason"]
    # praise is routed to the team owning the theme (staff -> customer-service): 24 + 15 + 3 mentions in November
    assert teams["customer-service"]["praise"] == 42 and teams["customer-service"]["praise_previous"] == 25
    assert [b["badge"] for b in teams["customer-service"]["badges"]] == ["most_praised"]


def test_minimums_and_rankings_can_be_changed(board):
    c, h = board
    strict = c.get("/v1/leaderboard", params={"at": NOV, "min_alerts": 7, "min_praise": 1000}, headers=h).json()
    assert all(b["badge"] == "most_improved" for t in strict["teams"] for b in t["badges"])
    loose = c.get("/v1/leaderboard", params={"at": NOV, "min_alerts": 2, "followup_target": 0.9}, headers=h).json()
    assert [t["team"] for t in loose["teams"] if any(b["badge"] == "fastest_follow_up" for b in t["badges"])] == ["east"]
    by_change = c.get("/v1/leaderboard", params={"at": NOV, "rank_by": "improvement"}, headers=h).json()
    assert by_change["teams"][0]["team"] == "north"
    by_praise = c.get("/v1/leaderboard", params={"at": NOV, "rank_by": "praise"}, headers=h).json()
    assert by_praise["teams"][0]["team"] == "customer-service"
    # the segment filters apply: nothing came in by app
    app_only = c.get("/v1/leaderboard", params={"at": NOV, "channel": "app"}, headers=h).json()
    assert app_only["teams"] == []


def test_bad_input_is_a_422(board):
    c, h = board
    assert c.get("/v1/leaderboard", params={"period": "year"}, headers=h).status_code == 422
    r = c.get("/v1/leaderboard", params={"tz": "Mars/Olympus"}, headers=h)
    assert r.status_code == 422 and "time zone" in r.json()["detail"]
    assert c.get("/v1/leaderboard", params={"followup_target": 2}, headers=h).status_code == 422
    assert c.get("/v1/leaderboard").status_code == 401


def test_pending_alerts_are_not_judged(board):
    c, _ = board
    db = c.app.state.nps.db
    now = datetime(2026, 11, 11, 9, tzinfo=UTC)  # 24 h after the alerts opened
    with db.session() as s:
        out = leaderboard(s, "month", at=datetime(2026, 11, 15, tzinfo=UTC), now=now, rules=BadgeRules())
    north = next(t for t in out["teams"] if t["team"] == "north")["followup"]
    # contacted after 2, 5, 10 and 20 hours: in time; after 30 h (later than now) and never: inside their 48 h
    assert (north["in_time"], north["pending"], north["judged"]) == (4, 2, 4)
    assert out["complete"] is False


def test_windows_and_wilson():
    assert period_start("week", date(2026, 12, 6)) == date(2026, 11, 30)
    assert period_start("quarter", date(2026, 12, 6)) == date(2026, 10, 1)
    w = Window.last_complete("quarter", datetime(2026, 12, 7, tzinfo=UTC))
    assert (w.first_day, w.next_day, w.label()) == (date(2026, 7, 1), date(2026, 10, 1), "2026-Q3")
    oslo = Window.containing("day", datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Europe/Oslo")
    assert oslo.first_day == date(2026, 12, 1) and oslo.start == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert Window.of("month", date(2026, 12, 1)).next_day == date(2027, 1, 1)
    low, high = wilson(5, 6)
    assert 0.4 < low < 0.5 and 0.95 < high < 0.98 and wilson(0, 0) == (None, None)
    with pytest.raises(ValueError, match="time zone"):
        Window.of("week", date(2026, 12, 1), "Nowhere/Land")
