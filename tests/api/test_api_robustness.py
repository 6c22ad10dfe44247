"""When things break: a JSON 500 that keeps the keep-alive connection, 503 with Retry-After while the database is
away (and recovery after), no answer text, customer id or key in any log line, list settings in both forms,
offline docs and declared security schemes."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from typing import Any

import pytest
from api_fakes import FakePipeline
from conftest import auth, new_key


def _serve(app: Any) -> tuple[Any, threading.Thread, int]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, thread, sock.getsockname()[1]


def test_an_unexpected_error_is_a_json_500_and_the_connection_stays_usable(sqlite_url, tmp_path):
    from api.main import create_app
    from api.settings import ServiceSettings

    settings = ServiceSettings(database_url=sqlite_url, registry_dir=tmp_path, model_poll_s=0, require_auth=False)
    server, thread, port = _serve(create_app(settings, pipeline=FakePipeline(fail_on="boom")))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/classify", body=json.dumps({"answers": [{"text": "boom"}]}),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and r.getheader("content-type") == "application/json"
        assert body["detail"].startswith("internal error") and r.getheader("connection") != "close"
        conn.request("GET", "/healthz")  # the same connection
        r2 = conn.getresponse()
        assert r2.status == 200 and json.loads(r2.read())["status"] == "ok"
        conn.close()
    finally:
        server.should_exit = True
        thread.join(10)


def test_database_unavailable_is_503_with_retry_after_and_recovers(make_client, sqlite_url, tmp_path):
    from api.db.session import Database

    c = make_client(sqlite_url)
    h = auth(new_key(c, "admin"))
    state = c.app.state.nps
    good = state.db.sessions
    state.db.sessions = Database(f"sqlite:///{tmp_path}/missing/dir/nps.db").sessions
    try:
        calls = [("POST", "/v1/responses", {"external_id": "d-1", "score": 3, "text": "x"}),
                 ("POST", "/v1/classify", {"answers": [{"text": "x"}]}), ("GET", "/v1/nps", None),
                 ("POST", "/v1/responses/bulk", {"responses": [{"external_id": "d-2", "score": 3, "text": "x"}]})]
        for method, url, body in calls:
            r = c.request(method, url, json=body, headers=h)
            assert r.status_code == 503, (url, r.text)
            assert r.headers["retry-after"] == "5" and "database unavailable" in r.json()["detail"]
    finally:
        state.db.sessions = good
    assert c.post("/v1/responses", json={"external_id": "d-1", "score": 3, "text": "x"}, headers=h).status_code == 201
    assert c.get("/v1/nps", headers=h).json()["overall"]["n"] == 1


SECRET_TEXTS = ["Mijn geheime klacht over factuur 4711-XYZ", "Hemmelig svar om fakturaen min QWERTY-99",
                "Secret answer about invoice ZZTOP-123"]
SECRET_CUSTOMERS = ["cust-PRIVATE-0001", "cust-PRIVATE-0002", "cust-PRIVATE-0003"]


@pytest.mark.parametrize("statement", ["SELECT * FROM no_such_table WHERE x = :t", "SELECT CAST(:t AS INTEGER)"])
def test_no_text_customer_or_key_in_any_log_line(make_client, db_url, caplog, capfd, monkeypatch, statement):
    """Everything a client sends, through successes, conflicts, validation errors, a database error whose
    message quotes the row (PostgreSQL does) and an unexpected exception that quotes the text: none of it logs."""
    from sqlalchemy import text as sql

    from api.services import store

    caplog.set_level(logging.DEBUG)
    c = make_client(db_url)
    key = new_key(c, "admin")
    h = auth(key)
    for i, (answer, customer) in enumerate(zip(SECRET_TEXTS, SECRET_CUSTOMERS, strict=True)):
        item = {"external_id": f"log-{i}", "score": i, "text": answer, "customer_id": customer}
        assert c.post("/v1/responses", json=item, headers=h).status_code == 201
        assert c.post("/v1/responses", json={**item, "score": 9}, headers=h).status_code == 409
        assert c.post("/v1/responses", json={**item, "lang": answer}, headers=h).status_code == 422
        assert c.post("/v1/classify", json={"answers": [{"text": answer, "id": customer}]}, headers=h).status_code == 200
        assert c.get(f"/v1/responses?customer_id={customer}", headers=h).status_code == 200

    def failing_store(session: Any, items: Any, *args: Any) -> Any:
        session.execute(sql(statement), {"t": items[0].text + " " + str(items[0].customer_id)})
        raise RuntimeError(f"failed on {items[0].text} for {items[0].customer_id}")

    monkeypatch.setattr(store, "store", failing_store)
    for i, (answer, customer) in enumerate(zip(SECRET_TEXTS, SECRET_CUSTOMERS, strict=True)):
        r = c.post("/v1/responses", json={"external_id": f"fail-{i}", "score": 1, "text": answer, "customer_id": customer},
                   headers=h)
        assert r.status_code in (422, 500, 503) and answer not in r.text
    out, err = capfd.readouterr()
    server = [r for r in caplog.records if not r.name.startswith("httpx")]  # the test client logs its own URLs
    logged = out + err + "".join(f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in server)
    assert "unhandled error" in logged or "database" in logged  # the failures were logged ...
    for secret in [*SECRET_TEXTS, *SECRET_CUSTOMERS, key]:
        assert secret not in logged  # ... without what was sent


@pytest.mark.parametrize(("value", "urls"), [
    ("http://host/hook", ["http://host/hook"]),
    ("http://a/h, https://b/h", ["http://a/h", "https://b/h"]),
    ('["http://a/h", "https://b/h"]', ["http://a/h", "https://b/h"]),
    ("", []),
])
def test_webhook_urls_take_comma_separated_and_json_lists(monkeypatch, value, urls):
    from api.settings import load_settings

    monkeypatch.setenv("NPS_WEBHOOK_URLS", value)
    monkeypatch.setenv("NPS_WEBHOOK_SECRET", "s3cret")
    assert load_settings().webhook_urls == urls


@pytest.mark.parametrize(("name", "value"), [("NPS_WEBHOOK_URLS", "[not json"), ("NPS_WEBHOOK_URLS", "ftp://token@x"),
                                             ("NPS_MAX_BODY_BYTES", "lots"), ("NPS_MAX_BULK", "0")])
def test_a_bad_setting_is_one_error_naming_the_variable(monkeypatch, name, value):
    from api.settings import load_settings
    from nps_nlp.errors import ConfigError

    monkeypatch.setenv("NPS_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert name in message and "token" not in message and len(message.splitlines()) == 2


def test_docs_work_offline_and_declare_the_security_schemes(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "cdn." not in html and "fonts.googleapis" not in html
        for asset in [part.split('"')[0] for part in html.split('="')[1:] if part.startswith("/static-offline-docs/")]:
            assert client.get(asset).status_code == 200, asset
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <api key>`"}
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    assert {"bearer": []} in spec["paths"]["/v1/classify"]["post"]["security"]
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert spec["paths"]["/v1/responses/{external_id}"]["put"]["responses"]["200"]
