"""The workspace's figures counted by the database (api.services.theme_counts, team_stats, workspace, leaderboard):
equal to the library's over the same answers read one by one, the same when counted in parts and added up
(tallies), and brought forward, or counted again, when the data changes (api.services.tallies.Tallies)."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from api.db.models import Alert, Response, ResponseEvent, ResponseTheme
from api.db.session import Database, migrate
from api.services import leaderboard as lb
from api.services import theme_counts
from api.services.queries import Filters, tagged_responses
from api.services.tallies import IdRange, Tallies, read_mark
from api.services.team_page import FeedTally, feed_tally
from api.services.team_stats import TeamTally, team_tally
from api.services.theme_counts import ThemeTally, theme_tally
from api.services.workspace import DayTally, ValueTally, day_tally, insights, value_tally
from nps_nlp.action_points import action_points, passive_drivers
from nps_nlp.taxonomy import load_taxonomy

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TEAMS = ("finance", "it-operations", "customer-service")
SENTIMENTS = ("negative", "neutral", "positive", "negative", "mixed")  # one the ranks do not name: ranked as neutral
THEMES = ("billing_payment", "reliability_outages", "staff_attitude", "price_value", "website_app")


def _rows(rng: random.Random, first: int, n: int) -> tuple[list[dict], list[dict], list[dict]]:
    """``n`` answers with ids from ``first``: random scores, segments, languages and themes (some urgent)."""
    answers, themes, alerts = [], [], []
    for rid in range(first, first + n):
        when = NOW - timedelta(days=rng.random() * 200)
        picked = rng.sample(THEMES, rng.choice((0, 1, 1, 2, 3)))
        themes += [{"response_id": rid, "theme": th, "sentiment": rng.choice(SENTIMENTS), "team": TEAMS[THEMES.index(th) % 3],
                    "confidence": rng.choice((0.5, 0.9, rng.random())), "kind": rng.choice(("problem", "praise", "mention"))}
                   for th in picked]
        score = rng.randrange(11)
        answers.append({"id": rid, "external_id": f"t-{rid}", "score": score, "band": "x", "text": f"answer {rid}",
                        "lang": rng.choice(("en", "nl", "nb")), "timestamp": when, "team": rng.choice(("north", "south", None)),
                        "channel": rng.choice(("app", "email")), "country": rng.choice(("NL", "NO")), "sentiment": "neutral",
                        "sentiment_score": 0.0, "urgency_level": "none", "urgent": False, "analysis": {"themes": []},
                        "created_at": when})
        if score <= 1:
            alerts.append({"response_id": rid, "level": "high", "reasons": [], "status": rng.choice(("new", "resolved")),
                           "team": rng.choice(TEAMS), "due_at": when + timedelta(hours=48), "created_at": when, "updated_at": when})
    return answers, themes, alerts


def _add(db: Database, rng: random.Random, first: int, n: int) -> None:
    with db.session() as s:
        for table, rows in zip((Response, ResponseTheme, Alert), _rows(rng, first, n), strict=True):
            if rows:
                s.execute(insert(table), rows)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    migrate(database)
    _add(database, random.Random(5), 1, 400)
    yield database
    database.dispose()


VIEWS = [Filters(), Filters(tz="Europe/Oslo", scope=("finance",)), Filters(channel="app", since=date(2026, 9, 1)),
         Filters(country="NL", lang="nb", scope=("it-operations", "north"))]


@pytest.mark.parametrize("read_all", [True, False], ids=["quotes read at once", "quotes walked in rank order"])
@pytest.mark.parametrize("view", range(len(VIEWS)))
def test_action_points_and_passives_equal_the_librarys_over_the_answers_read_one_by_one(db, view, read_all, monkeypatch):
    monkeypatch.setattr(theme_counts, "READ_ALL", 10**9 if read_all else 0)
    filters, taxonomy = VIEWS[view], load_taxonomy()
    with db.session() as s:
        rows = tagged_responses(s, filters)  # the answers' stored themes: give the analyses their theme rows
        themes = {rid: [{"theme": t, "sentiment": se, "confidence": c} for t, se, c in s.execute(
            select(ResponseTheme.theme, ResponseTheme.sentiment, ResponseTheme.confidence).where(ResponseTheme.response_id == rid)
            .order_by(ResponseTheme.id))] for rid in s.scalars(filters.apply(select(Response.id)).order_by(Response.id))}
        for row, rid in zip(rows, sorted(themes), strict=True):
            row["themes"] = themes[rid]
        got = insights(s, filters, taxonomy)
    points = [p.to_dict() for p in action_points(rows, taxonomy, min_count=3, n_quotes=2, period=None)[:8]]
    drivers = [d.to_dict() for d in passive_drivers(rows, taxonomy, min_count=2, n_quotes=2)[:6]]
    assert got["points"] and got["points"] == points
    assert got["passives"]["items"] == drivers and got["passives"]["passives"] == sum(7 <= r["score"] <= 8 for r in rows)


def _tallies(s, filters):
    plain = dataclasses.replace(filters, scope=None)
    window = lb.Window.last_complete("month", NOW, "Europe/Amsterdam")
    return {"days": (lambda ids: day_tally(s, filters, ids), DayTally.merge),
            "themes": (lambda ids: theme_tally(s, filters, ids), ThemeTally.merge),
            "teams": (lambda ids: team_tally(s, filters, [*TEAMS, "north"], ids), TeamTally.merge),
            "feeds": (lambda ids: feed_tally(s, "finance", plain, ids), FeedTally.merge),
            "values": (lambda ids: value_tally(s, ids), ValueTally.merge),
            "leaderboard": (lambda ids: lb.window_counts(s, window, plain, ids), lb.WindowCounts.merge)}


@pytest.mark.parametrize("view", range(len(VIEWS)))
def test_every_tally_counted_in_parts_adds_up_to_the_whole(db, view):
    with db.session() as s:
        for name, (compute, merge) in _tallies(s, VIEWS[view]).items():
            whole = compute(None)
            parts = compute(IdRange(None, 150))
            for after, upto in ((150, 151), (151, 390), (390, 400)):
                parts = merge(parts, compute(IdRange(after, upto)))
            assert parts == whole == compute(IdRange(None, 400)), name


def _counting(tallies: Tallies, db: Database) -> list:
    """Fetch the theme tally of all answers through ``tallies``; returns the ranges it was computed over."""
    ranges: list = []
    with db.session() as s:

        def compute(ids):
            ranges.append(ids)
            return theme_tally(s, Filters(), ids)

        value = tallies.get("themes", s, read_mark(s), compute, ThemeTally.merge)
        assert value == theme_tally(s, Filters())
    return ranges


def test_new_answers_are_added_and_a_correction_or_a_late_alert_counts_again(db):
    tallies, rng = Tallies(), random.Random(9)
    assert _counting(tallies, db) == [IdRange(None, 400)]
    assert _counting(tallies, db) == []  # nothing changed: cached
    _add(db, rng, 401, 5)
    assert _counting(tallies, db) == [IdRange(400, 405)]  # only the new answers
    with db.session() as s:  # a correction (its response event) re-tags an answer already counted
        s.execute(insert(ResponseEvent), [{"response_id": 7, "at": NOW, "kind": "corrected", "changes": {}}])
        s.execute(ResponseTheme.__table__.update().where(ResponseTheme.response_id == 7).values(sentiment="positive"))
    assert _counting(tallies, db) == [IdRange(None, 405)]
    with db.session() as s:  # an alert opened for an old answer routes it to another team
        rid = s.scalar(select(Response.id).where(~Response.id.in_(select(Alert.response_id))).order_by(Response.id))
        s.execute(insert(Alert), [{"response_id": rid, "level": "high", "reasons": [], "status": "new", "team": "finance",
                                   "due_at": NOW, "created_at": NOW, "updated_at": NOW}])
    assert _counting(tallies, db) == [IdRange(None, 405)]
    _add(db, rng, 420, 2)
    assert _counting(tallies, db) == [IdRange(405, 421)]
    _add(db, rng, 410, 1)  # an id below the newest one counted (a transaction that committed late)
    assert _counting(tallies, db) == [IdRange(None, 421)]


@pytest.mark.parametrize("view", range(len(VIEWS)))
def test_the_teams_tally_equals_the_answers_counted_one_by_one(db, view):
    filters, teams = dataclasses.replace(VIEWS[view], scope=None), [*TEAMS, "north"]
    with db.session() as s:
        passing = {rid: (score, team) for rid, score, team in s.execute(filters.apply(select(Response.id, Response.score, Response.team)))}
        members = {rid: {team} for rid, (_, team) in passing.items()}
        expected = {t: [0, 0, 0, 0, 0] for t in teams}
        for rid, team, kind in s.execute(select(ResponseTheme.response_id, ResponseTheme.team, ResponseTheme.kind)):
            if rid in passing:
                members[rid].add(team)
                if kind in ("problem", "praise") and team in expected:
                    expected[team][3 if kind == "problem" else 4] += 1
        for rid, team in s.execute(select(Alert.response_id, Alert.team)):
            if rid in passing:
                members[rid].add(team)
        for rid, (score, _) in passing.items():
            for team in members[rid] & set(teams):
                expected[team][0 if score >= 9 else 1 if score >= 7 else 2] += 1
        got = team_tally(s, filters, teams, IdRange(None, 400))
    assert {t: list(c) for t, c in got.teams.items()} == {t: c for t, c in expected.items() if any(c)}


def test_a_tally_wanted_by_two_threads_at_once_is_counted_once(db):
    tallies, calls, started = Tallies(), [], threading.Event()

    def compute(ids):
        calls.append(ids)
        started.set()
        time.sleep(0.3)  # the second thread asks meanwhile
        return ThemeTally()

    def fetch(out: list) -> None:
        with db.session() as s:
            out.append(tallies.get("themes", s, mark, compute, ThemeTally.merge))

    with db.session() as s:
        mark = read_mark(s)
    results: list = []
    first = threading.Thread(target=fetch, args=(results,))
    first.start()
    assert started.wait(5)
    fetch(results)
    first.join(5)
    assert calls == [IdRange(None, 400)] and len(results) == 2 and results[0] is results[1]
