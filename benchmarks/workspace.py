"""Render times of the team workspace's pages with 100,000 stored responses.

Builds (or reuses) a SQLite database of synthetic answers spread over a year: scores, segments, themes routed
to the taxonomy's teams, urgent answers with alerts (some contacted, some resolved) and action items; then
signs in through the app (the keyword stand-in pipeline of the tests, ``tests/api/api_fakes.py``: the pages do
not run the model) and times each page: the company overview and a team's page, as an admin and as a team
lead, without and with filters. Each page is fetched once cold, then ``--repeats`` times; the median and the
slowest of those are reported in milliseconds.

Usage (from the repository root)::

    python benchmarks/workspace.py                       # 100,000 responses, results/workspace.json
    python benchmarks/workspace.py --responses 20000 --repeats 3 --out -
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
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


def build(url: str, n: int, seed: int = 7) -> None:
    """Fill an empty database at ``url`` with ``n`` synthetic responses and their themes, alerts and items."""
    from sqlalchemy import insert

    from api.db.models import ActionItem, Alert, AlertEvent, Response, ResponseTheme
    from api.db.session import Database, migrate
    from nps_nlp.nps import nps_band
    from nps_nlp.taxonomy import load_taxonomy

    rng = random.Random(seed)
    themes = [(t.id, t.team or "unassigned") for t in load_taxonomy().themes]
    db = Database(url)
    migrate(db)
    now = datetime.now(UTC)
    chunk = 5000
    alert_id = 0
    with db.session() as s:
        for start in range(0, n, chunk):
            responses, tags, alerts, events = [], [], [], []
            for rid in range(start + 1, min(n, start + chunk) + 1):
                score = rng.choices(range(11), weights=(3, 2, 2, 3, 3, 4, 6, 10, 14, 18, 15))[0]
                text = rng.choice(TEXTS)
                sentiment = "negative" if score <= 6 else "positive" if score >= 9 else "neutral"
                picked = rng.sample(themes, rng.choice((0, 1, 1, 2)))
                when = now - timedelta(days=rng.random() * 365)
                urgent = score <= 2 and rng.random() < 0.35
                kinds = [("problem" if sentiment == "negative" else "praise" if sentiment == "positive" else "mention")
                         for _ in picked]
                analysis = {"themes": [{"theme": th, "sentiment": sentiment, "confidence": 0.9,
                                        "evidence": {"text": text[:12], "start": 0, "end": 12}} for th, _ in picked],
                            "routing": [{"theme": th, "team": team, "kind": k} for (th, team), k in zip(picked, kinds, strict=True)]}
                responses.append({"id": rid, "external_id": f"bench-{rid}", "score": score, "band": nps_band(score), "text": text,
                                  "lang": rng.choice(LANGS), "timestamp": when, "customer_id": f"c{rng.randrange(20000)}",
                                  "team": rng.choice(FRONTLINE), "department": None, "channel": rng.choice(CHANNELS),
                                  "touchpoint": None, "country": rng.choice(COUNTRIES), "sentiment": sentiment,
                                  "sentiment_score": -0.8 if sentiment == "negative" else 0.8,
                                  "urgency_level": "high" if urgent else "none", "urgent": urgent, "analysis": analysis,
                                  "model_id": "bench", "created_at": when})
                tags += [{"response_id": rid, "theme": th, "sentiment": sentiment, "confidence": 0.9, "team": team, "kind": k}
                         for (th, team), k in zip(picked, kinds, strict=True)]
                if urgent:
                    alert_id += 1
                    status = rng.choice(("new", "assigned", "contacted", "resolved", "resolved"))
                    alerts.append({"id": alert_id, "response_id": rid, "level": "high", "reasons": [], "status": status,
                                   "team": picked[0][1] if picked else None, "owner": "lead" if status != "new" else None,
                                   "due_at": when + timedelta(hours=48), "created_at": when, "updated_at": when})
                    events.append({"alert_id": alert_id, "at": when, "actor": "system", "kind": "created"})
                    if status in ("contacted", "resolved"):
                        events.append({"alert_id": alert_id, "at": when + timedelta(hours=rng.choice((5, 30, 70))), "actor": "lead",
                                       "kind": "status", "old": "assigned", "new": "contacted"})
            s.execute(insert(Response), responses)
            if tags:
                s.execute(insert(ResponseTheme), tags)
            if alerts:
                s.execute(insert(Alert), alerts)
                s.execute(insert(AlertEvent), events)
        s.execute(insert(ActionItem), [{"theme": th, "team": team, "title": f"fix {th}", "owner": "lead", "status": "open",
                                        "progress": 10, "notes": [], "due_at": now + timedelta(days=30), "created_at": now,
                                        "updated_at": now} for th, team in themes])
    db.dispose()


def measure(url: str, repeats: int, team: str) -> dict[str, Any]:
    """Sign in as an admin and a team lead of ``team`` and time each page."""
    sys.path.insert(0, str(ROOT / "tests" / "api"))
    from api_fakes import FakePipeline
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.services.users import NewUser, create_user
    from api.settings import ServiceSettings

    settings = ServiceSettings(database_url=url, registry_dir=Path(tempfile.mkdtemp()), model_poll_s=0)
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    pages = {"overview": "/app/overview", "overview, app channel, last 30 days": f"/app/overview?channel=app&since={month_ago}",
             "overview per week": "/app/overview?period=week", "team page": f"/app/teams/{team}",
             "team page, NL, last 30 days": f"/app/teams/{team}?country=NL&since={month_ago}"}
    out: dict[str, Any] = {}
    with TestClient(create_app(settings, pipeline=FakePipeline())) as client:
        with client.app.state.nps.db.session() as s:  # type: ignore[attr-defined]
            from sqlalchemy import select

            from api.db.models import User

            for name, role, teams in (("admin", "admin", []), ("lead", "team_lead", [team])):
                if s.scalar(select(User.id).where(User.username == name)) is None:
                    create_user(s, NewUser(name, PASSWORD, role, None, teams))
        import re

        for user in ("admin", "lead"):
            client.cookies.clear()
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/app/login").text).group(1)  # type: ignore[union-attr]
            assert client.post("/app/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
                               follow_redirects=False).status_code == 303
            for label, path in pages.items():
                t0 = time.perf_counter()
                first = client.get(path)
                cold = (time.perf_counter() - t0) * 1000
                assert first.status_code == 200, (path, first.status_code)
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    assert client.get(path).status_code == 200
                    times.append((time.perf_counter() - t0) * 1000)
                out[f"{user}: {label}"] = {"path": path, "cold_ms": round(cold, 1), "median_ms": round(statistics.median(times), 1),
                                           "max_ms": round(max(times), 1)}
                print(f"{user:6s} {label:40s} cold {cold:7.1f} ms  median {statistics.median(times):7.1f} ms", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to build or reuse (default: a temporary one)")
    parser.add_argument("--team", default="customer-service", help="the team whose page is timed")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "workspace.json"), help="results JSON, or - for none")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "workspace.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        t0 = time.perf_counter()
        build(url, args.responses)
        print(f"built {args.responses:,} responses in {time.perf_counter() - t0:.0f} s ({path})", flush=True)
    pages = measure(url, args.repeats, args.team)
    result = {"benchmark": "workspace page render times (in-process client, SQLite)", "responses": args.responses,
              "repeats": args.repeats, "cpu_count": os.cpu_count(), "load_average_1min_at_end": round(os.getloadavg()[0], 1),
              "goal_ms": 300,
              "slowest_median_ms": max(p["median_ms"] for p in pages.values()), "pages": pages}
    if args.out != "-":
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
