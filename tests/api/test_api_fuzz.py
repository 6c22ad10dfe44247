"""A bounded schemathesis run over every operation of the OpenAPI document, against a real uvicorn server on
SQLite and (when a server is on localhost) PostgreSQL: no request may get a 5xx.

``NPS_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 20: about 800 requests per database);
``NPS_FUZZ_REPORT`` names a JSON file that gets the requests by database and status. ``benchmarks/fuzz.py`` runs
this module with both for the large runs whose figures are in benchmarks/RESULTS.md."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the fuzz test needs the dev extra: pip install 'nps-nlp[dev]'")

from api_fakes import FakePipeline  # noqa: E402
from conftest import PG_ADMIN_URL, _pg_admin  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

EXAMPLES = int(os.environ.get("NPS_FUZZ_EXAMPLES", "20"))
STATUSES: Counter[tuple[str, int]] = Counter()
"""(database, status) -> requests, over the whole run (printed at the end of the module)."""


def _database(kind: str, tmp: Any) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'nps.db'}", None
    admin = _pg_admin()
    if isinstance(admin, str):
        pytest.skip(admin)
    name = f"nps_api_fuzz_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", (admin, name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A uvicorn server on a free local port with the fake pipeline, one seeded response and an admin key."""
    import httpx
    import uvicorn

    from api.main import create_app
    from api.services.keys import create_key
    from api.settings import ServiceSettings

    tmp = tmp_path_factory.mktemp("fuzz")
    url, pg = _database(request.param, tmp)
    app = create_app(ServiceSettings(database_url=url, registry_dir=tmp / "registry", model_poll_s=0), pipeline=FakePipeline())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not uv.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with app.state.nps.db.session() as session:
            key, _ = create_key(session, "fuzz", ["admin"])
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}
        httpx.post(f"{base}/v1/responses", headers=headers,
                   json={"external_id": "fuzz-seed", "score": 1, "text": "The site is down, I am cancelling"})
        yield {"base": base, "headers": headers, "db": request.param}
    finally:
        uv.should_exit = True
        thread.join(15)
        if pg is not None:
            admin, name = pg
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def _operations() -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The operations by label, and the (label, mode) pairs to run: negative cases only where there is an input."""
    from api.main import create_app

    document = create_app().openapi()
    spec = schemathesis.openapi.from_dict(document)
    operations = {op.label: op for op in (result.ok() for result in spec.get_all_operations())}
    runs = []
    for label in sorted(operations):
        method, path = label.split(" ", 1)
        definition = document["paths"][path][method.lower()]
        runs.append((label, "positive"))
        if definition.get("parameters") or definition.get("requestBody"):
            runs.append((label, "negative"))
    return operations, runs


OPERATIONS, RUNS = _operations()


@pytest.mark.parametrize(("label", "mode"), RUNS)
def test_no_operation_answers_with_a_server_error(label: str, mode: str, server: dict[str, Any]) -> None:
    """Cases that schemathesis generates from the operation's schema: valid ones (positive) and ones that break
    it (negative: wrong types, missing fields, out-of-range values)."""
    from hypothesis import given
    from schemathesis.generation.modes import GenerationMode

    @given(case=OPERATIONS[label].as_strategy(GenerationMode(mode)))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call(base_url=server["base"], headers=server["headers"], timeout=30)
        STATUSES[(server["db"], response.status_code)] += 1
        assert response.status_code < 500, f"{label} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        if response.status_code >= 400:
            assert isinstance(response.json().get("detail"), str), response.text[:300]

    run()


def test_fuzz_summary() -> None:
    """Runs last in the module: prints how many requests each database got, by status (see -s)."""
    report: dict[str, dict[str, int]] = {}
    for db in sorted({db for db, _ in STATUSES}):
        counts = {status: n for (d, status), n in sorted(STATUSES.items()) if d == db}
        report[db] = {str(status): n for status, n in counts.items()}
        print(f"\nschemathesis on {db}: {sum(counts.values())} requests, by status {counts}, "
              f"5xx: {sum(n for s, n in counts.items() if s >= 500)}")
    if os.environ.get("NPS_FUZZ_REPORT"):
        with open(os.environ["NPS_FUZZ_REPORT"], "w", encoding="utf-8") as f:
            json.dump({"examples_per_operation_and_mode": EXAMPLES, "statuses": report}, f)
    assert not any(status >= 500 for _, status in STATUSES)
