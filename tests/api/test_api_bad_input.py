"""The bad-input catalogue: every request here gets a 2xx or a JSON 4xx with a short message, never a 5xx, on
SQLite and (when a server is on localhost) PostgreSQL. Bodies are sent as ASCII JSON, so lone surrogates such as
``\\ud800`` reach the service exactly as a client's JSON encoder would send them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from api_fakes import FakePipeline
from conftest import PG_ADMIN_URL, _pg_admin, auth, new_key
from fastapi.testclient import TestClient

_NO = object()
BIG = 2**63
HUGE = 2**64


def case(name: str, method: str, url: str, status: int, needle: str | None = None, *, body: Any = _NO,
         raw: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    return pytest.param(method, url, status, needle, body, raw, headers, id=name)


def _item(name: str, **patch: Any) -> dict[str, Any]:
    item = {"external_id": f"cat-{name}", "score": 5, "text": "The invoice was wrong", "timestamp": "2024-05-01T12:00:00Z"}
    for key, value in patch.items():
        if value is _NO:
            item.pop(key, None)
        else:
            item[key] = value
    return item


# (name, patch of a good response, status of a single ingest, needle in the error)
ITEMS: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("text-lone-high-surrogate", {"text": "\ud800"}, 422, "surrogate"),
    ("text-lone-low-surrogate", {"text": "\udfff"}, 422, "surrogate"),
    ("text-surrogate-inside", {"text": "ok \ud83d then"}, 422, "surrogate"),
    ("text-reversed-pair", {"text": "\ude00\ud83d"}, 422, "surrogate"),
    ("text-nul", {"text": "\x00"}, 422, "NUL"),
    ("text-nul-inside", {"text": "good\x00bad"}, 422, "NUL"),
    ("text-emoji-pair", {"text": "\U0001f600 great staff"}, 201, None),
    ("text-empty", {"text": ""}, 201, None),
    ("text-whitespace", {"text": " \t\n "}, 201, None),
    ("text-rtl", {"text": "الخدمة سيئة جدا"}, 201, None),
    ("text-combining", {"text": "e\u0301\u0301\u0301\u0301"}, 201, None),
    ("text-zero-width", {"text": "\u200b\u200d\ufeff"}, 201, None),
    ("text-control", {"text": "\x01\x07\x1b[31mred"}, 201, None),
    ("text-at-limit", {"text": "a" * 5000}, 201, None),
    ("text-over-limit", {"text": "a" * 5001}, 422, "over the limit"),
    ("text-1mb", {"text": "a" * 1_000_000}, 422, "over the limit"),
    ("text-int", {"text": 5}, 422, "text"),
    ("text-null", {"text": None}, 422, "text"),
    ("text-list", {"text": ["a"]}, 422, "text"),
    ("text-object", {"text": {"a": 1}}, 422, "text"),
    ("text-missing", {"text": _NO}, 422, "text"),
    ("ext-empty", {"external_id": ""}, 422, "external_id"),
    ("ext-nul", {"external_id": "a\x00b"}, 422, "NUL"),
    ("ext-surrogate", {"external_id": "id-\udbff"}, 422, "surrogate"),
    ("ext-too-long", {"external_id": "x" * 201}, 422, "external_id"),
    ("ext-at-limit", {"external_id": "x" * 200}, 201, None),
    ("ext-slashes", {"external_id": "a/b/c"}, 201, None),
    ("ext-unicode", {"external_id": "svar-ø-\U0001f600"}, 201, None),
    ("ext-sql", {"external_id": "x'); DROP TABLE responses;--"}, 201, None),
    ("ext-percent", {"external_id": "100%_"}, 201, None),
    ("ext-int", {"external_id": 5}, 422, "external_id"),
    ("ext-null", {"external_id": None}, 422, "external_id"),
    ("ext-missing", {"external_id": _NO}, 422, "external_id"),
    ("score-negative", {"score": -1}, 422, "score"),
    ("score-11", {"score": 11}, 422, "score"),
    ("score-float", {"score": 10.5}, 422, "score"),
    ("score-string", {"score": "5"}, 422, "score"),
    ("score-bool", {"score": True}, 422, "score"),
    ("score-null", {"score": None}, 422, "score"),
    ("score-1e308", {"score": 1e308}, 422, "score"),
    ("score-2^63", {"score": BIG}, 422, "score"),
    ("score-2^64", {"score": HUGE}, 422, "score"),
    ("score-minus-2^63", {"score": -BIG}, 422, "score"),
    ("score-list", {"score": [5]}, 422, "score"),
    ("score-0", {"score": 0}, 201, None),
    ("score-10", {"score": 10}, 201, None),
    ("ts-0001-plus-1", {"timestamp": "0001-01-01T00:00:00+01:00"}, 422, "outside"),
    ("ts-9999-minus-1", {"timestamp": "9999-12-31T23:59:59-01:00"}, 422, "outside"),
    ("ts-0001-utc", {"timestamp": "0001-01-01T00:00:00Z"}, 422, "plausible"),
    ("ts-9999-utc", {"timestamp": "9999-12-31T23:59:59Z"}, 422, "plausible"),
    ("ts-unix-string", {"timestamp": "0.5"}, 422, "ISO-8601"),
    ("ts-unix-float", {"timestamp": 0.5}, 422, "ISO-8601"),
    ("ts-unix-int", {"timestamp": 1714560000}, 422, "ISO-8601"),
    ("ts-empty", {"timestamp": ""}, 422, "ISO-8601"),
    ("ts-word", {"timestamp": "yesterday"}, 422, "ISO-8601"),
    ("ts-feb-30", {"timestamp": "2024-02-30T00:00:00"}, 422, "ISO-8601"),
    ("ts-hour-25", {"timestamp": "2024-05-01T25:00:00"}, 422, "ISO-8601"),
    ("ts-offset-25h", {"timestamp": "2024-05-01T12:00:00+25:00"}, 422, "ISO-8601"),
    ("ts-nul", {"timestamp": "2024-05-01T12:00:00\x00"}, 422, "NUL"),
    ("ts-1mb", {"timestamp": "2" * 1_000_000}, 422, "characters"),
    ("ts-list", {"timestamp": ["2024-05-01"]}, 422, "timestamp"),
    ("ts-date-only", {"timestamp": "2024-05-01"}, 201, None),
    ("ts-plus-14", {"timestamp": "2024-05-01T12:00:00+14:00"}, 201, None),
    ("ts-1900", {"timestamp": "1900-01-01T00:00:00Z"}, 201, None),
    ("ts-2199", {"timestamp": "2199-12-31T00:00:00Z"}, 201, None),
    ("ts-null", {"timestamp": None}, 201, None),
    ("cust-nul", {"customer_id": "acct\x00"}, 422, "NUL"),
    ("cust-surrogate", {"customer_id": "\ud800"}, 422, "surrogate"),
    ("cust-too-long", {"customer_id": "c" * 201}, 422, "customer_id"),
    ("cust-int", {"customer_id": 5}, 422, "customer_id"),
    ("cust-ok", {"customer_id": "acct-9"}, 201, None),
    ("lang-unknown", {"lang": "xx"}, 422, "not supported"),
    ("lang-1mb", {"lang": "x" * 1_000_000}, 422, "not supported"),
    ("lang-nul", {"lang": "\x00"}, 422, "lang"),
    ("lang-int", {"lang": 5}, 422, "lang"),
    ("lang-no", {"lang": "NO"}, 201, None),
    ("lang-empty", {"lang": ""}, 201, None),
    ("seg-unknown", {"segments": {"region": "x"}}, 422, "unknown segment field(s) ['region']"),
    ("seg-nul", {"segments": {"team": "a\x00"}}, 422, "NUL"),
    ("seg-surrogate", {"segments": {"country": "\udc80"}}, 422, "surrogate"),
    ("seg-too-long", {"segments": {"team": "a" * 101}}, 422, "team"),
    ("seg-list", {"segments": []}, 422, "segments"),
    ("seg-string", {"segments": "north"}, 422, "segments"),
    ("seg-int-value", {"segments": {"team": 5}}, 422, "team"),
    ("seg-surrogate-key", {"segments": {"\ud800": "x"}}, 422, "unknown segment"),
    ("seg-huge-key", {"segments": {"k" * 100_000: 1}}, 422, "unknown segment"),
    ("seg-null", {"segments": None}, 422, "segments"),
    ("extra-revenue", {"revenue": 100}, 422, "unknown field(s) 'revenue'"),
    ("extra-metadata", {"metadata": {"a": "b"}}, 422, "unknown field(s) 'metadata'"),
    ("extra-nul-key", {"\x00": 1}, 422, "unknown field"),
    ("extra-huge-key", {"k" * 100_000: 1}, 422, "unknown field"),
    ("extra-many", {f"f{i}": i for i in range(100)}, 422, "and 95 more"),
]

SINGLE = [case(f"ingest-{name}", "POST", "/v1/responses", status, needle, body=_item(name, **patch))
          for name, patch, status, needle in ITEMS]

# each bad item goes into a bulk with a good one: 200, the bad one is an error, the good one is stored
BULK = [case(f"bulk-{name}", "POST", "/v1/responses/bulk", 200, None,
             body={"responses": [_item(f"bulk-good-{name}"), _item(f"bulk-{name}", **patch)]})
        for name, patch, status, _ in ITEMS if status == 422]

JSON_CT = {"content-type": "application/json"}
BODIES = [
    case("body-list", "POST", "/v1/responses", 422, body=[]),
    case("body-string", "POST", "/v1/responses", 422, body="response"),
    case("body-null", "POST", "/v1/responses", 422, body=None),
    case("body-number", "POST", "/v1/responses", 422, body=5),
    case("body-empty-object", "POST", "/v1/responses", 422, "external_id", body={}),
    case("body-invalid-json", "POST", "/v1/responses", 422, raw=b'{"external_id": "a", score: 5}', headers=JSON_CT),
    case("body-truncated", "POST", "/v1/responses", 422, raw=b'{"external_id": "a", "score": 5, "te', headers=JSON_CT),
    case("body-nan-score", "POST", "/v1/responses", 422, "score", raw=b'{"external_id": "n", "score": NaN, "text": "x"}',
         headers=JSON_CT),
    case("body-infinity", "POST", "/v1/responses", 422, raw=b'{"external_id": "n", "score": Infinity, "text": "x"}',
         headers=JSON_CT),
    case("body-deep-nesting", "POST", "/v1/responses", 400, raw=b"[" * 100_000 + b"]" * 100_000, headers=JSON_CT),
    case("body-invalid-utf8", "POST", "/v1/responses", 400, raw=b'{"external_id": "u", "score": 5, "text": "\xff\xfe"}',
         headers=JSON_CT),
    case("body-empty", "POST", "/v1/responses", 422, raw=b"", headers=JSON_CT),
    case("body-text-plain", "POST", "/v1/responses", 422, raw=b'{"external_id": "p", "score": 5, "text": "x"}',
         headers={"content-type": "text/plain"}),
    case("body-over-limit", "POST", "/v1/responses/bulk", 413, "NPS_MAX_BODY_BYTES",
         raw=b'{"responses": [{"metadata": "' + b"m" * (17 * 2**20) + b'"}]}', headers=JSON_CT),
    case("body-over-limit-header", "POST", "/v1/classify", 413, "NPS_MAX_BODY_BYTES", raw=b"{}",
         headers={**JSON_CT, "content-length": str(2**40)}),
    case("bulk-empty", "POST", "/v1/responses/bulk", 422, "responses", body={"responses": []}),
    case("bulk-not-list", "POST", "/v1/responses/bulk", 422, "responses", body={"responses": {"a": 1}}),
    case("bulk-unknown-field", "POST", "/v1/responses/bulk", 422, "unknown field(s) 'items'",
         body={"responses": [_item("bulk-uf")], "items": []}),
    case("bulk-over-max", "POST", "/v1/responses/bulk", 413, "NPS_MAX_BULK", body={"responses": [{}] * 5001}),
    case("bulk-items-not-objects", "POST", "/v1/responses/bulk", 200, body={"responses": [1, "a", None, [], True]}),
]

CLASSIFY = [
    case("classify-surrogate", "POST", "/v1/classify", 422, "surrogate", body={"answers": [{"text": "\ud800"}]}),
    case("classify-nul", "POST", "/v1/classify", 422, "NUL", body={"answers": [{"text": "a\x00"}]}),
    case("classify-nan-metadata", "POST", "/v1/classify", 422, "not a JSON number",
         raw=b'{"answers": [{"text": "x", "metadata": {"a": NaN}}]}', headers=JSON_CT),
    case("classify-inf-metadata", "POST", "/v1/classify", 422, "not a JSON number",
         raw=b'{"answers": [{"text": "x", "metadata": {"a": [-Infinity]}}]}', headers=JSON_CT),
    case("classify-surrogate-metadata-key", "POST", "/v1/classify", 422, "surrogate",
         body={"answers": [{"text": "x", "metadata": {"\ud800": 1}}]}),
    case("classify-nul-metadata-deep", "POST", "/v1/classify", 422, "NUL",
         body={"answers": [{"text": "x", "metadata": {"a": [{"b": "\x00"}]}}]}),
    case("classify-metadata-ok", "POST", "/v1/classify", 200, body={"answers": [{"text": "x", "metadata": {"a": [1, {"b": None}]}}]}),
    case("classify-empty", "POST", "/v1/classify", 422, "answers", body={"answers": []}),
    case("classify-over-max", "POST", "/v1/classify", 413, "NPS_MAX_BATCH", body={"answers": [{"text": "x"}] * 257}),
    case("classify-id-too-long", "POST", "/v1/classify", 422, "id", body={"answers": [{"text": "x", "id": "i" * 201}]}),
    case("classify-unknown-field", "POST", "/v1/classify", 422, "unknown field(s) 'txt'", body={"answers": [{"txt": "x"}]}),
    case("classify-score-11", "POST", "/v1/classify", 422, "score", body={"answers": [{"text": "x", "score": 11}]}),
    case("classify-lang-1mb", "POST", "/v1/classify", 422, "not supported", body={"answers": [{"text": "x", "lang": "l" * 10**6}]}),
    case("classify-text-over", "POST", "/v1/classify", 422, "over the limit", body={"answers": [{"text": "a" * 5001}]}),
    case("classify-emoji", "POST", "/v1/classify", 200, body={"answers": [{"text": "\U0001f44d\U0001f3fd"}]}),
]

FILTERED = ["/v1/nps", "/v1/responses", "/v1/teams", "/v1/teams/finance/feed", "/v1/action-points",
            "/v1/action-points/passives"]
TIMES = [("since-0001-plus-1", "since=0001-01-01T00:00:00%2B01:00", 422), ("until-9999-minus-1", "until=9999-12-31T23:59:59-01:00", 422),
         ("until-0.5", "until=0.5", 422), ("since-unix", "since=1714560000", 422), ("since-0001-utc", "since=0001-01-01T00:00:00Z", 200),
         ("until-9999-utc", "until=9999-12-31T23:59:59Z", 200), ("team-nul", "team=%00", 422)]
QUERIES = [case(f"query-{ep.strip('/').replace('/', '-')}-{name}", "GET", f"{ep}?{q}", status)
           for ep in FILTERED for name, q, status in TIMES]
QUERIES += [
    case("responses-offset-1e20", "GET", f"/v1/responses?offset={10**20}", 422, "offset"),
    case("responses-offset-2^63", "GET", f"/v1/responses?offset={BIG}", 422, "offset"),
    case("responses-offset-negative", "GET", "/v1/responses?offset=-1", 422, "offset"),
    case("responses-offset-word", "GET", "/v1/responses?offset=many", 422, "offset"),
    case("responses-offset-max", "GET", f"/v1/responses?offset={2**31 - 1}", 200),
    case("responses-limit-0", "GET", "/v1/responses?limit=0", 422, "limit"),
    case("responses-limit-1e20", "GET", f"/v1/responses?limit={10**20}", 422, "limit"),
    case("responses-urgent-maybe", "GET", "/v1/responses?urgent=maybe", 422, "urgent"),
    case("responses-customer-nul", "GET", "/v1/responses?customer_id=a%00b", 422, "NUL"),
    case("responses-team-long", "GET", "/v1/responses?team=" + "t" * 201, 422, "team"),
    case("responses-since-empty", "GET", "/v1/responses?since=", 422, "since"),
    case("alerts-offset-1e20", "GET", f"/v1/alerts?offset={10**20}", 422, "offset"),
    case("alerts-status-bogus", "GET", "/v1/alerts?status=closed", 422, "status"),
    case("alerts-team-nul", "GET", "/v1/alerts?team=%00", 422, "NUL"),
    case("feed-offset-1e20", "GET", f"/v1/teams/finance/feed?offset={10**20}", 422, "offset"),
    case("feed-kind-bogus", "GET", "/v1/teams/finance/feed?kind=rant", 422, "kind"),
    case("webhooks-offset-1e20", "GET", f"/v1/webhooks/events?offset={10**20}", 422, "offset"),
    case("nps-period-year", "GET", "/v1/nps?period=year", 422, "period"),
    case("nps-by-bogus", "GET", "/v1/nps?by=region", 422, "by"),
    case("nps-by-customer", "GET", "/v1/nps?by=customer_id&period=week", 200),
    case("action-points-min-count-1e20", "GET", f"/v1/action-points?min_count={10**20}", 422, "min_count"),
    case("action-points-n-quotes-21", "GET", "/v1/action-points?n_quotes=21", 422, "n_quotes"),
    case("action-items-overdue-x", "GET", "/v1/action-items?overdue=x", 422, "overdue"),
]

PATHS = [case(f"alert-id-{name}", "GET", f"/v1/alerts/{value}", status) for name, value, status in [
    ("2^63", BIG, 422), ("2^64", HUGE, 422), ("2^31", 2**31, 422), ("max", 2**31 - 1, 404), ("0", 0, 422),
    ("negative", -1, 422), ("word", "abc", 422), ("float", 1.5, 422), ("exp", "1e3", 422)]]
PATHS += [
    case("alert-patch-2^63", "PATCH", f"/v1/alerts/{BIG}", 422, body={"note": "x"}),
    case("alert-patch-2^64", "PATCH", f"/v1/alerts/{HUGE}", 422, body={"note": "x"}),
    case("action-item-2^63", "PATCH", f"/v1/action-items/{BIG}", 422, body={"note": "x"}),
    case("action-item-2^64", "PATCH", f"/v1/action-items/{HUGE}", 422, body={"note": "x"}),
    case("action-item-unknown", "PATCH", "/v1/action-items/999999", 404, body={"note": "x"}),
    case("response-nul", "GET", "/v1/responses/a%00b", 422, "NUL"),
    case("response-too-long", "GET", "/v1/responses/" + "r" * 201, 422, "external_id"),
    case("response-unknown", "GET", "/v1/responses/nope", 404, "nope"),
    case("response-slash", "GET", "/v1/responses/cat-ext-slashes/x", 404),
    case("webhook-retry-nul", "POST", "/v1/webhooks/events/%00/retry", 422, "NUL"),
    case("webhook-retry-long", "POST", "/v1/webhooks/events/" + "e" * 37 + "/retry", 422),
    case("assign-nul-theme", "POST", "/v1/action-points/%00/assignments", 422, "NUL", body={"owner": "x"}),
    case("assign-unknown-theme", "POST", "/v1/action-points/nope/assignments", 404, "unknown theme", body={"owner": "x"}),
    case("feed-nul-team", "GET", "/v1/teams/%00/feed", 422, "NUL"),
    case("feed-long-team", "GET", "/v1/teams/" + "t" * 101 + "/feed", 422),
]

ALERT = "/v1/alerts/1"
ITEM = "/v1/action-items/1"
ASSIGN = "/v1/action-points/billing_payment/assignments"
TRIAGE = [case(f"alert-{name}", "PATCH", ALERT, status, needle, body=body) for name, body, status, needle in [
    ("notes-not-note", {"notes": "called"}, 422, "unknown field(s) 'notes'"),
    ("due-0001-plus-1", {"due_at": "0001-01-01T00:00:00+01:00"}, 422, "outside"),
    ("due-9999-minus-1", {"due_at": "9999-12-31T23:59:59-01:00"}, 422, "outside"),
    ("due-unix", {"due_at": 1714560000}, 422, "ISO-8601"),
    ("due-0.5", {"due_at": "0.5"}, 422, "ISO-8601"),
    ("due-0001-utc", {"due_at": "0001-01-01T00:00:00Z"}, 200, None),
    ("due-9999-utc", {"due_at": "9999-12-31T23:59:59Z"}, 200, None),
    ("status-closed", {"status": "closed"}, 422, "status"),
    ("owner-empty", {"owner": ""}, 422, "owner"),
    ("owner-nul", {"owner": "o\x00"}, 422, "NUL"),
    ("note-too-long", {"note": "n" * 5001}, 422, "note"),
    ("note-surrogate", {"note": "\ud800"}, 422, "surrogate"),
    ("empty", {}, 422, "nothing to change"),
]]
TRIAGE += [case(f"assign-{name}", "POST", ASSIGN, status, needle, body=body) for name, body, status, needle in [
    ("due-9999-minus-1", {"owner": "o", "due_at": "9999-12-31T23:59:59-01:00"}, 422, "outside"),
    ("due-0001-plus-1", {"owner": "o", "due_at": "0001-01-01T00:00:00+01:00"}, 422, "outside"),
    ("owner-nul", {"owner": "\x00"}, 422, "NUL"),
    ("unknown-field", {"owner": "o", "deadline": "2024-06-01"}, 422, "unknown field(s) 'deadline'"),
    ("title-too-long", {"owner": "o", "title": "t" * 301}, 422, "title"),
    ("due-0001-utc", {"owner": "o", "due_at": "0001-01-01T00:00:00Z"}, 201, None),
]]
TRIAGE += [case(f"action-item-{name}", "PATCH", ITEM, status, needle, body=body) for name, body, status, needle in [
    ("progress-101", {"progress": 101}, 422, "progress"),
    ("progress-1e20", {"progress": 10**20}, 422, "progress"),
    ("status-bogus", {"status": "finished"}, 422, "status"),
    ("due-0.5", {"due_at": "0.5"}, 422, "ISO-8601"),
    ("due-9999-minus-1", {"due_at": "9999-12-31T23:59:59-01:00"}, 422, "outside"),
    ("notes-not-note", {"notes": "x"}, 422, "unknown field(s) 'notes'"),
    ("due-null", {"due_at": None}, 200, None),
]]

PROTOCOL = [
    case("delete-responses", "DELETE", "/v1/responses", 405),
    case("put-classify", "PUT", "/v1/classify", 405),
    case("auth-basic", "GET", "/v1/nps", 401, "Bearer", headers={"Authorization": "Basic YTpi"}),
    case("auth-bearer-empty", "GET", "/v1/nps", 401, "Bearer", headers={"Authorization": "Bearer "}),
    case("auth-bad-key", "GET", "/v1/nps", 401, "invalid", headers={"Authorization": "Bearer nope"}),
    case("auth-bad-x-api-key", "GET", "/v1/nps", 401, "invalid", headers={"Authorization": "", "X-API-Key": "k" * 10_000}),
    case("unknown-route", "GET", "/v1/nothing", 404),
]

CATALOGUE = SINGLE + BULK + BODIES + CLASSIFY + QUERIES + PATHS + TRIAGE + PROTOCOL


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One service per database for the whole catalogue, with a response, an alert and an action item."""
    from api.main import create_app
    from api.settings import ServiceSettings

    tmp = tmp_path_factory.mktemp("catalogue")
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'nps.db'}"
    else:
        admin = _pg_admin()
        if isinstance(admin, str):
            pytest.skip(admin)
        name = f"nps_api_catalogue_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    settings = ServiceSettings(database_url=url, registry_dir=tmp / "registry", model_poll_s=0)
    try:
        with TestClient(create_app(settings, pipeline=FakePipeline())) as client:
            headers = auth(new_key(client, "admin", name="catalogue"))
            seed = {"external_id": "seed-1", "score": 1, "text": "The site is down and I am cancelling"}
            assert client.post("/v1/responses", json=seed, headers=headers).json()["response"]["alert_id"] == 1
            assert client.post(ASSIGN, json={"owner": "ola"}, headers=headers).json()["id"] == 1
            yield client, headers
    finally:
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def send(client: TestClient, headers: dict[str, str], method: str, url: str, body: Any = _NO, raw: bytes | None = None,
         extra: dict[str, str] | None = None) -> Any:
    """A request as a client's JSON encoder sends it (ASCII, surrogates as ``\\uXXXX`` escapes)."""
    h = {**headers, **(extra or {})}
    if body is not _NO:
        raw = json.dumps(body).encode()
        h.setdefault("content-type", "application/json")
    return client.request(method, url, content=raw, headers=h)


def test_catalogue_is_large_enough() -> None:
    assert len(CATALOGUE) >= 150
    assert len({p.id for p in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize(("method", "url", "status", "needle", "body", "raw", "headers"), CATALOGUE)
def test_bad_input_gets_a_2xx_or_a_clear_4xx(service, method, url, status, needle, body, raw, headers):
    client, admin = service
    r = send(client, admin, method, url, body, raw, headers)
    assert r.status_code < 500, r.text[:500]
    assert r.status_code == status, r.text[:500]
    data = r.json()
    if status >= 400:
        assert isinstance(data["detail"], str) and isinstance(data["problems"], list)
        assert len(r.content) < 4000, "an error quotes at most a short prefix of a bad value"
        if needle:
            assert needle in data["detail"] + " ".join(data["problems"])
    if url == "/v1/responses/bulk" and status == 200 and isinstance(body, dict) and len(body["responses"]) == 2:
        good, bad = data["results"]
        assert (good["status"], bad["status"]) == ("created", "error"), data
        assert bad["error"] and len(bad["error"]) < 1000
        assert client.get(f"/v1/responses/{good['external_id']}", headers=admin).status_code == 200


def test_figures_still_answer_after_the_catalogue(service):
    """Whatever the catalogue stored (1900 and 2199 timestamps, odd ids and texts) the read side serves it."""
    client, admin = service
    for url in ["/v1/nps?period=day", "/v1/nps?period=week&by=team", "/v1/responses?limit=1000", "/v1/teams",
                "/v1/teams/finance/feed", "/v1/action-points", "/v1/action-points/passives", "/v1/alerts",
                "/v1/action-items", "/v1/responses/cat-ext-slashes", "/v1/responses/a/b/c", "/v1/responses/100%25_"]:
        r = client.get(url, headers=admin)
        assert r.status_code in (200, 404) and r.status_code < 500, (url, r.text[:300])
    assert client.get("/v1/responses/a/b/c", headers=admin).json()["external_id"] == "a/b/c"
