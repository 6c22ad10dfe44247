"""Render times of the team workspace's pages with 100,000 stored responses, on SQLite or PostgreSQL.

Builds (or reuses) a database of synthetic answers spread over a year: scores, segments, themes routed to the
taxonomy's teams, urgent answers with alerts (some contacted, some resolved) and action items; then signs in
through the app (the keyword stand-in pipeline of the tests, ``tests/api/api_fakes.py``: the pages do not run
the model) and times each page: the company overview (plain, filtered, per week), a team's page (plain,
filtered), the leaderboard, as an admin and as a team lead, and the API's alert queue. Per page:

- ``cold``: its first view after the service started, once the service's start-up warm-up (``api.web.warmup``,
  in the background: the service is ready meanwhile) was done; the warm-up counts the views people open
  first (the overview without filters, the leaderboard, the pages of teams with members), so other views
  (with filters) are counted from scratch. ``warmup`` says how long after the start it was done.
  ``--no-warmup`` turns it off; ``--also-without-warmup`` starts the service again without it and keeps each
  page's first view beside (``without_warmup``);
- ``median`` and ``max`` of ``--repeats`` views after that;
- ``after_new_answer``: the first view after one more answer was ingested through ``POST /v1/responses``
  (what a team lead waits for when answers keep arriving), median and slowest of three;
- for the team lead's team page, ``after_resolve``: the first view after an alert was resolved on it.

Times are wall-clock milliseconds of the request through the in-process client, and the process CPU time it
took (``*_cpu_ms``: less sensitive to other load on the machine). The load average is recorded before and after.

Usage (from the repository root)::

    python benchmarks/workspace.py                       # 100,000 responses on SQLite, results/workspace.json
    python benchmarks/workspace.py --responses 20000 --repeats 3 --out -
    python benchmarks/workspace.py --url postgresql+psycopg://postgres@localhost/wsbench --out benchmarks/results/workspace-postgresql.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark-password"
FRONTLINE = ("north", "south", "east", "west", "online", "partners")
CHANNELS = ("email", "app", "web", "phone", "store")
COUNTRIES = ("NL", "NO", "BE", "GB")
LANGS = ("nl", "nb", "en", "nn")
TEXTS = ("The invoice was wrong again and support was slow", "Great friendly staff, fixed in minutes",
         "App keeps crashing when I pay", "Price went up but the service stayed the same", "Delivery late again",
         "Everything works, nothing to add", "Site down for hours, I am cancelling")


def _answer(rng: random.Random, rid: int, themes: list[tuple[str, str]], now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One synthetic response row and its theme rows."""
    from nps_nlp.nps import nps_band

    score = rng.choices(range(11), weights=(3, 2, 2, 3, 3, 4, 6, 10, 14, 18, 15))[0]
    text = rng.choice(TEXTS)
    sentiment = "negative" if score <= 6 else "positive" if score >= 9 else "neutral"
    picked = rng.sample(themes, rng.choice((0, 1, 1, 2)))
    when = now - timedelta(days=rng.random() * 365)
    urgent = score <= 2 and rng.random() < 0.35
    kinds = ["problem" if sentiment == "negative" else "praise" if sentiment == "positive" else "mention" for _ in picked]
    analysis = {"themes": [{"theme": th, "sentiment": sentiment, "confidence": 0.9,
                            "evidence": {"text": text[:12], "start": 0, "end": 12}} for th, _ in picked],
                "routing": [{"theme": th, "team": team, "kind": k} for (th, team), k in zip(picked, kinds, strict=True)]}
    row = {"id": rid, "external_id": f"bench-{rid}", "score": score, "band": nps_band(score), "text": text,
           "lang": rng.choice(LANGS), "timestamp": when, "customer_id": f"c{rng.randrange(20000)}",
           "team": rng.choice(FRONTLINE), "department": None, "channel": rng.choice(CHANNELS), "touchpoint": None,
           "country": rng.choice(COUNTRIES), "sentiment": sentiment, "sentiment_score": -0.8 if sentiment == "negative" else 0.8,
           "urgency_level": "high" if urgent else "none", "urgent": urgent, "analysis": analysis, "model_id": "bench",
           "created_at": when}
    tags = [{"response_id": rid, "theme": th, "sentiment": sentiment, "confidence": 0.9, "team": team, "kind": k}
            for (th, team), k in zip(picked, kinds, strict=True)]
    return row, tags


def build(url: str, n: int, seed: int = 7) -> None:
    """Fill an empty database at ``url`` with ``n`` synthetic responses and their themes, alerts and items."""
    from sqlalchemy import insert, text

    from api.db.models import ActionItem, Alert, AlertEvent, Response, ResponseTheme
    from api.db.session import Database, migrate
    from nps_nlp.taxonomy import load_taxonomy

    rng = random.Random(seed)
    themes = [(t.id, t.team or "unassigned") for t in load_taxonomy().themes]
    db = Database(url)
    migrate(db)
    now = datetime.now(UTC)
    alert_id = 0
    with db.session() as s:
        for start in range(0, n, 5000):
            responses, tags, alerts, events = [], [], [], []
            for rid in range(start + 1, min(n, start + 5000) + 1):
                row, row_tags = _answer(rng, rid, themes, now)
                responses.append(row)
                tags += row_tags
                if row["urgent"]:
                    alert_id += 1
                    when = row["timestamp"]
                    status = rng.choice(("new", "assigned", "contacted", "resolved", "resolved"))
                    alerts.append({"id": alert_id, "response_id": rid, "level": "high", "reasons": [], "status": status,
                                   "team": row_tags[0]["team"] if row_tags else None, "owner": "lead" if status != "new" else None,
                                   "due_at": when + timedelta(hours=48), "created_at": when, "updated_at": when})
                    events.append({"alert_id": alert_id, "at": when, "actor": "system", "kind": "created"})
                    if status in ("contacted", "resolved"):
                        events.append({"alert_id": alert_id, "at": when + timedelta(hours=rng.choice((5, 30, 70))), "actor": "lead",
                                       "kind": "status", "old": "assigned", "new": "contacted"})
            s.execute(insert(Response), responses)
            for rows, table in ((tags, ResponseTheme), (alerts, Alert), (events, AlertEvent)):
                if rows:
                    s.execute(insert(table), rows)
        s.execute(insert(ActionItem), [{"theme": th, "team": team, "title": f"fix {th}", "owner": "lead", "status": "open",
                                        "progress": 10, "notes": [], "due_at": now + timedelta(days=30), "created_at": now,
                                        "updated_at": now} for th, team in themes])
        if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("responses", "alerts"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    if db.engine.dialect.name == "postgresql":
        # what autovacuum does after a bulk load: the planner's statistics and the visibility map (so that counting
        # the answers reads an index alone); VACUUM runs outside a transaction
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    db.dispose()


def _timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and process CPU milliseconds of ``call()``, and its result."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = call()
    return round((time.perf_counter() - t0) * 1000, 1), round((time.process_time() - c0) * 1000, 1), result


def _get(client: Any, path: str, headers: dict[str, str] | None = None) -> tuple[float, float]:
    ms, cpu, response = _timed(lambda: client.get(path, headers=headers or {}))
    assert response.status_code == 200, (path, response.status_code)
    return ms, cpu


def _sign_in(client: Any, user: str) -> None:
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/app/login").text).group(1)  # type: ignore[union-attr]
    assert client.post("/app/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
                       follow_redirects=False).status_code == 303


def _new_answer(client: Any, key: str, i: int) -> None:
    """Ingest one more answer (a detractor about the invoice, answered to one of the frontline teams)."""
    body = {"external_id": f"bench-new-{i}-{time.time_ns()}", "score": 3, "text": "The invoice was wrong again",
            "segments": {"team": FRONTLINE[i % len(FRONTLINE)], "channel": "app", "country": "NL"}}
    r = client.post("/v1/responses", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text


def _resolve_one(client: Any, team: str) -> bool:
    """Resolve the first open alert on ``team``'s page, as the signed-in user; whether there was one."""
    page = client.get(f"/app/teams/{team}").text
    found = re.search(r'action="/app/alerts/(\d+)" class="inline resolve-form">', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not found or not token:
        return False
    r = client.post(f"/app/alerts/{found.group(1)}", data={"action": "resolve", "note": "benchmark", "csrf_token": token.group(1),
                                                            "next": f"/app/teams/{team}"}, follow_redirects=False)
    return r.status_code in (200, 303)


def _page(client: Any, path: str, repeats: int, fresh: Callable[[], Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One page's figures: cold, repeated, and after ``fresh()`` (new data; median of three)."""
    cold, cold_cpu = _get(client, path, headers)
    runs = [_get(client, path, headers) for _ in range(repeats)]
    after = []
    for _ in range(3):
        fresh()
        after.append(_get(client, path, headers))
    return {"path": path, "cold_ms": cold, "cold_cpu_ms": cold_cpu, "median_ms": round(statistics.median(r[0] for r in runs), 1),
            "max_ms": max(r[0] for r in runs), "median_cpu_ms": round(statistics.median(r[1] for r in runs), 1),
            "after_new_answer_ms": round(statistics.median(r[0] for r in after), 1), "after_new_answer_max_ms": max(r[0] for r in after),
            "after_new_answer_cpu_ms": round(statistics.median(r[1] for r in after), 1)}


def _setup(url: str, team: str) -> str:
    """The benchmark's users (an admin, a lead of ``team``) and an ingest key, stored before the service starts
    (as users exist before a restart); returns the key."""
    from sqlalchemy import select

    from api.db.models import User
    from api.db.session import Database
    from api.services.keys import create_key
    from api.services.users import NewUser, create_user

    db = Database(url)
    with db.session() as s:
        for name, role, teams in (("admin", "admin", []), ("lead", "team_lead", [team])):
            if s.scalar(select(User.id).where(User.username == name)) is None:
                create_user(s, NewUser(name, PASSWORD, role, None, teams))
        key, _ = create_key(s, "benchmark", ["ingest", "read"])
    db.dispose()
    return key


def _wait_for_warmup(app: Any, started: float, timeout: float = 600) -> dict[str, Any]:
    """Wait until the service's start-up warm-up (``api.web.warmup``) is done; what it did, and ``after_start_s``:
    how long after the start it was done."""
    while getattr(app.state, "workspace_warmup", None) is None:
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the workspace warm-up did not finish")
        time.sleep(0.05)
    return {**app.state.workspace_warmup, "after_start_s": round(time.perf_counter() - started, 2)}


def measure(url: str, repeats: int, team: str, warmup: bool = True) -> dict[str, Any]:
    """Sign in as an admin and a team lead of ``team`` and time each page; with ``warmup``, after the service's
    start-up warm-up is done (its figures under ``"warmup"``)."""
    sys.path.insert(0, str(ROOT / "tests" / "api"))
    from api_fakes import FakePipeline
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import ServiceSettings

    settings = ServiceSettings(database_url=url, registry_dir=Path(tempfile.mkdtemp()), model_poll_s=0, workspace_warmup=warmup)
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    pages = {"overview": "/app/overview", "overview, app channel, last 30 days": f"/app/overview?channel=app&since={month_ago}",
             "overview per week": "/app/overview?period=week", "team page": f"/app/teams/{team}",
             "team page, NL, last 30 days": f"/app/teams/{team}?country=NL&since={month_ago}", "leaderboard": "/app/leaderboard"}
    out: dict[str, Any] = {}
    counter = iter(range(10**6))
    key = _setup(url, team)
    started = time.perf_counter()
    with TestClient(create_app(settings, pipeline=FakePipeline())) as client:
        if warmup:
            out["warmup"] = _wait_for_warmup(client.app, started)
            print(f"warm-up: {out['warmup']}", flush=True)
        for user in ("admin", "lead"):
            _sign_in(client, user)
            for label, path in pages.items():
                out[f"{user}: {label}"] = _page(client, path, repeats, lambda: _new_answer(client, key, next(counter)))
                print(f"{user:6s} {label:36s} {json.dumps({k: v for k, v in out[f'{user}: {label}'].items() if k != 'path'})}",
                      flush=True)
        resolved = _resolve_one(client, team)
        ms, cpu = _get(client, f"/app/teams/{team}")
        out[f"lead: team page, after resolving an alert there ({'one resolved' if resolved else 'none open'})"] = {
            "path": f"/app/teams/{team}", "after_resolve_ms": ms, "after_resolve_cpu_ms": cpu}
        queue = "/v1/alerts?open_only=true&limit=50"
        out["API (admin key): alert queue, open, 50"] = _page(client, queue, repeats, lambda: _new_answer(client, key, next(counter)),
                                                              headers={"Authorization": f"Bearer {key}"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to build or reuse (default: a temporary one)")
    parser.add_argument("--url", default=None, help="a database URL instead (PostgreSQL: an empty database, or one this built)")
    parser.add_argument("--team", default="customer-service", help="the team whose page is timed")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "workspace.json"), help="results JSON, or - for none")
    parser.add_argument("--before", type=Path, default=None,
                        help="the results JSON of a run on earlier code (same database and machine), kept beside these figures")
    parser.add_argument("--before-label", default="earlier code", help="what --before measured (e.g. a commit)")
    parser.add_argument("--no-warmup", action="store_true", help="time the pages without the service's start-up warm-up")
    parser.add_argument("--also-without-warmup", action="store_true",
                        help="then start the service again without its warm-up and keep each page's first view beside")
    args = parser.parse_args()
    from run_all import machine_description

    path = args.db or Path(tempfile.mkdtemp()) / "workspace.db"
    url = args.url or f"sqlite:///{path}"
    if not _has_answers(url):
        t0 = time.perf_counter()
        build(url, args.responses)
        print(f"built {args.responses:,} responses in {time.perf_counter() - t0:.0f} s ({url})", flush=True)
    load_before = os.getloadavg()
    pages = measure(url, args.repeats, args.team, warmup=not args.no_warmup)
    warmup = pages.pop("warmup", None)
    timed = [p for p in pages.values() if "median_ms" in p]
    result = {"benchmark": "workspace page render times (in-process client)", "database": url.split(":")[0].split("+")[0],
              "responses": args.responses, "repeats": args.repeats, "machine": machine_description(),
              "load_average_1min_before": round(load_before[0], 2), "load_average_1min_at_end": round(os.getloadavg()[0], 2),
              "goal_ms": 300, "slowest_median_ms": max(p["median_ms"] for p in timed),
              "slowest_cold_ms": max(p["cold_ms"] for p in timed),
              "slowest_after_new_answer_ms": max(p["after_new_answer_ms"] for p in timed),
              "cold": "the first view after the start" + (", once the start-up warm-up was done (warmup)" if warmup else
                                                          ", the start-up warm-up off"),
              "warmup": warmup, "pages": pages}
    if args.also_without_warmup:
        again = measure(url, 1, args.team, warmup=False)
        result["without_warmup"] = {"load_average_1min_at_end": round(os.getloadavg()[0], 2), "cold": "the first view after "
                                    "a start with the warm-up off", "pages": {name: {k: page[k] for k in ("cold_ms", "cold_cpu_ms")}
                                                                              for name, page in again.items() if "cold_ms" in page}}
    if args.before is not None:
        before = json.loads(args.before.read_text(encoding="utf-8"))
        result["before"] = {"code": args.before_label, **{k: before[k] for k in ("load_average_1min_before", "load_average_1min_at_end")
                                                           if k in before},
                            "pages": {name: {k: v for k, v in page.items() if k != "path"} for name, page in before["pages"].items()}}
    if args.out != "-":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


def _has_answers(url: str) -> bool:
    """Whether the database at ``url`` exists and holds answers already."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM responses LIMIT 1")).first())
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
