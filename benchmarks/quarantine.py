"""Survey quarantine: how long "may we survey these 100,000 customers now?" takes.

    python benchmarks/quarantine.py [--customers 100000] [--postgres URL] [--output PATH]

A database is filled with a contact history (by default: 300,000 logged surveys over two years for 150,000
customers, 200,000 answers from 120,000 customers with a 2% share of open and resolved alerts), then the list of
``--customers`` ids (two thirds known, a third new) is checked with ``api.services.quarantine.check``, the code
behind ``POST /v1/surveys/eligibility`` and ``nps-nlp quarantine check``: a few set-based queries whatever the
list's length. Timed: the check itself (median of ``--repeats`` runs, warm database), and the whole HTTP request on
the service through an in-process client (JSON in; out either a verdict per customer, the default, or
``"results": "not_eligible"``, only the customers who may not be surveyed). Wall time, process CPU time (client and
service share the process), the CPU time of a PostgreSQL server on this machine, and the 1-minute load average
before and after each part, as the machine may be shared. SQLite always; PostgreSQL when ``--postgres`` names a server database (it
is emptied first, then vacuumed and analysed, as autovacuum does after a bulk load).

Writes benchmarks/results/quarantine.json and exits with status 1 when a median request for every customer takes
2 s or more.
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "api"))

LIMIT_S = 2.0


def fill(url: str, n_sent: int, n_answers: int, seed: int) -> dict[str, int]:
    """Create the schema and a contact history at ``url``; returns the row counts."""
    from sqlalchemy import delete

    from api.db.models import Alert, Response, SurveySent
    from api.db.session import Database, migrate

    rng = random.Random(seed)
    now = datetime.now(UTC)
    db = Database(url)
    migrate(db)
    with db.session() as s:
        for table in (Alert, Response, SurveySent):
            s.execute(delete(table))
    sent = [{"customer_id": f"c{rng.randrange(150_000)}", "channel": rng.choice(["email", "sms", "app"]),
             "sent_at": now - timedelta(days=rng.uniform(0, 730)), "survey_id": None, "created_at": now}
            for _ in range(n_sent)]
    answers, alerts = [], []
    for i in range(n_answers):
        score = rng.randrange(11)
        answers.append({"id": i + 1, "external_id": f"r{i}", "score": score, "band": "x", "text": "", "lang": "en",
                        "timestamp": now - timedelta(days=rng.uniform(0, 730)), "customer_id": f"c{rng.randrange(120_000)}",
                        "channel": rng.choice(["email", "sms", "app"]), "sentiment": "neutral", "sentiment_score": 0.0,
                        "urgency_level": "none", "urgent": False, "analysis": {}, "model_id": "bench", "created_at": now})
        if rng.random() < 0.02:
            alerts.append({"response_id": i + 1, "level": "high", "reasons": [], "team": None,
                           "status": rng.choice(["new", "resolved"]), "due_at": now, "created_at": now, "updated_at": now})
    with db.session() as s:
        for rows, table in ((sent, SurveySent.__table__), (answers, Response.__table__), (alerts, Alert.__table__)):
            for i in range(0, len(rows), 20_000):
                s.execute(table.insert(), rows[i:i + 20_000])
    if url.startswith("postgresql"):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    db.dispose()
    return {"surveys_sent": n_sent, "responses": n_answers, "alerts": len(alerts)}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _server_cpu(url: str) -> float | None:
    """CPU seconds used so far by the backends of ``url``'s PostgreSQL database when the server runs on this
    machine (read from /proc), else ``None``."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if not u.drivername.startswith("postgresql") or u.host not in (None, "localhost", "127.0.0.1"):
        return None
    import psycopg

    with psycopg.connect(u.set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        pids = [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                               " AND pid <> pg_backend_pid()")]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class _Clock:
    """Wall time, this process's CPU time and the local PostgreSQL server's CPU time of repeated runs, and the
    1-minute load average before and after them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.server: list[float] = []
        self.load_before = _load()

    @contextmanager
    def run(self) -> Iterator[None]:
        server = _server_cpu(self.url)
        start, start_cpu = time.perf_counter(), time.process_time()
        yield
        self.wall.append(time.perf_counter() - start)
        self.cpu.append(time.process_time() - start_cpu)
        if server is not None and (after := _server_cpu(self.url)) is not None:
            self.server.append(after - server)

    def summary(self) -> dict[str, Any]:
        out = {"median_s": round(statistics.median(self.wall), 3), "runs_s": [round(t, 3) for t in self.wall],
               "median_cpu_s": round(statistics.median(self.cpu), 3), "load_1m": [self.load_before, _load()]}
        if self.server:
            out["median_server_cpu_s"] = round(statistics.median(self.server), 3)
        return out


def time_check(url: str, ids: list[str], repeats: int) -> dict[str, Any]:
    """Median wall and CPU time of ``quarantine.check`` over ``ids``, and what it found."""
    from api.db.session import Database
    from api.services.quarantine import check
    from api.settings import ServiceSettings

    settings = ServiceSettings(database_url=url)
    db = Database(url)
    verdicts = []
    clock = _Clock(url)
    for _ in range(repeats):
        with db.session() as s, clock.run():
            verdicts = check(s, settings, ids)
    db.dispose()
    reasons: dict[str, int] = {}
    for v in verdicts:
        for code in v.reasons:
            reasons[code] = reasons.get(code, 0) + 1
    return {**clock.summary(), "eligible": sum(v.eligible for v in verdicts),
            "not_eligible": sum(not v.eligible for v in verdicts), "reasons": reasons}


def time_http(url: str, ids: list[str], repeats: int, results: str) -> dict[str, Any]:
    """Median wall and CPU time of ``POST /v1/surveys/eligibility`` with ``ids`` (in-process client, fake
    pipeline), listing ``results`` (``all`` or ``not_eligible``)."""
    from api_fakes import FakePipeline
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import ServiceSettings

    settings = ServiceSettings(database_url=url, require_auth=False, model_poll_s=0,
                               registry_dir=Path(tempfile.gettempdir()) / "nps-bench-registry")
    size = 0
    with TestClient(create_app(settings, pipeline=FakePipeline())) as client:
        client.post("/v1/surveys/eligibility", json={"customer_ids": ids[:10]})  # the first request's set-up
        clock = _Clock(url)
        for _ in range(repeats):
            with clock.run():
                r = client.post("/v1/surveys/eligibility", json={"customer_ids": ids, "results": results})
            size = len(r.content)
            assert r.status_code == 200 and r.json()["checked"] == len(ids), r.text[:300]
    return {**clock.summary(), "response_bytes": size}


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    rows = fill(url, args.sent, args.answers, args.seed)
    rng = random.Random(args.seed + 1)
    ids = [f"c{i}" for i in rng.sample(range(225_000), args.customers)]  # c150000+ are new customers
    return {"rows": rows, "check": time_check(url, ids, args.repeats),
            "http": time_http(url, ids, args.repeats, "all"),
            "http_not_eligible_only": time_http(url, ids, args.repeats, "not_eligible")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--sent", type=int, default=300_000)
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--postgres", help="a PostgreSQL database to fill (emptied first)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "quarantine.json")
    args = parser.parse_args()
    result: dict[str, Any] = {"customers": args.customers, "limit_s": LIMIT_S, "cpus": os.cpu_count(),
                              "load_average_1m_at_start": round(os.getloadavg()[0], 1),
                              "what": "check: api.services.quarantine.check (median of repeats, warm database); "
                                      "http: the whole POST /v1/surveys/eligibility through an in-process client, "
                                      "a verdict per customer; http_not_eligible_only: the same with results "
                                      "not_eligible; cpu: process time of client and service; server_cpu: the local "
                                      "PostgreSQL backends' CPU time; "
                                      "load_1m: 1-minute load average before and after"}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = run(f"sqlite:///{tmp}/quarantine.db", args)
    if args.postgres:
        result["postgresql"] = run(args.postgres, args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    slow = [db for db in ("sqlite", "postgresql") if db in result and result[db]["http"]["median_s"] >= LIMIT_S]
    if slow:
        print(f"a request for {args.customers:,} customers took {LIMIT_S} s or more on {', '.join(slow)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
