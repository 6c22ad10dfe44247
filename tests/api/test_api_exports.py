"""GET /v1/exports/{kind}: CSV and XLSX files that open, keep their columns, obey the filters and cannot
smuggle a formula into a spreadsheet (SQLite and PostgreSQL, fake pipeline)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from conftest import auth, new_key

from api.services.exports import COLUMNS, cell, safe_text

openpyxl = pytest.importorskip("openpyxl")


def _resp(ext, score, text, ts, **segments):
    return {"external_id": ext, "score": score, "text": text, "timestamp": ts, "segments": segments}


ANSWERS = [
    _resp("x-1", 2, "=HYPERLINK(\"http://evil\",\"the invoice was wrong\")", "2026-11-30T09:00:00+00:00", team="north", channel="email"),
    _resp("x-2", 9, "Friendly staff, great help", "2026-11-30T23:30:00+00:00", team="north", channel="email", country="NO"),
    _resp("x-3", 10, "+31 staff called me back, great", "2026-11-29T12:00:00+00:00", team="north", channel="app"),
    _resp("x-4", 1, "The site is down again and I am cancelling", "2026-11-30T10:00:00+00:00", team="south", channel="email"),
    _resp("x-5", 7, "@everyone the app is slow", "2026-12-01T08:00:00+00:00", team="north", channel="email"),
    _resp("x-6", 3, "-5 stars, invoice wrong, æøå", "2026-11-30T11:00:00+00:00", team="north", channel="email"),
]


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url)
    h = auth(new_key(c, "admin", name="ops"))
    r = c.post("/v1/responses/bulk", headers=h, json={"responses": ANSWERS})
    assert r.status_code == 200, r.text
    return c, h


def _csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbf")  # a byte-order mark: spreadsheets read UTF-8 right
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def _xlsx(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return book.active


def test_cells_are_formula_safe_and_times_iso():
    assert [safe_text(t) for t in ("=1+1", "+31 6", "-5", "@A1", "\tx", "plain", "a=b")] == \
        ["'=1+1", "'+31 6", "'-5", "'@A1", "'\tx", "plain", "a=b"]
    assert cell(-5) == -5 and cell(0.25) == 0.25 and cell(None) is None and cell(True) == "true"
    assert cell(datetime.fromisoformat("2026-11-30T10:00:00+01:00")) == "2026-11-30T09:00:00Z"


def test_responses_csv_obeys_the_filters_and_escapes_formulas(svc):
    c, h = svc
    params = {"team": "north", "channel": "email", "since": "2026-11-30T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    rows = _csv(c.get("/v1/exports/responses", params=params, headers=h))
    assert tuple(rows[0]) == COLUMNS["responses"]
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["external_id"] for r in records] == ["x-1", "x-2", "x-6"]  # not x-3 (app), x-4 (south), x-5 (December)
    by_id = {r["external_id"]: r for r in records}
    assert by_id["x-1"]["text"].startswith("'=HYPERLINK(")
    assert by_id["x-6"]["text"] == "'-5 stars, invoice wrong, æøå"
    assert by_id["x-2"]["timestamp"] == "2026-11-30T23:30:00Z" and by_id["x-2"]["country"] == "NO"
    assert by_id["x-2"]["band"] == "promoter" and by_id["x-2"]["score"] == "9"
    assert "staff_attitude" in by_id["x-2"]["themes"]
    assert all(datetime.fromisoformat(r["created_at"]) for r in records)
    everything = _csv(c.get("/v1/exports/responses", headers=h))
    assert len(everything) == 1 + len(ANSWERS)


def test_responses_xlsx_opens_with_the_same_rows_and_no_formulas(svc):
    c, h = svc
    sheet = _xlsx(c.get("/v1/exports/responses", params={"format": "xlsx", "team": "north"}, headers=h))
    rows = list(sheet.iter_rows(values_only=True))
    assert tuple(rows[0]) == COLUMNS["responses"]
    ext = COLUMNS["responses"].index("external_id")
    assert [r[ext] for r in rows[1:]] == ["x-1", "x-2", "x-3", "x-5", "x-6"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    text = COLUMNS["responses"].index("text")
    assert [r[text][:2] for r in rows[1:] if r[text][0] in "'=+-@"] == ["'=", "'+", "'@", "'-"]
    assert rows[1][COLUMNS["responses"].index("score")] == 2  # numbers stay numbers


def test_alerts_export_with_first_contact_and_filters(svc):
    c, h = svc
    alerts = c.get("/v1/alerts", headers=h).json()["items"]
    south = next(a for a in alerts if a["external_id"] == "x-4")
    assert c.patch(f"/v1/alerts/{south['id']}", json={"status": "contacted", "note": "called"}, headers=h).status_code == 200
    rows = _csv(c.get("/v1/exports/alerts", headers=h))
    assert tuple(rows[0]) == COLUMNS["alerts"]
    records = {r[2]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(records) == {a["external_id"] for a in alerts}
    assert records["x-4"]["status"] == "contacted" and records["x-4"]["contacted_at"].endswith("Z")
    assert records["x-4"]["overdue"] in ("true", "false")
    only_south = _csv(c.get("/v1/exports/alerts", params={"team": "south"}, headers=h))
    assert [r[2] for r in only_south[1:]] == ["x-4"]
    none = _csv(c.get("/v1/exports/alerts", params={"since": "2027-01-01T00:00:00Z"}, headers=h))
    assert none == [list(COLUMNS["alerts"])]


def test_action_items_export(svc):
    c, h = svc
    for theme, team in (("billing_payment", "finance"), ("website_app", None)):
        body = {"owner": "=cmd|' /C calc'!A0", "due_at": "2026-12-10T12:00:00Z", **({"team": team} if team else {})}
        assert c.post(f"/v1/action-points/{theme}/assignments", json=body, headers=h).status_code == 201
    sheet = _xlsx(c.get("/v1/exports/action_items", params={"format": "xlsx", "team": "finance"}, headers=h))
    rows = list(sheet.iter_rows(values_only=True))
    assert tuple(rows[0]) == COLUMNS["action_items"] and len(rows) == 2
    item = dict(zip(rows[0], rows[1], strict=True))
    assert item["theme"] == "billing_payment" and item["owner"].startswith("'=") and item["due_at"] == "2026-12-10T12:00:00Z"
    assert len(_csv(c.get("/v1/exports/action_items", headers=h))) == 3


def test_bad_requests_are_4xx(svc):
    c, h = svc
    assert c.get("/v1/exports/users", headers=h).status_code == 422
    assert c.get("/v1/exports/responses", params={"format": "pdf"}, headers=h).status_code == 422
    assert c.get("/v1/exports/responses").status_code == 401
    writer = auth(new_key(c, "ingest", name="crm"))
    assert c.get("/v1/exports/responses", headers=writer).status_code == 403
    reader = auth(new_key(c, "read", name="bi"))
    assert c.get("/v1/exports/responses", headers=reader).status_code == 200


def test_a_large_export_crosses_pages(client, admin):
    n = 2345
    items = [_resp(f"big-{i}", i % 11, f"answer {i}", "2026-11-30T10:00:00Z", team=("a", "b")[i % 2]) for i in range(n)]
    for start in range(0, n, 1000):
        assert client.post("/v1/responses/bulk", headers=admin, json={"responses": items[start:start + 1000]}).status_code == 200
    rows = _csv(client.get("/v1/exports/responses", headers=admin))
    assert len(rows) == n + 1 and len({r[0] for r in rows[1:]}) == n
    assert len(_csv(client.get("/v1/exports/responses", params={"team": "a"}, headers=admin))) == (n + 1) // 2 + 1


def test_scopes_keep_other_teams_out(svc):
    from api.services.exports import export_rows, teams_restriction
    from api.services.queries import Filters

    c, h = svc
    db = c.app.state.nps.db
    south = [r[1] for r in export_rows(db, "responses", Filters(scope=("south",)))]
    assert "x-4" in south and not {"x-1", "x-2", "x-3", "x-5", "x-6"} & set(south)
    alerts = list(export_rows(db, "alerts", Filters(), restrict=teams_restriction(["nobody"])))
    assert alerts == []
    items = list(export_rows(db, "responses", Filters(), restrict=teams_restriction(["north"])))
    assert {r[1] for r in items} >= {"x-1", "x-2", "x-3", "x-5", "x-6"} and "x-4" not in {r[1] for r in items}
