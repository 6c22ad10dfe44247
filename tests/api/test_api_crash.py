"""Durability: a server killed with SIGKILL in the middle of bulk ingest keeps every response it acknowledged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVER = """
import sys
sys.path.insert(0, {fakes!r})
import uvicorn
from api.main import create_app
from api.settings import ServiceSettings
from api_fakes import FakePipeline
settings = ServiceSettings(database_url=sys.argv[2], require_auth=False, model_poll_s=0, log_level="ERROR")
uvicorn.run(create_app(settings, pipeline=FakePipeline()), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
""".format(fakes=str(ROOT / "tests" / "api"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, database_url: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), database_url], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the service did not become ready within 60 s")


def test_sigkill_during_bulk_ingest_loses_nothing_acknowledged(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'nps.db'}"
    port = _free_port()
    proc = _start(port, database_url)
    acknowledged: list[str] = []
    sent_enough = threading.Event()

    def ingest() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for batch in range(10_000):
                items = [{"external_id": f"crash-{batch}-{i}", "score": (batch + i) % 11,
                          "text": "The invoice was wrong again" if i % 2 else "Great staff"} for i in range(10)]
                try:
                    r = client.post("/v1/responses/bulk", json={"responses": items})
                except httpx.TransportError:
                    return  # the server is gone
                if r.status_code == 200:
                    acknowledged.extend(res["external_id"] for res in r.json()["results"]
                                        if res["status"] in ("created", "duplicate"))
                if len(acknowledged) >= 200:
                    sent_enough.set()

    sender = threading.Thread(target=ingest)
    sender.start()
    try:
        assert sent_enough.wait(120), "fewer than 200 responses acknowledged in 120 s"
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of the stream of bulk requests
        proc.wait(10)
        sender.join(30)
        assert not sender.is_alive()
        proc = _start(port, database_url)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            missing = [ext for ext in acknowledged if client.get(f"/v1/responses/{ext}").status_code != 200]
        assert len(acknowledged) >= 200 and not missing, f"{len(missing)} of {len(acknowledged)} acknowledged lost"
    finally:
        proc.kill()
        proc.wait(10)
