"""Soak test of the service: memory (RSS) of the server process after N requests of a realistic mix.

The server runs in its own process (``uvicorn``, this script in ``--serve`` mode) on a throw-away SQLite file
(or ``--database-url``); one keep-alive client sends, in turn: a classify of one answer, an ingest of a new
response (every 5th request), NPS, the response list, the alert queue, and a bad request (422). At every
checkpoint it prints the server's RSS, the requests/s so far and the ratio to the first checkpoint, and at the end
writes them to ``benchmarks/results/soak-PIPELINE.json``.

    python benchmarks/soak.py                                 # 10k, 50k, 100k requests, fake pipeline
    python benchmarks/soak.py --pipeline real                 # the real model (about 30 requests/s on 2 cores)
    python benchmarks/soak.py --checkpoints 2000,5000         # a quick look

``--pipeline fake`` serves the keyword stand-in of the tests (``tests/api/api_fakes.py``): it measures the
service around the model (routing, validation, database, metrics, logs) at a few hundred requests/s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def serve(port: int, database_url: str, pipeline: str) -> None:
    """Run the service (``--serve`` mode, in the child process)."""
    import logging

    import uvicorn

    from api.main import create_app
    from api.settings import ServiceSettings

    fake = None
    if pipeline == "fake":
        sys.path.insert(0, str(ROOT / "tests" / "api"))
        from api_fakes import FakePipeline

        fake = FakePipeline()
    logging.getLogger("nps_nlp.api").disabled = True  # one JSON line per request would dominate the run
    settings = ServiceSettings(database_url=database_url, require_auth=False, model_poll_s=0, log_level="ERROR")
    uvicorn.run(create_app(settings, pipeline=fake), host="127.0.0.1", port=port, log_level="error", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(client: Any, i: int) -> int:
    kind = i % 6
    if kind == 0:
        r = client.post("/v1/classify", json={"answers": [{"text": f"The invoice was wrong again ({i})", "score": i % 11}]})
    elif kind == 1 and i % 5 == 1:
        r = client.post("/v1/responses", json={"external_id": f"soak-{i}", "score": i % 11,
                                               "text": "Great staff but the app keeps crashing", "segments": {"team": "north"}})
    elif kind == 2:
        r = client.get("/v1/nps", params={"period": "week"})
    elif kind == 3:
        r = client.get("/v1/responses", params={"limit": 10})
    elif kind == 4:
        r = client.get("/v1/alerts", params={"limit": 10, "open_only": True})
    else:
        bad = json.dumps({"external_id": "x", "score": 99, "text": "\ud800", "revenue": 1})  # ASCII: \ud800 escaped
        r = client.post("/v1/responses", content=bad, headers={"content-type": "application/json"})
    return r.status_code


def soak(checkpoints: list[int], pipeline: str, database_url: str | None) -> list[dict[str, float]]:
    """Start the server, send ``max(checkpoints)`` requests and return RSS and throughput at each checkpoint."""
    import httpx

    tmp = tempfile.mkdtemp(prefix="nps-soak-")
    url = database_url or f"sqlite:///{tmp}/soak.db"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(port), "--database-url", url,
                             "--pipeline", pipeline], env=env, cwd=tmp)
    rows: list[dict[str, float]] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(600):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            print(f"server pid {proc.pid}, RSS at start {rss_mb(proc.pid):.0f} MB, load average {os.getloadavg()[0]:.2f}")
            started, errors, done = time.perf_counter(), 0, 0
            for target in sorted(checkpoints):
                while done < target:
                    errors += _request(client, done) >= 500
                    done += 1
                elapsed = time.perf_counter() - started
                row = {"requests": done, "rss_mb": rss_mb(proc.pid), "requests_per_s": done / elapsed, "errors_5xx": errors}
                row["vs_first"] = row["rss_mb"] / rows[0]["rss_mb"] if rows else 1.0
                rows.append(row)
                print(f"after {done:>7,} requests: RSS {row['rss_mb']:7.0f} MB ({row['vs_first']:.3f}x the first checkpoint), "
                      f"{row['requests_per_s']:.0f} requests/s, 5xx {errors}, load average {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default="10000,50000,100000", help="comma-separated request counts")
    parser.add_argument("--pipeline", choices=["fake", "real"], default="fake")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.database_url, args.pipeline)
        return
    load = os.getloadavg()[0]
    rows = soak([int(n) for n in args.checkpoints.split(",")], args.pipeline, args.database_url)
    result = {"what": "RSS of the uvicorn server process after N requests of a mix: classify one answer, ingest, NPS, "
                      "response list, alert queue, a bad request", "pipeline": args.pipeline,
              "database": "postgresql" if args.database_url and args.database_url.startswith("postgresql") else "sqlite",
              "cpus": os.cpu_count(), "load_average_1m_at_start": round(load, 2),
              "checkpoints": [{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()} for row in rows],
              "last_vs_first": round(rows[-1]["vs_first"], 3) if rows else None}
    target = ROOT / "benchmarks" / "results" / f"soak-{args.pipeline}.json"
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {target}")


if __name__ == "__main__":
    main()
