"""History import: 100,000 past answers through ``POST /v1/responses/bulk?mode=history``.

    python benchmarks/history_import.py [--answers 100000] [--batch 5000] [--postgres URL] [--output PATH]

The answers span two years up to now (1% of them from the last week), a fifth of them urgent detractor answers and
half of them promoters with a comment, from 40,000 customers. They go through the service's bulk endpoint in
history mode, in requests of ``--batch``, on a SQLite file (or ``--postgres``, emptied first) with webhooks
configured. The model is the tests' fake pipeline (keyword rules with the real urgency detector, taxonomy and
routing: tests/api/api_fakes.py), so the figure is the service's own cost: validation, quarantine flags, storage,
alerts and outbox, not the encoder's (benchmarks/throughput.py measures that).

Checked afterwards, from the database: no ``promoter.thank_you`` queued, no alert left open (or ``alert.created``
queued) for an answer that was older than ``NPS_HISTORY_ALERT_AGE_DAYS`` (default 7) when it was stored. Writes
benchmarks/results/history_import.json; exits with status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "api"))

URGENT = ["The site is down and I am cancelling", "Het is al dagen een storing, ik zeg op",
          "Appen er nede igjen, jeg sier opp avtalen", "You charged me twice and nobody calls back, I will cancel"]
PRAISE = ["Great staff, fast delivery", "Vriendelijk personeel en snel geholpen", "Flott service, veldig fornøyd",
          "Good app, cheap price"]
NEUTRAL = ["The invoice was late", "Prima, maar de levering duurde lang", "Greit nok", ""]


def answers(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        days = rng.uniform(0, 7) if rng.random() < 0.01 else rng.uniform(7.01, 730)
        kind = rng.random()
        if kind < 0.2:
            score, text = rng.randrange(0, 4), rng.choice(URGENT)
        elif kind < 0.7:
            score, text = rng.choice([9, 10]), rng.choice(PRAISE)
        else:
            score, text = rng.randrange(4, 9), rng.choice(NEUTRAL)
        out.append({"external_id": f"h-{i}", "score": score, "text": text, "customer_id": f"c{rng.randrange(40_000)}",
                    "timestamp": (now - timedelta(days=days)).isoformat(), "segments": {"channel": rng.choice(["email", "app"])}})
    return out


def check(db: Any, age_days: float) -> dict[str, Any]:
    """What the import left behind: queued events by type, alerts by status, and the two goals, each judged by the
    answer's age when its alert was created (the import itself takes minutes, so an answer can age past the limit
    after its alert was rightly opened)."""
    from sqlalchemy import func, select

    from api.db.models import Alert, OutboxEvent, Response

    age = timedelta(days=age_days)
    with db.session() as s:
        events = dict(s.execute(select(OutboxEvent.event_type, func.count()).group_by(OutboxEvent.event_type)).all())
        statuses = dict(s.execute(select(Alert.status, func.count()).group_by(Alert.status)).all())
        opened = s.execute(select(Alert.created_at, Response.timestamp).join(Response, Response.id == Alert.response_id)
                           .where(Alert.status != "resolved")).all()
        created = s.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "alert.created")).all()
        stored = s.scalar(select(func.count()).select_from(Response)) or 0
        flagged = s.scalar(select(func.count()).select_from(Response).where(Response.quarantine_breach.is_not(None))) or 0
    old_open = sum(at - answered > age for at, answered in opened)
    created_for_old = sum(datetime.fromisoformat(p["created_at"]) - datetime.fromisoformat(p["data"]["response"]["timestamp"])
                          > age for p in created)
    return {"stored": stored, "quarantine_flagged": flagged, "events_queued": events, "alerts_by_status": statuses,
            "thank_yous": events.get("promoter.thank_you", 0), "old_alerts_open": old_open,
            "alert_created_for_old_answers": created_for_old}


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from api_fakes import FakePipeline
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import ServiceSettings

    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    settings = ServiceSettings(database_url=url, require_auth=False, model_poll_s=0, max_bulk=args.batch,
                               webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret="bench", outbox_poll_s=3600,
                               registry_dir=Path(tempfile.gettempdir()) / "nps-bench-registry", log_level="WARNING")
    rows = answers(args.answers, args.seed)
    created = 0
    with TestClient(create_app(settings, pipeline=FakePipeline())) as client:
        start = time.perf_counter()
        for i in range(0, len(rows), args.batch):
            r = client.post("/v1/responses/bulk?mode=history", json={"responses": rows[i:i + args.batch]})
            assert r.status_code == 200, r.text[:300]
            created += r.json()["created"]
        elapsed = time.perf_counter() - start
        result = check(client.app.state.nps.db, settings.history_alert_age_days)
    return {"created": created, "seconds": round(elapsed, 1), "answers_per_s": round(created / elapsed, 1), **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--postgres", help="a PostgreSQL database to use (emptied first)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "history_import.json")
    args = parser.parse_args()
    result: dict[str, Any] = {"answers": args.answers, "batch": args.batch, "model": "fake pipeline (tests/api/api_fakes.py)",
                              "history_alert_age_days": 7.0, "cpus": os.cpu_count(),
                              "load_average_1m_at_start": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = run(f"sqlite:///{tmp}/history.db", args)
    if args.postgres:
        result["postgresql"] = run(args.postgres, args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    bad = [f"{db}: {k} = {result[db][k]}" for db in ("sqlite", "postgresql") if db in result
           for k in ("thank_yous", "old_alerts_open", "alert_created_for_old_answers") if result[db][k]]
    bad += [f"{db}: {result[db]['created']} of {args.answers} stored" for db in ("sqlite", "postgresql")
            if db in result and result[db]["created"] != args.answers]
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
