"""Filters mean the same everywhere: both ends of the period inclusive in the user's time zone, the same names
in every page's URL, every panel obeys them, and /v1 follows the same rules (a date-only until covers that day;
alerts obey the period and segments)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from workspace_data import csrf_of

from api.db.models import ActionItem
from api.services.queries import Filters


def _panels(html: str) -> dict[str, str]:
    return dict(re.findall(r'<section class="panel[^"]*" id="(panel-[a-z-]+)">(.*?)</section>', html, re.S))


def _key(client) -> dict[str, str]:
    from api.services.keys import create_key

    with client.app.state.nps.db.session() as s:
        key, _ = create_key(s, "reader", ["read"])
    return {"Authorization": f"Bearer {key}"}


def test_date_only_bounds_cover_whole_days_in_the_time_zone():
    f = Filters(since=date(2026, 11, 30), until=date(2026, 11, 30), tz="Europe/Amsterdam")
    assert f.bounds() == (datetime(2026, 11, 29, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC))
    oslo_summer = Filters(since=date(2026, 7, 1), until=date(2026, 7, 2), tz="Europe/Oslo").bounds()
    assert oslo_summer == (datetime(2026, 6, 30, 22, tzinfo=UTC), datetime(2026, 7, 2, 22, tzinfo=UTC))
    exact = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert Filters(until=exact).bounds() == (None, exact)  # a datetime until stays exclusive
    assert Filters(lang="nl", channel="app").query_args() == {"channel": "app", "lang": "nl"}


def test_the_api_counts_a_single_day_when_from_equals_until_and_alerts_obey_the_filters(workspace):
    headers = _key(workspace)
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    nps = workspace.get(f"/v1/nps?since={day}&until={day}", headers=headers).json()
    assert nps["overall"]["n"] > 0
    everything = workspace.get("/v1/nps", headers=headers).json()["overall"]["n"]
    assert nps["overall"]["n"] < everything
    alerts = workspace.get(f"/v1/alerts?since={day}&until={day}", headers=headers).json()
    assert alerts["total"] == 3  # the three urgent answers of that day
    by_channel = {c: workspace.get(f"/v1/alerts?channel={c}&limit=1", headers=headers).json()["total"] for c in ("app", "email")}
    assert by_channel["app"] + by_channel["email"] == workspace.get("/v1/alerts?limit=1", headers=headers).json()["total"]
    assert 0 < by_channel["app"] < by_channel["app"] + by_channel["email"]
    assert workspace.get("/v1/alerts?lang=nl&limit=1", headers=headers).json()["total"] == 0
    assert workspace.get("/v1/alerts?team=finance&limit=100", headers=headers).json()["total"] == 20


def test_changing_a_filter_changes_every_panel_of_the_overview(as_user):
    client = as_user("admin")
    app, email = _panels(client.get("/app/overview?channel=app").text), _panels(client.get("/app/overview?channel=email").text)
    assert set(app) == {"panel-nps", "panel-trend", "panel-actions", "panel-passives", "panel-teams"}
    for name in app:
        assert app[name] != email[name], f"{name} ignores the channel filter"


def test_changing_the_period_changes_every_panel_of_a_team_page(as_user, workspace):
    client = as_user("dina")
    token = csrf_of(client.get("/app/teams/digital").text)
    client.post("/app/teams/digital/items", data={"theme": "website_app", "owner": "dina", "csrf_token": token})
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    whole, one_day = _panels(client.get("/app/teams/digital").text), _panels(client.get(f"/app/teams/digital?since={day}&until={day}").text)
    assert set(whole) == {"panel-nps", "panel-trend", "panel-alerts", "panel-problem", "panel-praise", "panel-items"}
    for name in whole:
        assert whole[name] != one_day[name], f"{name} ignores the period"
    # links on the page keep the filters (a shared address shows the same view)
    page = client.get(f"/app/teams/digital?since={day}&until={day}&channel=app").text
    assert f'name="next" value="/app/teams/digital?since={day}&amp;until={day}&amp;channel=app"' in page
    assert f"/app/export/alerts?since={day}&amp;until={day}&amp;channel=app&amp;format=csv" in page


def test_the_trend_marks_the_running_period_incomplete(as_user):
    client = as_user("admin")
    html = client.get("/app/overview?period=week").text
    trend = _panels(html)["panel-trend"]
    assert trend.count('class="point incomplete"') >= 1 and "incomplete" in trend
    assert re.search(r'class="ytick"[^>]*>[+-]?\d+</text>', trend)  # a y-axis with values
    assert re.search(r'class="value"[^>]*>[^<]+</text>', trend)  # each point's value written
    today = datetime.now(UTC).date()
    month = client.get(f"/app/overview?period=month&until={today.replace(day=1) - timedelta(days=1)}").text
    points = _panels(month)["panel-trend"]
    assert 'class="point"' in points and 'class="point incomplete"' not in points  # a closed month is complete


def test_bad_filters_are_a_400_page_not_a_crash(as_user):
    client = as_user("admin")
    for query in ("since=30-11-2026", "since=2026-12-01&until=2026-11-01", "period=year", "channel=" + "x" * 101):
        r = client.get(f"/app/overview?{query}")
        assert r.status_code == 400 and 'id="error"' in r.text, query


def test_action_items_follow_the_period(as_user, workspace):
    client = as_user("lena")
    token = csrf_of(client.get("/app/teams/it-operations").text)
    client.post("/app/teams/it-operations/items", data={"theme": "reliability_outages", "owner": "lena", "csrf_token": token})
    with workspace.app.state.nps.db.session() as s:
        item = s.scalar(select(ActionItem.id))
    old = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    assert f'id="item-{item}"' in client.get("/app/teams/it-operations").text
    assert f'id="item-{item}"' not in client.get(f"/app/teams/it-operations?until={old}").text


def test_an_export_is_named_after_the_days_chosen(as_user):
    client = as_user("lena")  # Europe/Amsterdam: the first day starts at 23:00 UTC the day before
    r = client.get("/app/export/responses?since=2026-11-28&until=2026-11-30&channel=app")
    assert r.headers["content-disposition"] == 'attachment; filename="responses_2026-11-28_2026-11-30.csv"'
